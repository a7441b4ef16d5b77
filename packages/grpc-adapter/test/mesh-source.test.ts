import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Mesh } from '@weft/core';
import { createStaticXdsConfigSource, meshConfigSource, weftChannelOptions } from '../src/index.ts';
import { createEchoClient, startBackend, unary } from './support/echo-service.ts';
import type { Backend } from './support/echo-service.ts';
import './support/harness.ts';
import { match, meshConfig, route } from './support/mesh-fixture.ts';

describe('channels on core\'s Mesh', () => {
  let v1: Backend;
  let v2: Backend;
  before(async () => {
    v1 = await startBackend('v1');
    v2 = await startBackend('v2');
  });
  after(async () => {
    await v1.close();
    await v2.close();
  });

  it('resolve short names in the Mesh namespace and follow its updates', async () => {
    const listenerName = 'echo.shop.svc.cluster.local:50051';
    const xds = createStaticXdsConfigSource([meshConfig({ listenerName, routes: [route(match(''), 'v1')], clusters: { v1: { endpoints: [v1.address] } } })]);
    const mesh = await Mesh.create({ xdsClient: xds, namespace: 'shop' });
    const client = createEchoClient('weft:///echo:50051', weftChannelOptions({ source: meshConfigSource(mesh) }));
    try {
      assert.equal((await unary(client, { text: 'a' })).server, 'v1');
      xds.set(meshConfig({ listenerName, routes: [route(match(''), 'v2')], clusters: { v2: { endpoints: [v2.address] } } }));
      let server: string | undefined;
      for (let i = 0; i < 100 && server !== 'v2'; i++) {
        server = (await unary(client, { text: 'b' })).server;
        if (server !== 'v2') await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(server, 'v2', 'the channel followed the Mesh update');
    } finally {
      client.close();
      await mesh.close();
    }
    assert.equal(xds.watchCount, 0, 'closing the Mesh released its watch');
  });
});
