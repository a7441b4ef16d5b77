import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '@weft/xds-client';
import { createAdminServer } from '../admin/admin-server.ts';
import { makeModel } from '../xds/testing/model-fixture.ts';
import { clusterTlsOf } from '../lrs/cluster-tls.ts';
import { mountUiRoutes } from './ui-routes.ts';
import { createNackLog } from './config-status.ts';
import type { SyncReport } from '../xds/sync-report.ts';
import type { ClientConnection } from '../xds/server/client-connection.ts';

const HOST = 'catalog.shop.svc.cluster.local';

function model() {
  return makeModel({
    services: [{ hostname: HOST, ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], endpoints: [{ address: '127.0.0.1', labels: { version: 'v1' } }, { address: '127.0.0.1', labels: { version: 'v2' }, health: 'UNHEALTHY' }] }],
    destinationRules: [{ name: 'catalog', namespace: 'shop', spec: { host: 'catalog', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } }, subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] } }],
    virtualServices: [{ name: 'catalog', namespace: 'shop', spec: { hosts: ['catalog'], http: [{ match: [{ headers: { 'x-canary': { exact: '1' } } }], route: [{ destination: { host: 'catalog', subset: 'v2' } }] }, { route: [{ destination: { host: 'catalog', subset: 'v1' }, weight: 80 }, { destination: { host: 'catalog', subset: 'v2' }, weight: 20 }], timeout: '2s' }] } }],
  });
}

