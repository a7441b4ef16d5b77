/**
 * Interop: the real `@grpc/grpc-js-xds` XdsServer takes its inbound listener from this control
 * plane (A36) and enforces it — mTLS with the certificates `weft bootstrap --certs-dir --ca-dir`
 * minted (A29 file_watcher), RBAC from an AuthorizationPolicy (A41) — and both a grpc-js-xds client
 * and a Weft client reach it over an ISTIO_MUTUAL cluster (A29 client side, SPIFFE SAN check),
 * each with its own certificates from the same CA. grpc-js-xds 1.14 applies
 * RBAC only with GRPC_XDS_EXPERIMENTAL_RBAC=true (without it, it NACKs the listener: fail closed).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority } from '../../ca/certificate-authority.ts';
import { makeBootstrap } from '../../cli/commands/bootstrap.ts';
import { mintWorkloadCerts } from '../../cli/commands/bootstrap-certs.ts';
import { createXdsServer } from '../xds-server.ts';
import { fakeSource, makeModel } from '../testing/model-fixture.ts';
import { withPolicies } from '../testing/security-fixture.ts';

const run = promisify(execFile);
const WEFT_CLIENT = fileURLToPath(new URL('../../../../../test/control-plane/fixtures/weft-echo-client.ts', import.meta.url));
const bytes = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const echo = { Echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, ...bytes } };

test('grpc-js-xds XdsServer and client: STRICT mTLS, RBAC, ISTIO_MUTUAL upstream', async (t) => {
  process.env['GRPC_XDS_EXPERIMENTAL_RBAC'] = 'true';
  const { XdsServer, XdsServerCredentials, register } = await import('@grpc/grpc-js-xds');
  register();
  const caDir = mkdtempSync(join(tmpdir(), 'weft-interop-'));
  t.after(() => rmSync(caDir, { recursive: true, force: true }));
  createCertificateAuthority({ caDir, trustDomain: 'cluster.local' });
  const certs = (sa: string) => join(caDir, `certs-${sa}`);
  for (const sa of ['catalog', 'frontend', 'other']) await mintWorkloadCerts({ certsDir: certs(sa), namespace: 'shop', serviceAccount: sa, trustDomain: 'cluster.local', caDir });

  // grpc-js-xds needs a concrete port in the listener name; take a free one from the OS first
  const probe = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) => probe.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  probe.forceShutdown();
  const model = withPolicies(makeModel({
    services: [{ hostname: 'catalog.shop.svc.cluster.local', ports: [{ number: 50051, name: 'grpc' }], endpoints: [{ address: '127.0.0.1', ports: { grpc: port }, serviceAccount: 'catalog' }] }],
    destinationRules: [{ name: 'catalog', namespace: 'shop', spec: { host: 'catalog', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } } }],
  }), {
    peer: [['shop', 'default', { mtls: { mode: 'STRICT' } }]],
    authz: [['shop', 'catalog-viewer', { selector: { matchLabels: { app: 'catalog' } }, rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/frontend'] } }], to: [{ operation: { paths: ['/test.Echo/*'] } }] }] }]],
  });
  const xds = createXdsServer({ source: fakeSource(model), debounceMs: 10 });
  const xdsPort = await xds.listen('127.0.0.1', 0);
  const bootstrap = makeBootstrap({ xdsAddress: `127.0.0.1:${xdsPort}`, namespace: 'shop', ip: '127.0.0.1', labels: 'app=catalog', serviceAccount: 'catalog', certsDir: certs('catalog') });
  const server = new XdsServer({ 'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap) } as grpc.ServerOptions);
  server.addService(echo as unknown as grpc.ServiceDefinition, { Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request) });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('XdsServer did not start serving (listener NACKed?)')), 15_000);
    server.bindAsync(`127.0.0.1:${port}`, new XdsServerCredentials(grpc.ServerCredentials.createInsecure()), (e) => (clearTimeout(timer), e ? reject(e) : resolve()));
  });
  t.after(async () => {
    server.forceShutdown();
    await xds.close(200);
  });

  const Client = grpc.makeGenericClientConstructor(echo as unknown as grpc.ServiceDefinition, 'Echo');
  const call = async (creds: grpc.ChannelCredentials): Promise<grpc.status> => {
    const c = new Client(`127.0.0.1:${port}`, creds) as unknown as { Echo(r: Buffer, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void): void; close(): void };
    const code = await new Promise<grpc.status>((resolve) => c.Echo(Buffer.from('hi'), { deadline: Date.now() + 5000 }, (e) => resolve(e ? e.code : grpc.status.OK)));
    c.close();
    return code;
  };
  const mtls = (sa: string) => grpc.credentials.createSsl(readFileSync(join(certs(sa), 'root-cert.pem')), readFileSync(join(certs(sa), 'key.pem')), readFileSync(join(certs(sa), 'cert-chain.pem')), { checkServerIdentity: () => undefined });
  // grpc-js-xds loads the file_watcher certificates asynchronously: the first handshakes may fail
  let frontend = grpc.status.UNAVAILABLE;
  for (let i = 0; i < 10 && frontend === grpc.status.UNAVAILABLE; i++) frontend = await call(mtls('frontend'));
  assert.equal(frontend, grpc.status.OK, 'frontend’s identity is allowed');
  assert.equal(await call(mtls('other')), grpc.status.PERMISSION_DENIED, 'another identity is denied by RBAC');
  assert.equal(await call(grpc.credentials.createInsecure()), grpc.status.UNAVAILABLE, 'plaintext is refused under STRICT');

  // grpc-js-xds as the client (its own process): `xds:///` target, ISTIO_MUTUAL cluster (SPIFFE SAN of catalog), its own certificates
  const viaMesh = async (sa: string, client: 'grpc-js-xds' | 'weft'): Promise<grpc.status> => {
    const bootstrapOf = makeBootstrap({ xdsAddress: `127.0.0.1:${xdsPort}`, namespace: 'shop', ip: '127.0.0.1', serviceAccount: sa, certsDir: certs(sa) });
    const fixture = client === 'weft' ? WEFT_CLIENT : fileURLToPath(new URL('../testing/grpc-js-xds-echo-client.ts', import.meta.url));
    const args = client === 'weft' ? ['--import', '@weft/grpc-adapter/register', fixture] : [fixture];
    const { stdout } = await run(process.execPath, [...args, 'xds:///catalog.shop.svc.cluster.local:50051'], {
      env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrapOf), WEFT_LOAD_REPORTING: 'off' }, timeout: 60_000,
    });
    return (JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { code: grpc.status }).code;
  };
  assert.equal(await viaMesh('frontend', 'grpc-js-xds'), grpc.status.OK, 'mesh client with frontend’s identity');
  assert.equal(await viaMesh('other', 'grpc-js-xds'), grpc.status.PERMISSION_DENIED, 'mesh client with another identity');
  // A Weft workload speaks mTLS to the grpc-js-xds server with certificates from the same CA.
  assert.equal(await viaMesh('frontend', 'weft'), grpc.status.OK, 'Weft client with frontend’s identity');
  assert.equal(await viaMesh('other', 'weft'), grpc.status.PERMISSION_DENIED, 'Weft client with another identity');
});
