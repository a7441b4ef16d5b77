import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { startBackend, unary } from './support/echo-service.ts';
import type { Backend, Echo } from './support/echo-service.ts';
import { meshClient, runBounded } from './support/harness.ts';
import { match, meshConfig, route } from './support/mesh-fixture.ts';

const LISTENER = 'echo.default.svc.cluster.local:50051';

describe('gRPC adapter routing', () => {
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

  it('routes by service/method and by metadata', async () => {
    const config = meshConfig({
      listenerName: LISTENER,
      routes: [
        route(match('/weft.test.Echo/Other'), 'v2'),
        route(match('', { headers: [{ name: 'x-canary', match: { type: 'exact', value: 'yes', ignoreCase: false }, invertMatch: false, treatMissingHeaderAsEmpty: false }] }), 'v2'),
        route(match(''), 'v1'),
      ],
      clusters: { v1: { endpoints: [v1.address] }, v2: { endpoints: [v2.address] } },
    });
    const { client, source } = meshClient(config);
    try {
      assert.equal((await unary(client, { text: 'a' })).server, 'v1');
      assert.equal((await unary(client, { text: 'b' }, { method: 'Other' })).server, 'v2');
      const md = new grpc.Metadata();
      md.set('x-canary', 'yes');
      assert.equal((await unary(client, { text: 'c' }, { metadata: md })).server, 'v2');
    } finally {
      client.close();
    }
    assert.equal(source.watchCount, 0, 'the channel released its watch');
  });

  it('splits 70/30 across weighted clusters within tolerance', async () => {
    const config = meshConfig({
      listenerName: LISTENER,
      routes: [route(match(''), [['v1', 70], ['v2', 30]])],
      clusters: { v1: { endpoints: [v1.address] }, v2: { endpoints: [v2.address] } },
    });
    const { client } = meshClient(config);
    try {
      const n = 1000;
      const replies = await runBounded(n, 32, (i) => unary(client, { text: String(i) }));
      const toV1 = replies.filter((r: Echo) => r.server === 'v1').length;
      // Binomial(1000, 0.7): sd ≈ 14.5; ±60 is beyond 4 sd.
      assert.ok(Math.abs(toV1 - 700) <= 60, `v1 got ${toV1} of ${n}`);
    } finally {
      client.close();
    }
  });

  it('carries all four call types through the mesh', async () => {
    const config = meshConfig({ listenerName: LISTENER, routes: [route(match(''), 'v2')], clusters: { v2: { endpoints: [v2.address] } } });
    const { client } = meshClient(config);
    try {
      assert.equal((await unary(client, { text: 'u' })).server, 'v2');
      const cs = await new Promise<Echo>((resolve, reject) => {
        const call = client.ClientStream(new grpc.Metadata(), {}, (err, res) => (err ? reject(err) : resolve(res!)));
        call.write({ text: 'x' });
        call.write({ text: 'y' });
        call.end();
      });
      assert.deepEqual([cs.text, cs.server], ['x,y', 'v2']);
      const ss: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const call = client.ServerStream({ text: 's' });
        call.on('data', (m: Echo) => ss.push(`${m.server}:${m.text}`));
        call.on('error', reject);
        call.on('end', () => resolve());
      });
      assert.deepEqual(ss, ['v2:s-0', 'v2:s-1', 'v2:s-2']);
      const bidi: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const call = client.Bidi();
        call.on('data', (m: Echo) => bidi.push(m.text));
        call.on('error', reject);
        call.on('end', () => resolve());
        call.write({ text: '1' });
        call.write({ text: '2' });
        call.end();
      });
      assert.deepEqual(bidi, ['1', '2']);
    } finally {
      client.close();
    }
  });

  it('fails unrouted calls with UNAVAILABLE and WEFT_ERR_NO_ROUTE', async () => {
    const config = meshConfig({ listenerName: LISTENER, routes: [route(match('/weft.test.Echo/Other'), 'v1')], clusters: { v1: { endpoints: [v1.address] } } });
    const { client } = meshClient(config);
    try {
      await assert.rejects(unary(client, { text: 'x' }), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAVAILABLE);
        assert.match(err.details, /WEFT_ERR_NO_ROUTE \(NR\)/);
        return true;
      });
    } finally {
      client.close();
    }
  });

  it('adds and removes request and response metadata as the route says', async () => {
    const route1 = route(match(''), 'v1', {}, {
      requestHeadersToAdd: [
        { key: 'x-weft-added', value: 'yes', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false },
        { key: 'x-keep', value: 'new', appendAction: 'ADD_IF_ABSENT', keepEmptyValue: false },
      ],
      requestHeadersToRemove: ['x-secret'],
      responseHeadersToAdd: [{ key: 'x-weft-route', value: 'default', appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD', keepEmptyValue: false }],
    });
    const config = meshConfig({ listenerName: LISTENER, routes: [route1], clusters: { v1: { endpoints: [v1.address] } } });
    const { client } = meshClient(config);
    try {
      const md = new grpc.Metadata();
      md.set('x-secret', 'hide-me');
      md.set('x-keep', 'old');
      const responseHeaders = await new Promise<grpc.Metadata>((resolve, reject) => {
        const call = client.Unary({ text: 'm' }, md, {}, (err) => err && reject(err));
        call.on('metadata', resolve);
      });
      assert.deepEqual(responseHeaders.get('x-weft-route'), ['default']);
      const seen = v1.lastMetadata!;
      assert.deepEqual(seen.get('x-weft-added'), ['yes']);
      assert.deepEqual(seen.get('x-keep'), ['old']);
      assert.deepEqual(seen.get('x-secret'), []);
    } finally {
      client.close();
    }
  });

  it('keeps a metadata key on one host with RING_HASH (route hash policy on metadata)', async () => {
    const config = meshConfig({
      listenerName: LISTENER,
      routes: [route(match(''), 'ring', { hashPolicies: [{ type: 'header', headerName: 'x-user', terminal: false }] })],
      clusters: { ring: { endpoints: [v1.address, v2.address], cluster: { lbPolicy: { type: 'ringHash', minRingSize: 1024, maxRingSize: 8_388_608, hashFunction: 'XX_HASH' } } } },
    });
    const { client } = meshClient(config);
    try {
      const serversByUser = new Map<string, Set<string>>();
      for (let i = 0; i < 60; i++) {
        const user = `user-${i % 12}`;
        const md = new grpc.Metadata();
        md.set('x-user', user);
        const server = (await unary(client, { text: user }, { metadata: md })).server!;
        if (!serversByUser.has(user)) serversByUser.set(user, new Set());
        serversByUser.get(user)!.add(server);
      }
      for (const [user, servers] of serversByUser) assert.equal(servers.size, 1, `${user} hit ${[...servers].join(',')}`);
      // 12 keys on a 2-host ring: all on one host has probability ~2^-11.
      assert.equal(new Set([...serversByUser.values()].map((s) => [...s][0])).size, 2);
    } finally {
      client.close();
    }
  });
});
