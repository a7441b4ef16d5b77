/**
 * End to end with a real `weft control-plane` process as xDS server and CA (`--ca-dir`): plain
 * Istio YAML (PeerAuthentication STRICT, AuthorizationPolicy, DestinationRule ISTIO_MUTUAL), two
 * meshed workloads built as the register hook builds them (Mesh from `WEFT_*` variables,
 * identity from a join token, server wrapped with the inbound policy the control plane sends
 * for its port, outbound through the mesh dispatcher), and a third identity that the policy
 * does not allow.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import { Mesh, createIdentityFromEnv, type WorkloadIdentity } from '@weft/core';
import { createMeshDispatcher, type MeshDispatcher } from '@weft/http-adapter';
import { startControlPlane, type ControlPlaneProcess } from '../../packages/control-plane/src/demo/control-plane-process.ts';
import { createCertificateAuthority } from '../../packages/control-plane/src/ca/certificate-authority.ts';
import { wrapHttpServer } from '../../packages/http-adapter/src/inbound/wrap-http-server.ts';
import { peerPrincipalOf } from '../../packages/http-adapter/src/inbound/tls-termination.ts';
import { watchMeshInbound, type MeshInbound } from '../../packages/http-adapter/src/inbound/mesh-inbound.ts';

let dir: string;
let cp: ControlPlaneProcess;
let server: Server;
let port: number;
let inbound: MeshInbound;
const meshes: Mesh[] = [];
const identities: WorkloadIdentity[] = [];
const dispatchers: MeshDispatcher[] = [];

function policyYaml(mode: 'STRICT' | 'PERMISSIVE'): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: ${port}, name: http, protocol: HTTP }]
  endpoints:
    - { address: 127.0.0.1, ports: { http: ${port} }, labels: { app: reviews, security.istio.io/tlsMode: istio }, serviceAccount: reviews }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: shop }
spec:
  mtls: { mode: ${mode} }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: reviews-viewer, namespace: shop }
spec:
  selector: { matchLabels: { app: reviews } }
  action: ALLOW
  rules:
    - from: [{ source: { principals: [cluster.local/ns/shop/sa/productpage] } }]
      to: [{ operation: { methods: [GET], paths: [/reviews/*] } }]
    - from: [{ source: { notPrincipals: ['*'] } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: shop }
spec:
  host: reviews
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
`;
}

function workloadEnv(serviceAccount: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WEFT_XDS_ADDRESS: cp.xdsAddress,
    WEFT_NAMESPACE: 'shop',
    WEFT_SERVICE_ACCOUNT: serviceAccount,
    WEFT_INSTANCE_IP: '127.0.0.1',
    WEFT_MTLS: 'on',
    WEFT_TOKEN: createCertificateAuthority({ caDir: join(dir, 'ca') }).createJoinToken({ namespace: 'shop', serviceAccount }).token,
    ...extra,
  };
}

/** A meshed client workload: Mesh + identity + dispatcher, as `@weft/http-adapter/register` sets them up. */
async function clientWorkload(serviceAccount: string, extra: Record<string, string> = {}): Promise<{ dispatcher: MeshDispatcher; identity: WorkloadIdentity }> {
  const env = workloadEnv(serviceAccount, extra);
  const mesh = await Mesh.fromEnv(env);
  const identity = createIdentityFromEnv(env);
  mesh.setIdentity(identity);
  meshes.push(mesh);
  identities.push(identity);
  await identity.ready({ timeoutMs: 15_000 });
  const dispatcher = createMeshDispatcher({ mesh, firstConfigTimeoutMs: 15_000, outboundTrafficPolicy: 'REGISTRY_ONLY' });
  dispatchers.push(dispatcher);
  return { dispatcher, identity };
}

