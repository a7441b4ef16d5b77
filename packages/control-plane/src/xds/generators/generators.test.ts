import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, decodeResource, unpackAny, type Cluster } from '@weft/xds-client';
import { capabilitiesFor, type Omission } from '../client-capabilities.ts';
import { indexModel } from '../mesh-index.ts';
import { makeModel, type FixtureInput } from '../testing/model-fixture.ts';
import { buildSnapshot } from '../snapshot.ts';
import { generateClusters } from './cluster.ts';
import { generateEndpoints } from './endpoint.ts';
import { generateListeners } from './listener.ts';
import { generateRoutes } from './route.ts';
import type { GeneratorContext } from './types.ts';

const HOST = 'reviews.shop.svc.cluster.local';

function ctxFor(input: FixtureInput, kind: 'weft' | 'grpc-js-xds' = 'weft') {
  const omissions: Omission[] = [];
  const ctx: GeneratorContext = { index: indexModel(makeModel(input)), caps: capabilitiesFor(kind), omit: (o) => omissions.push(o) };
  return { ctx, omissions };
}

const base: FixtureInput = {
  services: [{
    hostname: HOST,
    ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }, { number: 50051, name: 'grpc' }],
    endpoints: [
      { address: '10.0.0.1', labels: { version: 'v1' }, locality: 'eu/eu-1/a', ports: { grpc: 7001 } },
      { address: '10.0.0.2', labels: { version: 'v2' }, locality: 'eu/eu-1/b', weight: 3, health: 'UNHEALTHY' },
      { address: 'reviews.example.com', labels: { version: 'v1' } },
    ],
  }],
};

function routesOf(input: FixtureInput, kind: 'weft' | 'grpc-js-xds' = 'weft') {
  const { ctx, omissions } = ctxFor(input, kind);
  const rc = generateRoutes(ctx).find((r) => r.name === `${HOST}:9080`);
  assert.ok(rc);
  const vh = (rc.message.virtual_hosts as { domains: string[]; routes: Record<string, any>[] }[])[0];
  assert.ok(vh);
  return { vh, omissions };
}

test('default route, names and domains for a service without VirtualService', () => {
  const { vh } = routesOf(base);
  assert.deepEqual(vh.domains, [`${HOST}:9080`, HOST, 'reviews.shop:9080', 'reviews.shop', 'reviews:9080', 'reviews']);
  assert.equal(vh.routes.length, 1);
  assert.deepEqual(vh.routes[0]?.match, { prefix: '/' });
  assert.equal(vh.routes[0]?.route.cluster, `outbound|9080||${HOST}`);
  assert.equal(vh.routes[0]?.route.retry_policy.num_retries.value, 2);
});

test('VirtualService http[] in order: every match kind, weights, timeout, retries, fault, hash policy', () => {
  const input: FixtureInput = {
    ...base,
    destinationRules: [{ name: 'r', namespace: 'shop', spec: { host: 'reviews', trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'X-User' } } }, subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] } }],
    virtualServices: [{
      name: 'r', namespace: 'shop',
      spec: {
        hosts: ['reviews'],
        http: [
          {
            name: 'matches',
            match: [
              { uri: { regex: '/api/v[0-9]+' }, ignoreUriCase: true, headers: { 'End-User': { exact: 'alice' }, 'x-present': {} }, queryParams: { debug: { exact: '1' } }, method: { exact: 'POST' } },
              { uri: { exact: '/exact' }, withoutHeaders: { 'x-skip': { prefix: 'y' } } },
              { uri: { prefix: '/other-port' }, port: 9999 },
            ],
            route: [{ destination: { host: 'reviews', subset: 'v2' } }],
            timeout: '1.5s',
            retries: { attempts: 3, perTryTimeout: '250ms', retryOn: 'unavailable,cancelled' },
            fault: { delay: { fixedDelay: '100ms', percentage: { value: 12.5 } }, abort: { grpcStatus: 'UNAVAILABLE', percentage: { value: 5 } } },
          },
          { route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 2 }, { destination: { host: 'reviews', subset: 'v2' }, weight: 1 }, { destination: { host: 'reviews', subset: 'v2' }, weight: 0 }], retries: { attempts: 0 } },
        ],
      },
    }],
  };
  const { vh } = routesOf(input);
  assert.equal(vh.routes.length, 3, 'two matches of rule 0 (third is for another port) and rule 1');
  const [a, b, c] = vh.routes;
  assert.deepEqual(a?.match, {
    safe_regex: { regex: '/api/v[0-9]+' }, case_sensitive: { value: false },
    headers: [{ name: 'end-user', string_match: { exact: 'alice' } }, { name: 'x-present', present_match: true }, { name: ':method', string_match: { exact: 'POST' } }],
    query_parameters: [{ name: 'debug', string_match: { exact: '1' } }],
  });
  assert.deepEqual(b?.match, { path: '/exact', headers: [{ name: 'x-skip', string_match: { prefix: 'y' }, invert_match: true }] });
  assert.equal(a?.route.cluster, `outbound|9080|v2|${HOST}`);
  assert.deepEqual(a?.route.timeout, { seconds: 1, nanos: 500_000_000 });
  assert.deepEqual(a?.route.retry_policy, { retry_on: 'unavailable,cancelled', num_retries: { value: 3 }, per_try_timeout: { seconds: 0, nanos: 250_000_000 } });
  assert.deepEqual(a?.route.hash_policy, [{ header: { header_name: 'x-user' } }]);
  const fault = unpackAny(a?.typed_per_filter_config['envoy.filters.http.fault']) as any;
  assert.deepEqual(fault.delay.fixed_delay, { seconds: 0, nanos: 100_000_000 });
  assert.deepEqual(fault.delay.percentage, { numerator: 125_000, denominator: 'MILLION' });
  assert.equal(fault.abort.grpc_status, 14);
  assert.deepEqual(fault.abort.percentage, { numerator: 50_000, denominator: 'MILLION' });
  assert.deepEqual(c?.route.weighted_clusters.clusters, [{ name: `outbound|9080|v1|${HOST}`, weight: { value: 2 } }, { name: `outbound|9080|v2|${HOST}`, weight: { value: 1 } }]);
  assert.equal(c?.route.retry_policy, undefined, 'attempts: 0 disables retries');

  const { ctx } = ctxFor(input);
  const listener = generateListeners(ctx).find((l) => l.name === `${HOST}:9080`);
  const hcm = unpackAny((listener?.message.api_listener as { api_listener: never }).api_listener) as { http_filters: { name: string }[] };
  assert.deepEqual(hcm.http_filters.map((f) => f.name), ['envoy.filters.http.fault', 'envoy.filters.http.router']);
});

