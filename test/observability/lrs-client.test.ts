/**
 * The LRS client against a real grpc-js server speaking
 * `envoy.service.load_stats.v3.LoadReportingService`: node first, the server's cluster list and
 * interval obeyed, deltas per interval, `send_all_clusters`, per-endpoint and drop stats.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { lrsServiceDefinition } from '@weft/xds-client';
import { LoadStatsStore, startLoadReporting } from '@weft/core';
import type { LrsClient, XdsBootstrap } from '@weft/xds-client';

interface Received {
  node?: { id?: string; client_features?: string[] };
  cluster_stats?: {
    cluster_name: string;
    total_dropped_requests?: number;
    dropped_requests?: { category: string; dropped_count: number }[];
    upstream_locality_stats?: {
      locality?: { zone?: string };
      total_issued_requests?: number;
      total_successful_requests?: number;
      total_error_requests?: number;
      total_requests_in_progress?: number;
      upstream_endpoint_stats?: { address: { socket_address: { address: string; port_value: number } }; total_issued_requests?: number }[];
    }[];
    load_report_interval?: { seconds?: number; nanos?: number };
  }[];
}

let server: grpc.Server;
let port: number;
const received: Received[] = [];
let stream: grpc.ServerDuplexStream<object, object> | undefined;
const waiters: (() => void)[] = [];

function waitFor(predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for LRS messages')), timeoutMs);
    const check = (): void => {
      if (predicate()) {
        clearTimeout(timer);
        resolve();
      } else waiters.push(check);
    };
    check();
  });
}

before(async () => {
  server = new grpc.Server();
  server.addService(lrsServiceDefinition(), {
    StreamLoadStats(call: grpc.ServerDuplexStream<object, object>) {
      stream = call;
      call.on('data', (m: Received) => {
        received.push(m);
        if (received.length === 1) call.write({ clusters: ['outbound|80||a.ns.svc.cluster.local'], load_reporting_interval: { seconds: 0, nanos: 100_000_000 } });
        for (const w of waiters.splice(0)) w();
      });
      call.on('error', () => undefined);
    },
  });
  port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
});

after(() => {
  server.forceShutdown();
});

test('node first, only the clusters the server asked for, deltas per interval, then send_all_clusters', async () => {
  const store = new LoadStatsStore();
  const a = 'outbound|80||a.ns.svc.cluster.local';
  const b = 'outbound|80||b.ns.svc.cluster.local';
  const bootstrap = {
    xdsServers: [{ serverUri: `127.0.0.1:${port}`, channelCredentials: { type: 'insecure' }, serverFeatures: [], ignoreResourceDeletion: false }],
    node: { id: 'sidecar~127.0.0.1~lrs-test.ns~ns.svc.cluster.local', metadata: {} },
    certificateProviders: {},
    clientDefaultListenerResourceNameTemplate: '%s',
    source: 'test',
  } as unknown as XdsBootstrap;
  let lrs: LrsClient | undefined;
  try {
    lrs = startLoadReporting({ store, bootstrap });
    await waitFor(() => received.length >= 1);
    assert.equal(received[0]!.node?.id, 'sidecar~127.0.0.1~lrs-test.ns~ns.svc.cluster.local');
    assert.ok(received[0]!.node?.client_features?.includes('envoy.lrs.supports_send_all_clusters'));

    // Traffic: 3 ok + 1 error + 1 in flight to a (zone z1), 2 to b, 2 drops of a.
    for (let i = 0; i < 3; i++) store.startAttempt(a, { zone: 'z1' }, '10.0.0.1:8080').end(false);
    store.startAttempt(a, { zone: 'z1' }, '10.0.0.2:8080').end(true);
    const inFlight = store.startAttempt(a, { zone: 'z1' }, '10.0.0.1:8080');
    store.startAttempt(b, undefined, '10.0.0.9:80').end(false);
    store.recordDrop(a, 'circuit_breaker');
    store.recordDrop(a, 'rate_limit');

    await waitFor(() => received.some((m) => (m.cluster_stats ?? []).some((c) => c.cluster_name === a)));
    const report = received.find((m) => (m.cluster_stats ?? []).length > 0)!;
    assert.deepEqual(report.cluster_stats!.map((c) => c.cluster_name), [a], 'only the requested cluster');
    const ca = report.cluster_stats![0]!;
    const loc = ca.upstream_locality_stats![0]!;
    assert.equal(loc.locality?.zone, 'z1');
    assert.equal(Number(loc.total_issued_requests), 5);
    assert.equal(Number(loc.total_successful_requests), 3);
    assert.equal(Number(loc.total_error_requests), 1);
    assert.equal(Number(loc.total_requests_in_progress), 1);
    const ep1 = loc.upstream_endpoint_stats!.find((e) => e.address.socket_address.address === '10.0.0.1')!;
    assert.equal(Number(ep1.total_issued_requests), 4);
    assert.equal(Number(ca.total_dropped_requests), 2);
    assert.deepEqual(ca.dropped_requests!.map((d) => [d.category, Number(d.dropped_count)]).sort(), [['circuit_breaker', 1], ['rate_limit', 1]]);
    assert.ok(ca.load_report_interval !== undefined);

    // Next interval: only the in-flight request finishing is new.
    const before = received.length;
    inFlight.end(false);
    await waitFor(() => received.slice(before).some((m) => (m.cluster_stats ?? []).length > 0));
    const next = received.slice(before).find((m) => (m.cluster_stats ?? []).length > 0)!.cluster_stats![0]!.upstream_locality_stats![0]!;
    assert.equal(Number(next.total_issued_requests ?? 0), 0);
    assert.equal(Number(next.total_successful_requests), 1);
    assert.equal(Number(next.total_requests_in_progress ?? 0), 0);

    // The server widens the request: every cluster.
    stream!.write({ send_all_clusters: true, load_reporting_interval: { seconds: 0, nanos: 100_000_000 } });
    await waitFor(() => lrs!.requested?.clusters === undefined);
    store.startAttempt(b, undefined, '10.0.0.9:80').end(false);
    const mark = received.length;
    await waitFor(() => received.slice(mark).some((m) => (m.cluster_stats ?? []).some((c) => c.cluster_name === b)));
    assert.equal(lrs.intervalMs, 100);
  } finally {
    lrs?.close();
  }
});

test('a server without LRS (UNIMPLEMENTED) stops the client instead of retrying forever', async () => {
  const bare = new grpc.Server();
  const barePort = await new Promise<number>((resolve, reject) => bare.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const bootstrap = {
    xdsServers: [{ serverUri: `127.0.0.1:${barePort}`, channelCredentials: { type: 'insecure' }, serverFeatures: [], ignoreResourceDeletion: false }],
    node: { id: 'n' },
  } as unknown as XdsBootstrap;
  const lrs = startLoadReporting({ store: new LoadStatsStore(), bootstrap });
  try {
    for (let i = 0; i < 1000 && !lrs.isUnsupported; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(lrs.isUnsupported, true);
  } finally {
    lrs.close();
    bare.forceShutdown();
  }
});