/** Plaintext GET on a fresh connection; resolves the status or the error code. */
async function plaintext(path: string): Promise<number | string> {
  const c = new Client(`http://127.0.0.1:${port}`);
  try {
    const res = await c.request({ path, method: 'GET' });
    await res.body.text();
    return res.statusCode;
  } catch (err) {
    return (err as { code?: string }).code ?? 'error';
  } finally {
    void c.destroy();
  }
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-sec-e2e-'));
  server = createServer((req, res) => {
    res.setHeader('x-peer', peerPrincipalOf(req.socket) ?? 'none');
    res.end('reviews');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  // The service is declared (the endpoint is this process), so the test does not depend on self-registration timing.
  writeFileSync(join(dir, 'policy.yaml'), policyYaml('STRICT'));
  cp = await startControlPlane({ configPaths: [join(dir, 'policy.yaml')], args: ['--debounce-ms', '50', '--ca-dir', join(dir, 'ca')] });
  // The server workload, as the register hook sets it up for WEFT_SERVICE/WEFT_PORT.
  const env = workloadEnv('reviews', { WEFT_SERVICE: 'reviews', WEFT_PORT: String(port) });
  const mesh = await Mesh.fromEnv(env);
  const identity = createIdentityFromEnv(env);
  mesh.setIdentity(identity);
  meshes.push(mesh);
  identities.push(identity);
  await identity.ready({ timeoutMs: 15_000 });
  inbound = watchMeshInbound(mesh, port, { isMtlsEnabled: true });
  wrapHttpServer(server, inbound.options);
  mesh.resolve(`reviews:${port}`, port); // what the register hook does for WEFT_SERVICE/WEFT_PORT
  await eventually('the STRICT inbound policy', async () => inbound.current()?.mode === 'STRICT');
});

after(async () => {
  inbound?.cancel();
  await Promise.all(dispatchers.map((d) => d.close()));
  for (const i of identities) i.close();
  await Promise.all(meshes.map((m) => m.close()));
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('STRICT + ISTIO_MUTUAL: the allowed client gets through over mTLS and the server sees its SPIFFE ID', async () => {
  const { dispatcher } = await clientWorkload('productpage');
  const res = await fetch(`http://reviews:${port}/reviews/1`, { dispatcher } as RequestInit);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-peer'), 'spiffe://cluster.local/ns/shop/sa/productpage');
  assert.equal(await res.text(), 'reviews');
  const wrongPath = await fetch(`http://reviews:${port}/admin`, { dispatcher } as RequestInit);
  assert.deepEqual([wrongPath.status, await wrongPath.text()], [403, 'RBAC: access denied']);
});

test('STRICT: a plaintext connection is reset', async () => {
  assert.ok(['ECONNRESET', 'UND_ERR_SOCKET'].includes(String(await plaintext('/reviews/1'))));
});

test('AuthorizationPolicy: an mTLS client with another service account gets 403', async () => {
  const { dispatcher } = await clientWorkload('mallory');
  const res = await fetch(`http://reviews:${port}/reviews/1`, { dispatcher } as RequestInit);
  assert.deepEqual([res.status, await res.text()], [403, 'RBAC: access denied']);
});

test('rotation mid-traffic (4 s certificates, renewed at half-life): no request fails', async () => {
  const { dispatcher, identity } = await clientWorkload('productpage', { WEFT_CERT_TTL_MS: '4000' });
  const first = identity.current()!.generation;
  let failures = 0;
  let count = 0;
  const until = Date.now() + 5000;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (Date.now() < until || identity.current()!.generation < first + 2) {
      const res = await fetch(`http://reviews:${port}/reviews/1`, { dispatcher } as RequestInit).catch(() => undefined);
      if (res?.status !== 200) failures++;
      await res?.text();
      count++;
      if (Date.now() > until + 15_000) break;
    }
  }));
  assert.ok(identity.current()!.generation >= first + 2, `rotated ${identity.current()!.generation - first} times`);
  assert.equal(failures, 0, `${failures} of ${count} requests failed`);
});

test('PERMISSIVE: after the PeerAuthentication edit plaintext is accepted and mTLS still works', async () => {
  writeFileSync(join(dir, 'policy.yaml'), policyYaml('PERMISSIVE'));
  await eventually('the PERMISSIVE inbound policy', async () => inbound.current()?.mode === 'PERMISSIVE');
  assert.equal(await plaintext('/reviews/1'), 200, 'plaintext peers are allowed by the notPrincipals rule');
  const { dispatcher } = await clientWorkload('productpage');
  const res = await fetch(`http://reviews:${port}/reviews/1`, { dispatcher } as RequestInit);
  assert.deepEqual([res.status, res.headers.get('x-peer')], [200, 'spiffe://cluster.local/ns/shop/sa/productpage']);
});
