import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { createXdsClient, TypeUrl, type Cluster, type MeshError, type XdsClient, type XdsClientOptions } from '@weft/xds-client';
import { FakeAdsServer, waitFor, type FakeAdsServerOptions } from './fake-ads-server.ts';
import { edsCluster, invalidCluster } from './resources.ts';

type Event = { type: 'changed'; value: Cluster } | { type: 'error'; error: MeshError } | { type: 'missing' };

function recorder() {
  const events: Event[] = [];
  return {
    events,
    watcher: {
      onChanged: (value: Cluster) => events.push({ type: 'changed', value }),
      onError: (error: MeshError) => events.push({ type: 'error', error }),
      onDoesNotExist: () => events.push({ type: 'missing' }),
    },
    last: () => events.at(-1),
    count: (type: Event['type']) => events.filter((e) => e.type === type).length,
  };
}

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.splice(0)) c();
});

async function setup(serverOptions: FakeAdsServerOptions = {}, clientOptions: Partial<XdsClientOptions> = {}) {
  const server = new FakeAdsServer(serverOptions);
  await server.start();
  const client = createXdsClient({
    bootstrap: { xds_servers: [{ server_uri: server.address, channel_creds: [{ type: 'insecure' }] }], node: { id: 'sidecar~127.0.0.1~test.default~default.svc.cluster.local' } },
    backoff: { initialMs: 20, maxMs: 200 },
    doesNotExistTimeoutMs: 300,
    ...clientOptions,
  });
  cleanups.push(() => client.close(), () => server.stop());
  return { server, client };
}

for (const protocol of ['delta', 'sotw'] as const) {
  describe(`${protocol} ADS`, () => {
    test('subscribe, update and removal reach the watcher, and each response is ACKed', async () => {
      const { server, client } = await setup({}, { protocol });
      server.set(TypeUrl.cluster, 'c1', edsCluster('c1'));
      const r = recorder();
      const handle = client.watch(TypeUrl.cluster, 'c1', r.watcher);
      assert.equal(r.events.length, 0, 'never called synchronously from watch()');
      await waitFor(() => r.count('changed') === 1, 'first value');
      assert.equal(client.dump().server?.protocol, protocol);
      server.set(TypeUrl.cluster, 'c1', edsCluster('c1', { lb_policy: 'RANDOM' }));
      await waitFor(() => r.count('changed') === 2, 'update');
      const second = r.events[1];
      assert.ok(second?.type === 'changed' && second.value.lbPolicy.type === 'random');
      const acksOf = () => server.requestsOf(TypeUrl.cluster).filter((q) => q.request.response_nonce);
      // The watcher may hear of the update before the ACK has crossed the wire.
      await waitFor(() => acksOf().length >= 2, 'both ACKs at the server');
      const acks = acksOf();
      assert.ok(acks.every((q) => q.request.error_detail === undefined || q.request.error_detail === null));
      if (protocol === 'sotw') assert.ok(acks.at(-1)?.request.version_info !== '', 'SotW ACK carries the accepted version');
      server.remove(TypeUrl.cluster, 'c1');
      await waitFor(() => r.last()?.type === 'missing', 'removal');
      const dump = client.dump().resources.find((x) => x.name === 'c1');
      assert.equal(dump?.status, 'DOES_NOT_EXIST');
      handle.cancel();
      handle.cancel();
    });

    test('an invalid resource is NACKed with a precise error_detail and the last good value is kept', async () => {
      const { server, client } = await setup({}, { protocol });
      server.set(TypeUrl.cluster, 'c1', edsCluster('c1'));
      const r = recorder();
      client.watch(TypeUrl.cluster, 'c1', r.watcher);
      await waitFor(() => r.count('changed') === 1, 'first value');
      server.set(TypeUrl.cluster, 'c1', invalidCluster('c1'));
      await waitFor(() => r.count('error') === 1, 'NACK reported to the watcher');
      const error = r.events.find((e) => e.type === 'error');
      assert.equal(error?.type === 'error' && error.error.code, 'WEFT_ERR_XDS_INVALID');
      await waitFor(() => server.requestsOf(TypeUrl.cluster).some((q) => q.request.error_detail?.message), 'NACK on the wire');
      const nack = server.requestsOf(TypeUrl.cluster).find((q) => q.request.error_detail?.message);
      assert.match(nack?.request.error_detail?.message ?? '', /Cluster c1: maglev_lb_config\.table_size: 100 must be a prime/);
      const entry = client.dump().resources.find((x) => x.name === 'c1');
      assert.equal(entry?.status, 'NACKED');
      assert.equal((entry?.value as Cluster | undefined)?.lbPolicy.type, 'roundRobin', 'last good value kept');
      assert.match(entry?.errorState?.detail ?? '', /table_size/);
      server.set(TypeUrl.cluster, 'c1', edsCluster('c1', { lb_policy: 'LEAST_REQUEST' }));
      await waitFor(() => client.dump().resources.find((x) => x.name === 'c1')?.status === 'ACKED', 'recovery');
      assert.equal(r.count('changed'), 2);
    });

    test('a resource the client did not ask for is ignored, not cached and not NACKed', async () => {
      const unrequested = new Map([[TypeUrl.cluster as string, new Map([['intruder', edsCluster('intruder')]])]]);
      const { server, client } = await setup({ unrequested }, { protocol });
      server.set(TypeUrl.cluster, 'c1', edsCluster('c1'));
      const r = recorder();
      client.watch(TypeUrl.cluster, 'c1', r.watcher);
      await waitFor(() => r.count('changed') === 1, 'value');
      await waitFor(() => server.requestsOf(TypeUrl.cluster).some((q) => q.request.response_nonce), 'ACK');
      assert.deepEqual(client.dump().resources.map((x) => x.name), ['c1']);
      assert.ok(server.requestsOf(TypeUrl.cluster).every((q) => !q.request.error_detail?.message));
    });
  });
}

