/** Child-process app for register.test.ts: one call to an xds:/// target, its outcome printed. */
import * as grpc from '@grpc/grpc-js';

if (process.argv.includes('--schemes')) {
  console.log(`weft-registered=${grpc.experimental.isLoadBalancerNameRegistered('weft_cluster_manager')}`);
} else {
  const client = new grpc.Client('xds:///echo.default.svc.cluster.local:50051', grpc.credentials.createInsecure());
  client.makeUnaryRequest('/weft.test.Echo/Unary', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), { deadline: Date.now() + 10_000 }, (err) => {
    console.log(err ? `code=${err.code} details=${err.details}` : 'ok');
    client.close();
  });
}
