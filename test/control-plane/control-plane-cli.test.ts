/**
 * `weft control-plane` as a process: usage and config errors, the CA mounted with --ca-dir,
 * self-registration through the real config store and registry, and SIGTERM ending streams
 * with UNAVAILABLE before a clean exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import { TypeUrl, unpackAny, type DiscoveryRequest, type DiscoveryResponse } from '@weft/xds-client';
import { startControlPlane } from '../../packages/control-plane/src/demo/control-plane-process.ts';
import { rawAdsClient, testNode } from '../../packages/control-plane/src/xds/testing/raw-ads-client.ts';

const WEFT = fileURLToPath(new URL('../../packages/control-plane/src/cli/weft.ts', import.meta.url));

function weft(...args: string[]) {
  return spawnSync(process.execPath, [WEFT, ...args], { encoding: 'utf8', timeout: 30_000 });
}

const SERVICE_ENTRY = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: catalog, namespace: shop }
spec:
  hosts: [catalog.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 50051, name: grpc, protocol: GRPC }]
  endpoints: [{ address: 127.0.0.1, ports: { grpc: 7001 } }]
`;

test('usage mistakes exit 2, a broken config exits 1 naming the file', () => {
  const noConfig = weft('control-plane');
  assert.equal(noConfig.status, 2);
  assert.match(noConfig.stderr, /WEFT_ERR_USAGE.*--config PATH is required/);
  const badPort = weft('control-plane', '--config', '.', '--xds-port', '70000');
  assert.equal(badPort.status, 2);
  assert.match(badPort.stderr, /--xds-port must be a port number/);
  const dir = mkdtempSync(join(tmpdir(), 'weft-cp-bad-'));
  try {
    writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: x, namespace: shop }\nspec: { hosts: [x], http: [{ route: [{ destination: { host: x, subset: nope } }] }] }\n');
    const bad = weft('control-plane', '--config', dir, '--xds-port', '0', '--admin-port', '0');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /bad\.yaml/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('process: CA token endpoint, self-registration through the registry, SIGTERM ends streams UNAVAILABLE', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-cp-proc-'));
  const caDir = mkdtempSync(join(tmpdir(), 'weft-cp-ca-'));
  writeFileSync(join(dir, 'mesh.yaml'), SERVICE_ENTRY);
  const cp = await startControlPlane({ configPaths: [dir], args: ['--ca-dir', caDir, '--debounce-ms', '20', '--registration-grace-ms', '200'] });
  const client = rawAdsClient(cp.xdsAddress);
  try {
    assert.equal((await fetch(`${cp.adminUrl}/readyz`)).status, 200);
    const token = await fetch(`${cp.adminUrl}/ca/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ namespace: 'shop', serviceAccount: 'catalog' }) });
    assert.equal(token.status, 200);
    assert.match(((await token.json()) as { spiffeId: string }).spiffeId, /^spiffe:\/\/cluster\.local\/ns\/shop\/sa\/catalog$/);

    const watcher = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    watcher.send({ node: testNode('watcher', { NAMESPACE: 'shop' }), type_url: TypeUrl.listener });
    const listenerNames = (r: DiscoveryResponse) => (r.resources ?? []).map((a) => String(unpackAny(a).name)).sort();
    let lds = await watcher.next();
    assert.deepEqual(listenerNames(lds), ['catalog.shop.svc.cluster.local:50051']);
    const ack = (r: DiscoveryResponse) => watcher.send({ type_url: TypeUrl.listener, version_info: r.version_info, response_nonce: r.nonce });
    ack(lds);

    const server = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    server.send({ node: testNode('reviews-1', { NAMESPACE: 'shop', WEFT_SERVICE: 'reviews', WEFT_PORTS: 'grpc:50052', INSTANCE_IPS: '127.0.0.1', LABELS: 'version=v1' }), type_url: TypeUrl.listener });
    await server.next();
    lds = await watcher.next(5000);
    assert.deepEqual(listenerNames(lds), ['catalog.shop.svc.cluster.local:50051', 'reviews.shop.svc.cluster.local:50052'], 'the registered workload created its service');
    ack(lds);
    server.close();
    lds = await watcher.next(5000);
    assert.deepEqual(listenerNames(lds), ['catalog.shop.svc.cluster.local:50051'], 'gone after the grace');
    ack(lds);

    const ended = watcher.ended(10_000);
    cp.child.kill('SIGTERM');
    assert.equal((await ended)?.code, status.UNAVAILABLE);
    const code = await new Promise<number | null>((resolve) => (cp.child.exitCode !== null ? resolve(cp.child.exitCode) : cp.child.once('exit', (c) => resolve(c))));
    assert.equal(code, 0);
  } finally {
    client.close();
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(caDir, { recursive: true, force: true });
  }
});
