/**
 * The real `weft control-plane` process on Istio YAML (scenarios 06 and 07 of the shared
 * examples): a raw ADS stream with a workload's node metadata gets its inbound listener, and
 * an edit of the PeerAuthentication file re-pushes it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, decodeResource, type DiscoveryRequest, type DiscoveryResponse, type Listener } from '@weft/xds-client';
import { startControlPlane } from '../../demo/control-plane-process.ts';
import { rawAdsClient, testNode } from '../testing/raw-ads-client.ts';
import { localRateLimitEnvoyFilterYaml } from '../../../../../test/support/istio-yaml.ts';

const NAME = 'xds.istio.io/grpc/lds/inbound/0.0.0.0:9080';

const peer = (mode: string) => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: shop }
spec:
  mtls: { mode: ${mode} }
`;

const policies = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ratings-viewer, namespace: shop }
spec:
  selector: { matchLabels: { app: ratings } }
  action: ALLOW
  rules:
    - from: [{ source: { principals: ["cluster.local/ns/shop/sa/frontend"] } }]
      to: [{ operation: { methods: ["GET"] } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: no-admin, namespace: istio-system }
spec:
  action: DENY
  rules:
    - to: [{ operation: { paths: ["/admin/*"] } }]
---
${localRateLimitEnvoyFilterYaml({ name: 'ratings-ratelimit', namespace: 'shop', context: 'SIDECAR_INBOUND', app: 'ratings', tokens: 10, fillInterval: '1s' })}`;

function listener(res: DiscoveryResponse): Listener {
  const any = res.resources?.[0];
  assert.ok(any, 'one listener');
  const d = decodeResource(TypeUrl.listener, any);
  assert.ok(d.result.ok, d.result.ok ? '' : d.result.error);
  return d.result.value as Listener;
}

test('weft control-plane process: inbound listener from YAML, re-pushed when the PeerAuthentication file changes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-inbound-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'peer.yaml'), peer('STRICT'));
  writeFileSync(join(dir, 'policies.yaml'), policies);
  const cp = await startControlPlane({ configPaths: [dir], xdsPort: 0, adminPort: 0, args: ['--debounce-ms', '20'] });
  const client = rawAdsClient(cp.xdsAddress);
  t.after(async () => {
    client.close();
    await cp.stop();
  });
  const s = client.sotw<DiscoveryRequest, DiscoveryResponse>();
  s.send({ node: testNode('ratings-1', { NAMESPACE: 'shop', LABELS: 'app=ratings', SERVICE_ACCOUNT: 'ratings' }), type_url: TypeUrl.listener, resource_names: [NAME] });
  const first = await s.next(15_000);
  const strict = listener(first);
  assert.equal(strict.filterChains.length, 1);
  assert.equal(strict.filterChains[0]?.tls?.requireClientCertificate, true);
  assert.deepEqual(strict.filterChains[0]?.httpConnectionManager.httpFilters.map((f) => f.name), [
    'envoy.filters.http.rbac.deny', 'envoy.filters.http.rbac.allow', 'envoy.filters.http.local_ratelimit', 'envoy.filters.http.router',
  ]);
  s.send({ type_url: TypeUrl.listener, resource_names: [NAME], version_info: first.version_info, response_nonce: first.nonce });

  writeFileSync(join(dir, 'peer.yaml'), peer('PERMISSIVE'));
  const permissive = listener(await s.next(15_000));
  assert.deepEqual(permissive.filterChains.map((c) => [c.match.transportProtocol, !!c.tls]), [['tls', true], ['', false]]);
  s.close();
});
