import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { workloadFromNode } from '../self-registration.ts';
import { makeEnvoyBootstrap } from './bootstrap.ts';

const WEFT = fileURLToPath(new URL('../../cli/weft.ts', import.meta.url));

test('envoy bootstrap: Istio node id, metadata self-registration reads (inbound port as target), bad input refused', () => {
  const b = makeEnvoyBootstrap({ service: 'reviews', namespace: 'shop', appPort: 8000, xdsAddress: 'control-plane:15010', ip: '10.1.2.3', workloadName: 'reviews-1' }) as { node: { id: string; metadata: Record<string, unknown> }; static_resources: { clusters: { name: string; type: string }[] } };
  assert.equal(b.node.id, 'sidecar~10.1.2.3~reviews-1.shop~shop.svc.cluster.local');
  const w = workloadFromNode({ id: b.node.id }, b.node.metadata, 'shop');
  assert.deepEqual({ service: w?.service, address: w?.address, ports: w?.ports, labels: w?.labels, sa: w?.serviceAccount }, {
    service: 'reviews', address: '10.1.2.3', ports: [{ name: 'http', number: 8000, protocol: 'HTTP', targetPort: 15006 }], labels: { app: 'reviews' }, sa: 'reviews',
  });
  assert.deepEqual(w?.readinessProbe?.action, { type: 'httpGet', port: 15021, path: '/healthz/ready', scheme: 'HTTP', headers: [] });
  assert.equal(b.static_resources.clusters[0]?.type, 'STRICT_DNS', 'a DNS name is resolved, an IP would be STATIC');
  for (const bad of [{ appPort: 0 }, { appPort: 15006 }, { ip: 'x' }, { xdsAddress: 'nohost' }, { service: 'Bad_Name' }, { labels: 'novalue' }]) {
    assert.throws(() => makeEnvoyBootstrap({ service: 'reviews', namespace: 'shop', appPort: 8000, xdsAddress: 'a:1', ip: '127.0.0.1', ...bad }), { code: 'WEFT_ERR_USAGE' }, JSON.stringify(bad));
  }
});

test('weft envoy-bootstrap prints the bootstrap as JSON; a missing --port exits 2 with WEFT_ERR_USAGE', () => {
  const ok = spawnSync(process.execPath, [WEFT, 'envoy-bootstrap', '--service', 'reviews', '--namespace', 'shop', '--port', '8000', '--workload-name', 'w'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).node.id, 'sidecar~127.0.0.1~w.shop~shop.svc.cluster.local');
  const bad = spawnSync(process.execPath, [WEFT, 'envoy-bootstrap', '--service', 'reviews'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /WEFT_ERR_USAGE/);
});
