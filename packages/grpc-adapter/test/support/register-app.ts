/**
 * Child-process app for the register-hook tests: plain grpc-js code, no Weft import. Prints the
 * outcome of calls to `WEFT_TEST_TARGET` (default an xds:/// target), or with `--schemes`
 * whether Weft's LB policy is registered.
 */
import * as grpc from '@grpc/grpc-js';
import { createEchoClient, unary } from './echo-service.ts';

if (process.env['WEFT_TEST_REGISTER_GRPC_JS_XDS'] === '1') {
  (await import('@grpc/grpc-js-xds')).register();
  await new Promise((resolve) => setTimeout(resolve, 800)); // an app that keeps running a moment
}
if (process.argv.includes('--schemes')) {
  console.log(`weft-registered=${grpc.experimental.isLoadBalancerNameRegistered('weft_cluster_manager')}`);
} else {
  const target = process.env['WEFT_TEST_TARGET'] ?? 'xds:///echo.default.svc.cluster.local:50051';
  const calls = Number(process.env['WEFT_TEST_CALLS'] ?? 1);
  const method = process.env['WEFT_TEST_METHOD'] === 'Other' ? 'Other' : 'Unary';
  const client = createEchoClient(target);
  const servers: string[] = [];
  try {
    for (let i = 0; i < calls; i++) servers.push((await unary(client, { text: String(i) }, { method, deadlineMs: 10_000 })).server ?? '?');
    console.log(`servers=${servers.join(',')}`);
  } catch (err) {
    const e = err as grpc.ServiceError;
    console.log(`code=${e.code} details=${e.details}`);
  } finally {
    client.close();
  }
}
