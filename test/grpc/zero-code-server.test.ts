/**
 * The zero-code gRPC server: a plain `new grpc.Server()` (no Weft code) started with
 * `--import @weft/grpc-adapter/register`, WEFT_SERVICE, WEFT_PORT, WEFT_MTLS=on against a real
 * control plane. It registers itself (a meshed client reaches it by its FQDN with no
 * ServiceEntry), and the inbound listener from xDS is enforced on the server it binds:
 * AuthorizationPolicy → PERMISSION_DENIED before the handler runs, the inbound local rate limit
 * → UNAVAILABLE with `RL`, PeerAuthentication STRICT → plaintext refused; its
 * `reporter="destination"` metrics are on its admin port. The meshed client in this process
 * records `reporter="source"` metrics through the resolver.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createMeshTelemetry, createPeerIdentity, type MeshTelemetry } from '@weft/core';
import { startControlPlane, type ControlPlaneProcess } from '../../packages/control-plane/src/demo/control-plane-process.ts';
import { createCertificateAuthority } from '../../packages/control-plane/src/ca/certificate-authority.ts';
import { parsePrometheus, sampleValue } from '../observability/prometheus-text.ts';
import { localRateLimitEnvoyFilterYaml } from '../support/istio-yaml.ts';
import { call, Echo, eventually, freePort, startMeshedEchoCaller, startPlainServer, type EchoClient, type MeshedEchoCaller, type PlainServerProcess } from './fixtures/zero-code-support.ts';

const AUTHZ = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-forbidden, namespace: shop }
spec:
  selector: { matchLabels: { app: echo } }
  action: DENY
  rules:
    - to: [{ operation: { paths: ["/test.Echo/Forbidden"] } }]
`;
const RATE_LIMIT = localRateLimitEnvoyFilterYaml({ name: 'echo-ratelimit', namespace: 'shop', context: 'SIDECAR_INBOUND', app: 'echo', tokens: 3, fillInterval: '3600s' });
const STRICT = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: strict, namespace: shop }
spec: { mtls: { mode: STRICT } }
`;

let dir: string;
let config: string;
let cp: ControlPlaneProcess;
let app: PlainServerProcess;
let port: number;
let adminPort: number;
let caller: MeshedEchoCaller | undefined;
let telemetry: MeshTelemetry;
let meshed: EchoClient;

/** {@link eventually} with the app's stderr in the failure message. */
const until = <T,>(what: string, probe: () => Promise<T | undefined>): Promise<T> => eventually(what, probe, () => app?.stderr() ?? '');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-grpc-zero-'));
  config = join(dir, 'mesh.yaml');
  writeFileSync(config, '');
  cp = await startControlPlane({ configPaths: [config], args: ['--debounce-ms', '50', '--ca-dir', join(dir, 'ca')] });
  const ca = createCertificateAuthority({ caDir: join(dir, 'ca') });
  [port, adminPort] = [await freePort(), await freePort()];
  app = await startPlainServer(['@weft/grpc-adapter/register'], {
    WEFT_XDS_ADDRESS: cp.xdsAddress,
    WEFT_SERVICE: 'echo',
    WEFT_NAMESPACE: 'shop',
    WEFT_LABELS: 'app=echo,version=v1',
    WEFT_PORT: String(port),
    WEFT_ADMIN_PORT: String(adminPort),
    WEFT_MTLS: 'on',
    WEFT_SECURITY_LOG: '1',
    WEFT_TOKEN: ca.createJoinToken({ namespace: 'shop', serviceAccount: 'echo' }).token,
  });
  telemetry = createMeshTelemetry({ local: createPeerIdentity({ workload: 'caller-v1', namespace: 'shop', labels: { app: 'caller', version: 'v1' } }) });
  caller = await startMeshedEchoCaller(cp.xdsAddress, `xds:///echo.shop.svc.cluster.local:${port}`, telemetry);
  meshed = caller.client;
});

after(async () => {
  await caller?.close();
  await app?.stop();
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the plain server registers itself: a meshed client reaches it by FQDN with no ServiceEntry, and records source metrics', async () => {
  const r = await until('a meshed call', async () => {
    const res = await call(meshed, 'Hello');
    return res.code === 0 ? res : undefined;
  });
  assert.equal(r.body, 'hello bob');
  const samples = parsePrometheus(await telemetry.metrics.metrics());
  assert.ok(sampleValue(samples, 'istio_requests_total', { reporter: 'source', request_protocol: 'grpc', grpc_response_status: '0', destination_service: 'echo.shop.svc.cluster.local', source_workload: 'caller-v1' }) >= 1);
});

test('AuthorizationPolicy DENY on a method: PERMISSION_DENIED before the handler runs, other methods served', async () => {
  writeFileSync(config, AUTHZ);
  const denied = await until('the denial', async () => {
    const res = await call(meshed, 'Forbidden');
    return res.code === grpc.status.PERMISSION_DENIED ? res : undefined;
  });
  assert.match(denied.details, /RBAC: access denied/);
  const before = JSON.parse((await call(meshed, 'Count')).body!) as { forbidden: number };
  assert.equal((await call(meshed, 'Forbidden')).code, grpc.status.PERMISSION_DENIED);
  const after = JSON.parse((await call(meshed, 'Count')).body!) as { forbidden: number };
  assert.equal(after.forbidden, before.forbidden, 'the denied handler never ran');
  assert.equal((await call(meshed, 'Hello')).code, 0);
  assert.match(app.stderr(), /WEFT_ERR_ACCESS_DENIED|RBAC/);
});

test('server metrics on the admin port: reporter="destination" with the gRPC status of denied and served calls', async () => {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const samples = parsePrometheus(text);
  const base = { reporter: 'destination', request_protocol: 'grpc', destination_service: 'echo.shop.svc.cluster.local', source_workload: 'caller-v1' };
  assert.ok(sampleValue(samples, 'istio_requests_total', { ...base, grpc_response_status: '0' }) >= 1);
  assert.ok(sampleValue(samples, 'istio_requests_total', { ...base, grpc_response_status: '7' }) >= 2);
});

test('inbound local rate limit (EnvoyFilter SIDECAR_INBOUND): the excess ends UNAVAILABLE with RL', async () => {
  writeFileSync(config, `${AUTHZ}---\n${RATE_LIMIT}`);
  const limited = await until('rate limiting', async () => {
    const res = await call(meshed, 'Hello');
    return res.code === grpc.status.UNAVAILABLE && /RL|RATE_LIMITED/.test(res.details) ? res : undefined;
  });
  assert.match(limited.details, /WEFT_ERR_RATE_LIMITED|\(RL\)/);
  // The bucket (3 tokens per hour) is empty now: a burst is refused entirely.
  const burst = await Promise.all(Array.from({ length: 10 }, () => call(meshed, 'Hello')));
  assert.deepEqual(new Set(burst.map((r) => r.code)), new Set([grpc.status.UNAVAILABLE]));
});

test('PeerAuthentication STRICT: a plaintext client is refused at the connection', async () => {
  writeFileSync(config, `${AUTHZ}---\n${STRICT}`);
  const plain = new Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as EchoClient;
  try {
    const refused = await until('the refusal', async () => {
      const res = await call(plain, 'Hello');
      return res.code === grpc.status.UNAVAILABLE && !/RL|RATE_LIMITED/.test(res.details) ? res : undefined;
    });
    assert.equal(refused.code, grpc.status.UNAVAILABLE);
    await until('the refusal log', async () => (/WEFT_ERR_MTLS_REQUIRED/.test(app.stderr()) ? true : undefined));
  } finally {
    plain.close();
  }
});
