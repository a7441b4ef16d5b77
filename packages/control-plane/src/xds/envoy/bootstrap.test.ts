import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCertificateAuthority } from '../../ca/certificate-authority.ts';
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

test('weft envoy-bootstrap --certs-dir --ca-dir mints the workload certificate and puts it in the bootstrap as static secrets', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-envoy-bootstrap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const caDir = join(dir, 'ca');
  createCertificateAuthority({ caDir, trustDomain: 'cluster.local' });
  const certs = join(dir, 'certs');
  const run = spawnSync(process.execPath, [WEFT, 'envoy-bootstrap', '--service', 'reviews', '--namespace', 'shop', '--port', '8000', '--certs-dir', certs, '--ca-dir', caDir], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  const b = JSON.parse(run.stdout) as { node: { metadata: Record<string, unknown> }; static_resources: { secrets: { name: string; tls_certificate?: { certificate_chain: { filename: string } } }[] } };
  assert.equal(b.node.metadata.WEFT_ENVOY_SECRETS, 'static');
  assert.deepEqual(b.static_resources.secrets.map((x) => x.name), ['default', 'ROOTCA']);
  const chain = b.static_resources.secrets[0]?.tls_certificate?.certificate_chain.filename ?? '';
  assert.equal(chain, join(certs, 'cert-chain.pem'));
  assert.equal(new X509Certificate(readFileSync(chain)).subjectAltName, 'URI:spiffe://cluster.local/ns/shop/sa/reviews');
  const bad = spawnSync(process.execPath, [WEFT, 'envoy-bootstrap', '--service', 'reviews', '--port', '8000', '--ca-dir', caDir], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(bad.status, 2, 'minting without --certs-dir is a usage error');
});
