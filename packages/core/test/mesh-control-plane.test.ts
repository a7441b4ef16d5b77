/**
 * The Mesh against a real `weft control-plane` process on loopback: Istio YAML in, xDS over a
 * real socket, routes and picks out. Checks the canary split, a header route, a consistent-hash
 * DestinationRule (RING_HASH through the generator), short-name resolution, a config change,
 * and that killing the control plane leaves the last good config serving.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane as startControlPlaneProcess } from '../../control-plane/src/demo/control-plane-process.ts';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mesh } from '../src/mesh/mesh.ts';
import type { HostSnapshot } from '../src/mesh/host-snapshot.ts';

const configDir = mkdtempSync(join(tmpdir(), 'weft-core-mesh-'));
const processes = new Set<ChildProcess>();
after(() => {
  for (const p of processes) p.kill('SIGKILL');
  rmSync(configDir, { recursive: true, force: true });
});

function writeConfig(v2Weight: number): void {
  const split = [`        - { destination: { host: reviews, subset: v1 }, weight: ${100 - v2Weight} }`];
  if (v2Weight > 0) split.push(`        - { destination: { host: reviews, subset: v2 }, weight: ${v2Weight} }`);
  const yaml = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints:
    - { address: 127.0.0.1, ports: { http: 29081 }, labels: { version: v1 } }
    - { address: 127.0.0.2, ports: { http: 29081 }, labels: { version: v1 } }
    - { address: 127.0.0.1, ports: { http: 29082 }, labels: { version: v2 } }
    - { address: 127.0.0.1, ports: { http: 29083 }, labels: { version: v3 } }
    - { address: 127.0.0.2, ports: { http: 29083 }, labels: { version: v3 } }
    - { address: 127.0.0.3, ports: { http: 29083 }, labels: { version: v3 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: shop }
spec:
  host: reviews
  trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: x-user } } }
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
    - { name: v3, labels: { version: v3 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews]
  http:
    - match: [{ headers: { end-user: { exact: jason } } }]
      route: [{ destination: { host: reviews, subset: v3 } }]
    - route:
${split.join('\n')}
`;
  writeFileSync(join(configDir, 'mesh.yaml'), yaml);
}

async function startControlPlane(): Promise<{ child: ChildProcess; port: number }> {
  const cp = await startControlPlaneProcess({ configPaths: [configDir], args: ['--debounce-ms', '20'] });
  processes.add(cp.child);
  cp.child.on('exit', () => processes.delete(cp.child));
  return { child: cp.child, port: Number(cp.xdsAddress.split(':').pop()) };
}

/** Resolves once `predicate` holds for the current snapshot of `authority` (bounded). */
function snapshotWhere(mesh: Mesh, authority: string, predicate: (s: HostSnapshot) => boolean, what: string): Promise<HostSnapshot> {
  const now = mesh.resolve(authority);
  if (now !== undefined && predicate(now)) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (sub.cancel(), reject(new Error(`timed out waiting for ${what}`))), 10_000);
    const sub = mesh.onUpdate(() => {
      const s = mesh.resolve(authority);
      if (s === undefined || !predicate(s)) return;
      clearTimeout(timer);
      sub.cancel();
      resolve(s);
    });
  });
}

const subsetOf = (clusterName: string): string => clusterName.split('|')[2] ?? clusterName;

test('Mesh against a real weft control-plane: canary split, header route, consistent hash, update, control plane gone', async () => {
  writeConfig(10);
  const cp = await startControlPlane();
  const mesh = await Mesh.create({
    xdsClientOptions: {
      bootstrap: {
        xds_servers: [{ server_uri: `127.0.0.1:${cp.port}`, channel_creds: [{ type: 'insecure' }] }],
        node: { id: 'sidecar~127.0.0.1~core-test.shop~shop.svc.cluster.local', metadata: { NAMESPACE: 'shop' } },
      },
      env: {},
    },
  });
  try {
    const host = await mesh.waitForHost('reviews:9080', { timeoutMs: 15_000 });
    assert.equal(host.listenerName, 'reviews.shop.svc.cluster.local:9080');
    assert.equal(mesh.resolve('reviews.shop.svc.cluster.local:9080'), host, 'short and full names share a snapshot');

    // Canary: 90/10 over 2,000 requests (±5σ = ±0.034), v3 gets nothing without the header.
    const n = 2000;
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const r = mesh.route('reviews:9080', { method: 'GET', path: '/reviews/1', headers: {} });
      counts.set(subsetOf(r.clusterName), (counts.get(subsetOf(r.clusterName)) ?? 0) + 1);
      assert.ok([29081, 29082].includes(r.endpoint.port));
    }
    const v1 = (counts.get('v1') ?? 0) / n;
    assert.ok(v1 > 0.866 && v1 < 0.934, `v1 share ${v1}`);
    assert.equal(counts.get('v3'), undefined);

    // Header route to v3, whose DestinationRule asks for consistent hashing on x-user.
    const jason = (user: string) => mesh.route('reviews:9080', { method: 'GET', path: '/', headers: { 'end-user': 'jason', 'x-user': user } });
    assert.equal(subsetOf(jason('a').clusterName), 'v3');
    const v3 = host.clusters.get(jason('a').clusterName);
    assert.ok(v3 !== undefined && !(v3 instanceof Error));
    assert.equal(v3.balancer?.config.policy, 'RING_HASH');
    const spread = new Set<string>();
    for (let u = 0; u < 30; u++) {
      const first = jason(`user-${u}`).endpoint.key;
      spread.add(first);
      for (let i = 0; i < 5; i++) assert.equal(jason(`user-${u}`).endpoint.key, first, 'a user sticks to one endpoint');
    }
    assert.ok(spread.size > 1, 'different users spread over the endpoints');

    // A config change swaps the snapshot.
    writeConfig(0);
    const updated = await snapshotWhere(mesh, 'reviews:9080', (s) => s !== host && !mesh.route('reviews:9080', { path: '/', headers: {} }).clusterName.includes('|v2|') && [...s.clusters.keys()].every((k) => !k.includes('|v2|')), 'v2 removed');
    for (let i = 0; i < 200; i++) assert.equal(subsetOf(updated.route('reviews:9080', { path: '/', headers: {} }).clusterName), 'v1');

    // The control plane dies: the last good config keeps serving with no error.
    cp.child.kill('SIGKILL');
    await new Promise<void>((resolve) => cp.child.once('exit', () => resolve()));
    for (let i = 0; i < 200; i++) assert.equal(subsetOf(mesh.route('reviews:9080', { path: '/', headers: {} }).clusterName), 'v1');
    assert.equal(mesh.resolve('reviews:9080'), updated);
  } finally {
    await mesh.close();
    cp.child.kill('SIGKILL');
  }
});