test('/ui files, /debug/routing and /debug/config_status on the admin server', async () => {
  const admin = createAdminServer();
  const sync = { generation: 1, version: 'v1', snapshotFailures: [], clients: [{ nodeId: 'n1', connectionId: 'c', protocol: 'sotw' as const, kind: 'weft', namespace: 'shop', connectedAt: '', generation: 1, omissions: [], unknownTypes: [], types: { cds: { state: 'NACKED' as const, subscribed: 0, isWildcard: true, sentVersion: 'v1', sentNonce: '1', sentAt: '', ackedVersion: '', resourcesSent: 1, acks: 0, nacks: 1, lastNack: { nonce: '1', version: '', message: 'bad <b>cluster</b>', code: 3, at: '2026-01-01T00:00:00.000Z' } } } }] };
  mountUiRoutes(admin, { source: { current: model(), lastRejected: [{ level: 'error', code: 'IST0101', message: 'Referenced host not found' }] }, xds: { syncReport: () => sync } });
  await admin.listen('127.0.0.1', 0);
  try {
    const redirect = await fetch(`${admin.url}/ui`, { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), '/ui/');
    const page = await fetch(`${admin.url}/ui/`);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await page.text(), /\/ui\/assets\/cytoscape\.min\.js/);
    for (const [path, type] of [['/ui/static/ui.js', 'text/javascript'], ['/ui/static/render.js', 'text/javascript'], ['/ui/static/ui.css', 'text/css'], ['/ui/assets/cytoscape.min.js', 'text/javascript']]) {
      const res = await fetch(`${admin.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', new RegExp(`^${type}`), path);
      await res.arrayBuffer();
    }
    assert.equal((await fetch(`${admin.url}/ui/static/../../ui-routes.ts`)).status, 404);
    assert.equal((await fetch(`${admin.url}/ui/static/nothing.js`)).status, 404);

    const routing = (await (await fetch(`${admin.url}/debug/routing`)).json()) as { services: { hostname: string; endpoints: { total: number; healthy: number }; virtualService: { id: string; routes: { match: unknown[]; destinations: { subset: string; weight: number; host: string }[]; policies: Record<string, unknown> }[] }; destinationRule: { subsets: { name: string; endpoints: { healthy: number } }[]; trafficPolicy: unknown } }[] };
    const svc = routing.services[0];
    assert.equal(svc?.hostname, HOST);
    assert.deepEqual(svc?.endpoints, { total: 2, healthy: 1 });
    assert.equal(svc?.virtualService.id, 'shop/catalog');
    assert.deepEqual(svc?.virtualService.routes[0]?.destinations, [{ host: HOST, subset: 'v2', port: null, weight: 100 }]);
    assert.deepEqual(svc?.virtualService.routes[1]?.destinations.map((d) => [d.subset, d.weight]), [['v1', 80], ['v2', 20]]);
    assert.deepEqual(svc?.virtualService.routes[1]?.policies, { timeout: '2s' });
    assert.deepEqual(svc?.destinationRule.subsets.map((s) => [s.name, s.endpoints.healthy]), [['v1', 1], ['v2', 0]]);

    const status = (await (await fetch(`${admin.url}/debug/config_status`)).json()) as { rejected: { code: string }[]; nacks: { nodeId: string; type: string; message: string }[] };
    assert.equal(status.rejected[0]?.code, 'IST0101');
    assert.deepEqual(status.nacks.map((n) => [n.nodeId, n.type, n.message]), [['n1', 'cds', 'bad <b>cluster</b>']]);
  } finally {
    await admin.close();
  }
});

test('cluster TLS of an edge comes from the cluster last sent to the node', () => {
  const conn = (nodeId: string, clusters: Record<string, Record<string, unknown>>) =>
    ({ nodeId, types: new Map([[TypeUrl.cluster, { sent: new Map(Object.entries(clusters).map(([name, message]) => [name, { name, message }])) }]]) }) as unknown as ClientConnection;
  const xds = {
    connections: () => [
      conn('a', {
        plain: { name: 'plain' },
        tls: { name: 'tls', transport_socket: { name: 'envoy.transport_sockets.tls', typed_config: {} } },
        auto: { name: 'auto', transport_socket_matches: [{ name: 'tlsMode-istio', transport_socket: { name: 'envoy.transport_sockets.tls' } }, { name: 'tlsMode-disabled', transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } }] },
      }),
    ],
  };
  assert.equal(clusterTlsOf(xds, 'a', 'plain'), false);
  assert.equal(clusterTlsOf(xds, 'a', 'tls'), true);
  assert.equal(clusterTlsOf(xds, 'a', 'auto'), true);
  assert.equal(clusterTlsOf(xds, 'a', 'missing'), undefined);
  assert.equal(clusterTlsOf(xds, 'b', 'tls'), undefined);
});

test('NACK log: keeps NACKs after the client is gone, newest first, bounded', () => {
  const report = (clients: { nodeId: string; nonce: string; at: string }[]): SyncReport => ({
    generation: 1, version: 'v', snapshotFailures: [],
    clients: clients.map((c) => ({ nodeId: c.nodeId, connectionId: c.nodeId, protocol: 'sotw', kind: 'weft', namespace: 'ns', connectedAt: '', generation: 1, omissions: [], unknownTypes: [],
      types: { lds: { state: 'NACKED', subscribed: 0, isWildcard: true, sentVersion: '', sentNonce: c.nonce, sentAt: '', ackedVersion: '', resourcesSent: 0, acks: 0, nacks: 1, lastNack: { nonce: c.nonce, version: '', message: `m-${c.nonce}`, code: 3, at: c.at } } } })),
  });
  const log = createNackLog(2);
  log.update(report([{ nodeId: 'a', nonce: '1', at: '2026-01-01T00:00:01Z' }]));
  let out = log.update(report([{ nodeId: 'b', nonce: '2', at: '2026-01-01T00:00:02Z' }]));
  assert.deepEqual(out.map((n) => [n.nodeId, n.message, n.isConnected]), [['b', 'm-2', true], ['a', 'm-1', false]]);
  out = log.update(report([{ nodeId: 'b', nonce: '3', at: '2026-01-01T00:00:03Z' }]));
  assert.deepEqual(out.map((n) => n.message), ['m-3', 'm-2'], 'the oldest falls off past the cap');
});
