import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAdminServer, sendText } from './admin-server.ts';
import { mountXdsRoutes } from './xds-routes.ts';
import { createXdsServer } from '../xds/xds-server.ts';
import { fakeSource, makeModel } from '../xds/testing/model-fixture.ts';

test('route table: exact, longest prefix, 404, 405, handler errors become 500', async () => {
  const admin = createAdminServer();
  admin.route('/ui', (_q, res, url) => sendText(res, 200, `ui ${url.pathname}`), { isPrefix: true });
  admin.route('/ui/api', (_q, res) => sendText(res, 200, 'api'), { isPrefix: true });
  admin.route('/token', (_q, res) => sendText(res, 201, 'tok'), { methods: ['POST'] });
  admin.route('/boom', () => { throw new Error('kaput'); });
  await admin.listen('127.0.0.1', 0);
  try {
    const get = async (p: string, method = 'GET') => { const r = await fetch(`${admin.url}${p}`, { method }); return [r.status, await r.text()] as const; };
    assert.deepEqual(await get('/ui'), [200, 'ui /ui']);
    assert.deepEqual(await get('/ui/graph'), [200, 'ui /ui/graph']);
    assert.deepEqual(await get('/ui/api/x'), [200, 'api']);
    assert.equal((await get('/uix'))[0], 404);
    assert.equal((await get('/token'))[0], 405);
    assert.deepEqual(await get('/token', 'POST'), [201, 'tok']);
    assert.deepEqual(await get('/boom'), [500, 'kaput\n']);
  } finally {
    await admin.close();
    await admin.close();
  }
});

test('xDS routes: healthz, readyz before and after listening, syncz, config_dump needs a node', async () => {
  const xds = createXdsServer({ source: fakeSource(makeModel({ services: [] })) });
  const admin = createAdminServer();
  mountXdsRoutes(admin, { xds });
  await admin.listen('127.0.0.1', 0);
  try {
    assert.equal((await fetch(`${admin.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${admin.url}/readyz`)).status, 503);
    await xds.listen('127.0.0.1', 0);
    assert.equal((await fetch(`${admin.url}/readyz`)).status, 200);
    const syncz = (await (await fetch(`${admin.url}/debug/syncz`)).json()) as { generation: number; clients: unknown[] };
    assert.deepEqual([syncz.generation, syncz.clients], [1, []]);
    assert.equal((await fetch(`${admin.url}/debug/config_dump`)).status, 400);
    assert.match(await (await fetch(`${admin.url}/metrics`)).text(), /# TYPE pilot_xds gauge/);
  } finally {
    await admin.close();
    await xds.close(200);
  }
});