test('redirect and direct response: sent to full clients, left out (and reported) for grpc-js-xds', () => {
  const input: FixtureInput = {
    ...base,
    virtualServices: [{ name: 'r', namespace: 'shop', spec: { hosts: ['reviews'], http: [
      { match: [{ uri: { prefix: '/old' } }], redirect: { uri: '/new', redirectCode: 302 } },
      { match: [{ uri: { prefix: '/teapot' } }], directResponse: { status: 418, body: { string: 'tea' } } },
      { route: [{ destination: { host: 'reviews' } }] },
    ] } }],
  };
  const full = routesOf(input).vh.routes;
  assert.deepEqual(full[0]?.redirect, { path_redirect: '/new', response_code: 'FOUND' });
  assert.deepEqual(full[1]?.direct_response, { status: 418, body: { inline_string: 'tea' } });
  const grpc = routesOf(input, 'grpc-js-xds');
  assert.equal(grpc.vh.routes.length, 1);
  assert.equal(grpc.omissions.filter((o) => o.type === 'route').length, 4, 'two rules × two ports');
  assert.match(grpc.omissions[0]?.reason ?? '', /reject/);
});

test('clusters: subsets, LB policies with gRPC fallback, circuit breakers, outlier detection, port and subset overrides', () => {
  const input: FixtureInput = {
    ...base,
    destinationRules: [{
      name: 'r', namespace: 'shop',
      spec: {
        host: 'reviews.shop.svc.cluster.local',
        trafficPolicy: {
          loadBalancer: { simple: 'LEAST_REQUEST' },
          connectionPool: { tcp: { maxConnections: 10, connectTimeout: '2s' }, http: { http1MaxPendingRequests: 5, http2MaxRequests: 100, maxRetries: 3 } },
          outlierDetection: { consecutive5xxErrors: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
          portLevelSettings: [{ port: { number: 50051 }, loadBalancer: { simple: 'RANDOM' } }],
        },
        subsets: [
          { name: 'v1', labels: { version: 'v1' }, trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'x', ringHash: { minimumRingSize: 1024 } } } } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      },
    }],
  };
  const { ctx } = ctxFor(input);
  const byName = new Map(generateClusters(ctx).map((c) => [c.name, c.message as Record<string, any>]));
  assert.deepEqual([...byName.keys()].sort(), [
    `outbound|50051|v1|${HOST}`, `outbound|50051|v2|${HOST}`, `outbound|50051||${HOST}`,
    `outbound|9080|v1|${HOST}`, `outbound|9080|v2|${HOST}`, `outbound|9080||${HOST}`,
  ].sort());
  const whole = byName.get(`outbound|9080||${HOST}`);
  assert.equal(whole?.lb_policy, 'LEAST_REQUEST');
  assert.deepEqual(whole?.eds_cluster_config, { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: `outbound|9080||${HOST}` });
  assert.deepEqual(whole?.lrs_server, { self: {} }, 'clients send load reports to the control plane');
  const encoded = buildSnapshot(ctx.index, ctx.caps).resources.get(TypeUrl.cluster)?.get(`outbound|9080||${HOST}`);
  const decoded = decodeResource(TypeUrl.cluster, encoded?.any as never);
  assert.ok(decoded.result.ok && (decoded.result.value as Cluster).isLoadReportingEnabled, 'the SDK decoder sees lrs_server: self');
  assert.deepEqual(whole?.connect_timeout, { seconds: 2, nanos: 0 });
  assert.deepEqual(whole?.circuit_breakers.thresholds[0], { priority: 'DEFAULT', max_connections: { value: 10 }, max_pending_requests: { value: 5 }, max_requests: { value: 100 }, max_retries: { value: 3 } });
  assert.equal(whole?.outlier_detection.consecutive_5xx.value, 5);
  assert.deepEqual(whole?.outlier_detection.base_ejection_time, { seconds: 30, nanos: 0 });
  assert.equal(byName.get(`outbound|50051||${HOST}`)?.lb_policy, 'RANDOM', 'port level wins over top level');
  assert.equal(byName.get(`outbound|9080|v1|${HOST}`)?.lb_policy, 'RING_HASH', 'subset wins');
  assert.equal(byName.get(`outbound|9080|v1|${HOST}`)?.ring_hash_lb_config.minimum_ring_size.value, 1024);
  assert.equal(byName.get(`outbound|9080|v2|${HOST}`)?.lb_policy, 'LEAST_REQUEST');

  const grpc = ctxFor(input, 'grpc-js-xds');
  const grpcClusters = new Map(generateClusters(grpc.ctx).map((c) => [c.name, c.message as Record<string, any>]));
  assert.equal(grpcClusters.get(`outbound|9080||${HOST}`)?.lb_policy, 'ROUND_ROBIN');
  assert.equal(grpcClusters.get(`outbound|9080|v1|${HOST}`)?.lb_policy, 'RING_HASH');
  assert.ok(grpc.omissions.some((o) => o.field === 'trafficPolicy.loadBalancer' && /LEAST_REQUEST/.test(o.reason)));
  assert.equal(grpcClusters.get(`outbound|9080||${HOST}`)?.outlier_detection.enforcing_failure_percentage.value, 100);
});

