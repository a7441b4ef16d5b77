/**
 * Auto mTLS marking in EDS: mesh endpoints carry `envoy.transport_socket_match: {tlsMode: istio}`
 * unless their effective PeerAuthentication on that port is DISABLE (istiod leaves it off then,
 * so a client's auto mTLS sends plaintext to a port that only takes plaintext).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilitiesFor } from '../client-capabilities.ts';
import { indexModel } from '../mesh-index.ts';
import { makeModel } from '../testing/model-fixture.ts';
import { withPolicies } from '../testing/security-fixture.ts';
import { buildLoadAssignment } from './endpoint.ts';
import type { GeneratorContext } from './types.ts';

const HOST = 'catalog.shop.svc.cluster.local';

/** `address:port` → whether the endpoint is marked for auto mTLS, for service port `port`. */
function marks(peer: [string, string, unknown][], port: number): Record<string, boolean> {
  const base = makeModel({
    services: [{
      hostname: HOST,
      ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }, { number: 9090, name: 'http-metrics', protocol: 'HTTP' }],
      endpoints: [
        { address: '127.0.0.1', labels: { app: 'catalog', 'security.istio.io/tlsMode': 'istio' } },
        { address: '127.0.0.2', labels: { app: 'legacy', 'security.istio.io/tlsMode': 'istio' } },
        { address: '127.0.0.3', labels: { app: 'external' } },
      ],
    }],
  });
  const model = withPolicies(base, { peer });
  const ctx: GeneratorContext = { index: indexModel(model), caps: capabilitiesFor('weft'), omit: () => {} };
  const svc = model.services.get(HOST);
  assert.ok(svc);
  const cla = buildLoadAssignment(ctx, svc, port, '').message as { endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { address: string } } }; metadata: { filter_metadata: Record<string, unknown> } }[] }[] };
  const out: Record<string, boolean> = {};
  for (const l of cla.endpoints) for (const e of l.lb_endpoints) out[e.endpoint.address.socket_address.address] = 'envoy.transport_socket_match' in e.metadata.filter_metadata;
  return out;
}

test('without PeerAuthentication, mesh workloads are marked for auto mTLS and others are not', () => {
  assert.deepEqual(marks([], 8080), { '127.0.0.1': true, '127.0.0.2': true, '127.0.0.3': false });
});

test('a DISABLE mode (namespace, workload or port level) leaves the tlsMode mark off for that workload and port', () => {
  const peer: [string, string, unknown][] = [
    ['shop', 'default', { mtls: { mode: 'STRICT' } }],
    ['shop', 'legacy', { selector: { matchLabels: { app: 'legacy' } }, mtls: { mode: 'DISABLE' } }],
    ['shop', 'catalog-metrics', { selector: { matchLabels: { app: 'catalog' } }, portLevelMtls: { 9090: { mode: 'DISABLE' } } }],
  ];
  assert.deepEqual(marks(peer, 8080), { '127.0.0.1': true, '127.0.0.2': false, '127.0.0.3': false });
  assert.deepEqual(marks(peer, 9090), { '127.0.0.1': false, '127.0.0.2': false, '127.0.0.3': false });
  assert.deepEqual(marks([['istio-system', 'mesh', { mtls: { mode: 'DISABLE' } }], ['shop', 'default', { mtls: { mode: 'PERMISSIVE' } }]], 8080), { '127.0.0.1': true, '127.0.0.2': true, '127.0.0.3': false }, 'the namespace policy beats the mesh one');
});