test('a server that never answers: the watcher learns the resource does not exist after the timeout', async () => {
  const { client, server } = await setup({ isHanging: true });
  const r = recorder();
  client.watch(TypeUrl.cluster, 'c1', r.watcher);
  await waitFor(() => server.requestsOf(TypeUrl.cluster).length >= 1, 'the request');
  const late = recorder();
  client.watch(TypeUrl.cluster, 'c2', late.watcher); // subscribed on the already open stream
  await waitFor(() => r.count('missing') === 1, 'does-not-exist', 3000);
  await waitFor(() => late.count('missing') === 1, 'does-not-exist of the later watch', 3000);
  assert.equal(client.dump().resources[0]?.status, 'DOES_NOT_EXIST');
});

test('a server that answers UNIMPLEMENTED to Delta is spoken to in SotW', async () => {
  const { server, client } = await setup({ protocols: ['sotw'] });
  server.set(TypeUrl.cluster, 'c1', edsCluster('c1'));
  const r = recorder();
  client.watch(TypeUrl.cluster, 'c1', r.watcher);
  await waitFor(() => r.count('changed') === 1, 'value over SotW');
  assert.equal(client.dump().server?.protocol, 'sotw');
  assert.equal(r.count('error'), 0, 'the fallback is silent');
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

test('an unreachable primary xds_server falls back to the next one, and back to the primary when it returns (A71)', async () => {
  const dead = await closedPort();
  const server = new FakeAdsServer();
  await server.start();
  server.set(TypeUrl.cluster, 'c1', edsCluster('c1'));
  const client = createXdsClient({
    bootstrap: {
      xds_servers: [
        { server_uri: `127.0.0.1:${dead}`, channel_creds: [{ type: 'insecure' }] },
        { server_uri: server.address, channel_creds: [{ type: 'insecure' }] },
      ],
      node: { id: 'n' },
    },
    backoff: { initialMs: 20, maxMs: 200 },
  });
  cleanups.push(() => client.close(), () => server.stop());
  const r = recorder();
  client.watch(TypeUrl.cluster, 'c1', r.watcher);
  await waitFor(() => r.count('changed') === 1, 'value from the fallback server');
  assert.equal(client.dump().server?.serverUri, server.address);

  // The primary comes back: the client leaves the fallback for it, keeping its cache meanwhile.
  const primary = new FakeAdsServer();
  await primary.start(dead);
  cleanups.push(() => primary.stop());
  primary.set(TypeUrl.cluster, 'c1', edsCluster('c1', { lb_policy: 'RANDOM' }));
  await waitFor(() => client.dump().server?.serverUri === primary.address, 'back on the primary');
  await waitFor(() => r.count('changed') === 2, 'value from the primary');
  const last = r.last();
  assert.ok(last?.type === 'changed' && last.value.lbPolicy.type === 'random');
  assert.equal(r.count('missing'), 0);
});

test('after the server restarts the client reconnects, resubscribes and keeps serving the cached value meanwhile', async () => {
  const { server, client } = await setup();
  server.set(TypeUrl.cluster, 'c1', edsCluster('c1'));
  const r = recorder();
  client.watch(TypeUrl.cluster, 'c1', r.watcher);
  await waitFor(() => r.count('changed') === 1, 'value');
  const port = server.port;
  server.stop();
  await waitFor(() => r.count('error') >= 1, 'unavailability reported');
  const errorEvent = r.events.find((e) => e.type === 'error');
  assert.equal(errorEvent?.type === 'error' && errorEvent.error.code, 'WEFT_ERR_XDS_UNAVAILABLE');
  assert.equal(r.count('missing'), 0, 'a dead server does not make resources disappear');
  assert.equal((client.dump().resources[0]?.value as Cluster | undefined)?.name, 'c1', 'cached value kept');
  const restarted = new FakeAdsServer();
  await restarted.start(port);
  cleanups.push(() => restarted.stop());
  restarted.set(TypeUrl.cluster, 'c1', edsCluster('c1', { lb_policy: 'RANDOM' }));
  await waitFor(() => r.count('changed') === 2, 'fresh value after reconnect');
  const last = r.last();
  assert.ok(last?.type === 'changed' && last.value.lbPolicy.type === 'random');
});

test('close() is idempotent and stops delivery; watch() afterwards throws WEFT_ERR_CLOSED', async () => {
  const { server, client } = await setup();
  server.set(TypeUrl.cluster, 'c1', edsCluster('c1'));
  const r = recorder();
  client.watch(TypeUrl.cluster, 'c1', r.watcher);
  await waitFor(() => r.count('changed') === 1, 'value');
  client.close();
  client.close();
  server.set(TypeUrl.cluster, 'c1', edsCluster('c1', { lb_policy: 'RANDOM' }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(r.count('changed'), 1);
  assert.throws(() => client.watch(TypeUrl.cluster, 'c2', r.watcher), { code: 'WEFT_ERR_CLOSED' });
  await waitFor(() => server.streamCount === 0, 'stream closed on the server');
});

export type { XdsClient };