test('endpoints: localities, weights, health, istio metadata, subset filter, DNS names left out', () => {
  const input: FixtureInput = { ...base, destinationRules: [{ name: 'r', namespace: 'shop', spec: { host: 'reviews', subsets: [{ name: 'v2', labels: { version: 'v2' } }] } }] };
  const { ctx, omissions } = ctxFor(input);
  const all = new Map(generateEndpoints(ctx).map((e) => [e.name, e.message as Record<string, any>]));
  const grpcPort = all.get(`outbound|50051||${HOST}`);
  assert.equal(grpcPort?.endpoints.length, 2);
  assert.deepEqual(grpcPort?.endpoints[0].locality, { region: 'eu', zone: 'eu-1', sub_zone: 'a' });
  assert.equal(grpcPort?.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 7001, 'named workload port');
  assert.equal(grpcPort?.endpoints[1].lb_endpoints[0].endpoint.address.socket_address.port_value, 50051, 'service port');
  const v2 = all.get(`outbound|9080|v2|${HOST}`);
  assert.equal(v2?.endpoints.length, 1);
  assert.equal(v2?.endpoints[0].lb_endpoints[0].health_status, 'UNHEALTHY');
  assert.equal(v2?.endpoints[0].load_balancing_weight.value, 3);
  assert.ok(omissions.some((o) => /reviews\.example\.com/.test(o.reason)));
  // metadata survives encoding, with the labels
  const snap = buildSnapshot(ctx.index, ctx.caps);
  const decoded = unpackAny(snap.resources.get(TypeUrl.clusterLoadAssignment)?.get(`outbound|9080|v2|${HOST}`)?.any as never) as any;
  const istio = decoded.endpoints[0].lb_endpoints[0].metadata.filter_metadata.istio;
  assert.equal(JSON.stringify(istio).includes('"v2"'), true);
});

test('snapshot: short-name listeners resolve by namespace; unknown destination hosts get empty clusters; undefined subsets are refused', () => {
  const input: FixtureInput = {
    ...base,
    virtualServices: [{ name: 'r', namespace: 'shop', spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'ratings', port: { number: 9080 } } }] }] } }],
  };
  const { ctx } = ctxFor(input);
  const snap = buildSnapshot(ctx.index, ctx.caps);
  assert.ok(snap.lookup(TypeUrl.listener, 'reviews:9080', 'shop'));
  assert.ok(snap.lookup(TypeUrl.listener, 'reviews.shop:9080', 'other'));
  assert.equal(snap.lookup(TypeUrl.listener, 'reviews:9080', 'other'), undefined);
  assert.equal(snap.lookup(TypeUrl.listener, 'garbage', 'shop'), undefined);
  const placeholder = 'outbound|9080||ratings.shop.svc.cluster.local';
  assert.ok(snap.resources.get(TypeUrl.cluster)?.has(placeholder));
  assert.ok(snap.omissions.some((o) => o.resource === placeholder));

  const bad: FixtureInput = { ...base, virtualServices: [{ name: 'r', namespace: 'shop', spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v9' } }] }] } }] };
  const b = ctxFor(bad);
  assert.throws(() => buildSnapshot(b.ctx.index, b.ctx.caps), (err: { code?: string; message: string }) => err.code === 'WEFT_ERR_CONFIG_INVALID' && /v9/.test(err.message));
});
