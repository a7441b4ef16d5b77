import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packAny, TypeUrl } from '../protos.ts';
import { decodeResource } from './index.ts';
import type { Cluster, ClusterLoadAssignment, Listener, RouteConfiguration } from './types.ts';

const router = { name: 'envoy.filters.http.router', typed_config: packAny(TypeUrl.router, {}) };

function listener(extra: object = {}, filters: object[] = [router]) {
  return packAny(TypeUrl.listener, {
    name: 'reviews.default.svc.cluster.local:9080',
    api_listener: {
      api_listener: packAny(TypeUrl.httpConnectionManager, {
        rds: { route_config_name: 'reviews.default.svc.cluster.local:9080', config_source: { ads: {} } },
        http_filters: filters,
        common_http_protocol_options: { max_stream_duration: { seconds: 3 } },
        ...extra,
      }),
    },
  });
}

function ok<T>(typeUrl: Parameters<typeof decodeResource>[0], any: ReturnType<typeof packAny>): T {
  const d = decodeResource(typeUrl, any);
  assert.ok(d.result.ok, d.result.ok ? '' : d.result.error);
  return d.result.value as T;
}

function error(typeUrl: Parameters<typeof decodeResource>[0], any: ReturnType<typeof packAny>): string {
  const d = decodeResource(typeUrl, any);
  assert.ok(!d.result.ok, 'expected a validation error');
  return d.result.error;
}

test('an API listener decodes to its RDS name, filters and max stream duration', () => {
  const fault = { name: 'envoy.filters.http.fault', typed_config: packAny(TypeUrl.fault, { abort: { http_status: 503, percentage: { numerator: 50 } } }) };
  const l = ok<Listener>(TypeUrl.listener, listener({}, [fault, router]));
  assert.deepEqual(l.httpConnectionManager?.routeSource, { type: 'rds', routeConfigName: 'reviews.default.svc.cluster.local:9080' });
  assert.equal(l.httpConnectionManager?.maxStreamDurationMs, 3000);
  const f = l.httpConnectionManager?.httpFilters[0];
  assert.equal(f?.config.type, 'fault');
  if (f?.config.type === 'fault') assert.deepEqual(f.config.fault.abort?.percentage, { numerator: 50, denominator: 100 });
});

test('unsupported filters: optional ones are dropped, required ones reject the listener (A39)', () => {
  const unknown = { name: 'istio.stats', typed_config: packAny(TypeUrl.typedStructUdpa, { type_url: 'type.googleapis.com/stats.PluginConfig', value: {} }) };
  const l = ok<Listener>(TypeUrl.listener, listener({}, [{ ...unknown, is_optional: true }, router]));
  assert.equal(l.httpConnectionManager?.httpFilters.length, 1);
  assert.match(error(TypeUrl.listener, listener({}, [unknown, router])), /http_filters\[0\].*unsupported filter "istio.stats"/);
  assert.match(error(TypeUrl.listener, listener({}, [])), /router filter is missing/);
});

test('a local rate limit filter given as a TypedStruct decodes like the Istio EnvoyFilter example', () => {
  const rl = {
    name: 'envoy.filters.http.local_ratelimit',
    typed_config: packAny(TypeUrl.typedStructUdpa, {
      type_url: TypeUrl.localRateLimit,
      value: {
        fields: {
          stat_prefix: { stringValue: 'http_local_rate_limiter' },
          token_bucket: { structValue: { fields: { max_tokens: { numberValue: 10 }, tokens_per_fill: { numberValue: 10 }, fill_interval: { stringValue: '1s' } } } },
          filter_enabled: { structValue: { fields: { default_value: { structValue: { fields: { numerator: { numberValue: 100 }, denominator: { stringValue: 'HUNDRED' } } } } } } },
        },
      },
    }),
  };
  const l = ok<Listener>(TypeUrl.listener, listener({}, [rl, router]));
  const c = l.httpConnectionManager?.httpFilters[0]?.config;
  assert.equal(c?.type, 'localRateLimit');
  if (c?.type === 'localRateLimit') {
    assert.deepEqual(c.localRateLimit.tokenBucket, { maxTokens: 10, tokensPerFill: 10, fillIntervalMs: 1000 });
    assert.deepEqual(c.localRateLimit.filterEnabled, { numerator: 100, denominator: 100 });
    assert.deepEqual(c.localRateLimit.filterEnforced, { numerator: 0, denominator: 100 });
    assert.equal(c.localRateLimit.statusCode, 429);
  }
});

function routeConfig(route: object) {
  return packAny(TypeUrl.routeConfiguration, {
    name: 'rc',
    virtual_hosts: [{ name: 'vh', domains: ['reviews', 'reviews.default.svc.cluster.local:9080'], routes: [route] }],
  });
}

test('routes decode with weighted clusters, retries, hash policies, timeouts and header matchers', () => {
  const rc = ok<RouteConfiguration>(
    TypeUrl.routeConfiguration,
    routeConfig({
      match: { prefix: '/api', case_sensitive: { value: false }, headers: [{ name: 'X-User', exact_match: 'jason', invert_match: true }] },
      route: {
        weighted_clusters: { clusters: [{ name: 'a', weight: { value: 90 } }, { name: 'b', weight: { value: 10 } }, { name: 'z', weight: { value: 0 } }] },
        timeout: { seconds: 2, nanos: 500_000_000 },
        retry_policy: { retry_on: '5xx, connect-failure', num_retries: { value: 3 }, per_try_timeout: { nanos: 200_000_000 } },
        hash_policy: [{ header: { header_name: 'x-session' }, terminal: true }, { connection_properties: { source_ip: true } }],
      },
    }),
  );
  const route = rc.virtualHosts[0]?.routes[0];
  assert.ok(route && route.action.type === 'route');
  assert.deepEqual(route.match.path, { type: 'prefix', prefix: '/api' });
  assert.equal(route.match.caseSensitive, false);
  assert.deepEqual(route.match.headers[0]?.match, { type: 'exact', value: 'jason', ignoreCase: false });
  assert.equal(route.match.headers[0]?.invertMatch, true);
  const action = route.action.route;
  assert.equal(action.clusterSpecifier.type, 'weightedClusters');
  if (action.clusterSpecifier.type === 'weightedClusters') {
    assert.deepEqual(action.clusterSpecifier.clusters.map((c) => c.name), ['a', 'b']);
    assert.equal(action.clusterSpecifier.totalWeight, 100);
  }
  assert.equal(action.timeoutMs, 2500);
  assert.deepEqual(action.retryPolicy?.retryOn, ['5xx', 'connect-failure']);
  assert.equal(action.retryPolicy?.numRetries, 3);
  assert.equal(action.retryPolicy?.perTryTimeoutMs, 200);
  assert.deepEqual(action.retryPolicy?.retryBackOff, { baseIntervalMs: 25, maxIntervalMs: 250 });
  assert.deepEqual(action.hashPolicies, [{ type: 'header', headerName: 'x-session', terminal: true }, { type: 'sourceIp', terminal: false }]);
});

test('a bad regex or a zero weight sum rejects the route configuration naming the field', () => {
  const bad = error(TypeUrl.routeConfiguration, routeConfig({ match: { safe_regex: { regex: '(' } }, route: { cluster: 'a' } }));
  assert.match(bad, /^virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: invalid regex/);
  const zero = error(TypeUrl.routeConfiguration, routeConfig({ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 0 } }] } } }));
  assert.match(zero, /weighted_clusters: the sum of weights is 0/);
});

test('clusters decode lb policies, circuit breakers, outlier detection defaults and SPIFFE SAN matchers', () => {
  const c = ok<Cluster>(
    TypeUrl.cluster,
    packAny(TypeUrl.cluster, {
      name: 'outbound|9080|v1|reviews.default.svc.cluster.local',
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {} } },
      lb_policy: 'RING_HASH',
      ring_hash_lb_config: { minimum_ring_size: { value: 2048 } },
      circuit_breakers: { thresholds: [{ max_requests: { value: 10 } }] },
      outlier_detection: { consecutive_5xx: { value: 3 }, base_ejection_time: { seconds: 1 } },
      transport_socket: {
        name: 'envoy.transport_sockets.tls',
        typed_config: packAny(TypeUrl.upstreamTlsContext, {
          common_tls_context: {
            tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
            combined_validation_context: {
              default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/reviews' } }] },
              validation_context_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
            },
          },
        }),
      },
    }),
  );
  assert.deepEqual(c.discovery, { type: 'eds', serviceName: 'outbound|9080|v1|reviews.default.svc.cluster.local' });
  assert.deepEqual(c.lbPolicy, { type: 'ringHash', minRingSize: 2048, maxRingSize: 8388608, hashFunction: 'XX_HASH' });
  assert.equal(c.circuitBreakers[0]?.maxRequests, 10);
  assert.equal(c.circuitBreakers[0]?.maxPendingRequests, 1024);
  assert.equal(c.outlierDetection?.consecutive5xx, 3);
  assert.equal(c.outlierDetection?.baseEjectionTimeMs, 1000);
  assert.equal(c.outlierDetection?.maxEjectionPercent, 10);
  assert.equal(c.connectTimeoutMs, 5000);
  assert.deepEqual(c.tls?.identity, { type: 'certificateProvider', instanceName: 'default', certificateName: 'default' });
  assert.deepEqual(c.tls?.matchSubjectAltNames, [{ sanType: 'URI', matcher: { type: 'exact', value: 'spiffe://cluster.local/ns/default/sa/reviews', ignoreCase: false } }]);
});

test('load_balancing_policy picks the first supported entry; Maglev needs a prime table size', () => {
  const policy = (typed: object) => ({ typed_extension_config: { name: 'x', typed_config: typed } });
  const c = ok<Cluster>(
    TypeUrl.cluster,
    packAny(TypeUrl.cluster, {
      name: 'c',
      type: 'EDS',
      eds_cluster_config: { eds_config: { self: {} } },
      load_balancing_policy: {
        policies: [
          policy(packAny(TypeUrl.typedStructXds, { type_url: 'type.googleapis.com/custom.Policy', value: {} })),
          policy(packAny('type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest', { choice_count: { value: 3 } })),
        ],
      },
    }),
  );
  assert.deepEqual(c.lbPolicy, { type: 'leastRequest', choiceCount: 3 });
  const bad = error(TypeUrl.cluster, packAny(TypeUrl.cluster, { name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, lb_policy: 'MAGLEV', maglev_lb_config: { table_size: { value: 100 } } }));
  assert.match(bad, /maglev_lb_config\.table_size: 100 must be a prime/);
});

test('endpoints decode localities, health, weights and reject gaps in priorities', () => {
  const ep = (ip: string, extra: object = {}) => ({ endpoint: { address: { socket_address: { address: ip, port_value: 9080 } } }, ...extra });
  const cla = ok<ClusterLoadAssignment>(
    TypeUrl.clusterLoadAssignment,
    packAny(TypeUrl.clusterLoadAssignment, {
      cluster_name: 'outbound|9080||reviews.default.svc.cluster.local',
      endpoints: [
        { locality: { region: 'r', zone: 'a' }, load_balancing_weight: { value: 3 }, lb_endpoints: [ep('127.0.0.1', { health_status: 'HEALTHY', load_balancing_weight: { value: 2 } })] },
        { locality: { region: 'r', zone: 'b' }, priority: 1, lb_endpoints: [ep('127.0.0.2')] },
      ],
    }),
  );
  assert.equal(cla.overprovisioningFactor, 1.4);
  assert.equal(cla.localities[0]?.loadBalancingWeight, 3);
  assert.deepEqual(cla.localities[0]?.endpoints[0]?.healthStatus, 'HEALTHY');
  assert.equal(cla.localities[0]?.endpoints[0]?.loadBalancingWeight, 2);
  assert.equal(cla.localities[1]?.endpoints[0]?.healthStatus, 'UNKNOWN');
  const gap = error(TypeUrl.clusterLoadAssignment, packAny(TypeUrl.clusterLoadAssignment, { cluster_name: 'c', endpoints: [{ priority: 1, lb_endpoints: [ep('127.0.0.1')] }] }));
  assert.match(gap, /priorities are not contiguous/);
});

test('a resource of the wrong type inside a response is an error, not a throw', () => {
  const d = decodeResource(TypeUrl.cluster, packAny(TypeUrl.listener, { name: 'x' }));
  assert.equal(d.result.ok, false);
});

test('RBAC filters decode policies with principals and permissions; per-route overrides and FilterConfig wrappers work', () => {
  const rbac = {
    name: 'envoy.filters.http.rbac',
    typed_config: packAny(TypeUrl.rbac, {
      rules: {
        action: 'DENY',
        policies: {
          'ns[default]-policy[deny-admin]-rule[0]': {
            permissions: [{ and_rules: { rules: [{ url_path: { path: { prefix: '/admin' } } }, { header: { name: ':method', exact_match: 'POST' } }] } }],
            principals: [{ not_id: { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/admin' } } } }, { source_ip: { address_prefix: '10.0.0.0', prefix_len: { value: 8 } } }],
          },
        },
      },
    }),
  };
  const l = ok<Listener>(TypeUrl.listener, listener({}, [rbac, router]));
  const c = l.httpConnectionManager?.httpFilters[0]?.config;
  assert.ok(c?.type === 'rbac' && c.rbac.rules);
  assert.equal(c.rbac.rules.action, 'DENY');
  const policy = [...c.rbac.rules.policies.values()][0];
  assert.deepEqual(policy?.permissions[0], {
    type: 'and',
    rules: [
      { type: 'urlPath', path: { type: 'prefix', value: '/admin', ignoreCase: false } },
      { type: 'header', header: { name: ':method', match: { type: 'exact', value: 'POST', ignoreCase: false }, invertMatch: false, treatMissingHeaderAsEmpty: false } },
    ],
  });
  assert.deepEqual(policy?.principals[1], { type: 'sourceIp', cidr: { addressPrefix: '10.0.0.0', prefixLen: 8 } });

  const filterConfigUrl = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
  const rc = ok<RouteConfiguration>(
    TypeUrl.routeConfiguration,
    routeConfig({
      match: { path_separated_prefix: '/api' },
      route: { cluster: 'a' },
      typed_per_filter_config: {
        'envoy.filters.http.rbac': packAny(TypeUrl.rbacPerRoute, {}),
        'envoy.filters.http.fault': packAny(filterConfigUrl, { disabled: true }),
        'istio.stats': packAny(filterConfigUrl, { is_optional: true, config: packAny(TypeUrl.typedStructUdpa, { type_url: 'type.googleapis.com/x.Y', value: {} }) }),
      },
    }),
  );
  const overrides = rc.virtualHosts[0]?.routes[0]?.typedPerFilterConfig;
  assert.deepEqual(overrides?.get('envoy.filters.http.rbac'), { type: 'rbac', rbac: {} }, 'RBACPerRoute without rbac enforces nothing');
  assert.deepEqual(overrides?.get('envoy.filters.http.fault'), { type: 'disabled' });
  assert.equal(overrides?.has('istio.stats'), false, 'optional unsupported override dropped');
  assert.deepEqual(rc.virtualHosts[0]?.routes[0]?.match.path, { type: 'pathSeparatedPrefix', prefix: '/api' });
  const bad = error(TypeUrl.routeConfiguration, routeConfig({ match: { prefix: '/' }, route: { cluster: 'a' }, typed_per_filter_config: { x: packAny(TypeUrl.typedStructUdpa, { type_url: 'type.googleapis.com/x.Y', value: {} }) } }));
  assert.match(bad, /typed_per_filter_config\["x"\]: unsupported filter override/);
});

test('redirects and direct responses decode; a direct response status outside [200, 600) is rejected', () => {
  const redirect = ok<RouteConfiguration>(TypeUrl.routeConfiguration, routeConfig({ match: { prefix: '/' }, redirect: { https_redirect: true, response_code: 'PERMANENT_REDIRECT', strip_query: true } }));
  assert.deepEqual(redirect.virtualHosts[0]?.routes[0]?.action, { type: 'redirect', redirect: { responseCode: 308, stripQuery: true, schemeRedirect: 'https' } });
  const direct = ok<RouteConfiguration>(TypeUrl.routeConfiguration, routeConfig({ match: { prefix: '/' }, direct_response: { status: 418, body: { inline_string: 'teapot' } } }));
  assert.deepEqual(direct.virtualHosts[0]?.routes[0]?.action, { type: 'directResponse', status: 418, body: 'teapot' });
  assert.match(error(TypeUrl.routeConfiguration, routeConfig({ match: { prefix: '/' }, direct_response: { status: 99 } })), /direct_response\.status: 99/);
});

test('a server-side listener (A36) decodes its filter chains, match and inline routes', () => {
  const hcm = packAny(TypeUrl.httpConnectionManager, {
    route_config: { name: 'inbound|9080', virtual_hosts: [{ name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, non_forwarding_action: {} }] }] },
    http_filters: [router],
  });
  const l = ok<Listener>(
    TypeUrl.listener,
    packAny(TypeUrl.listener, {
      name: 'xds.istio.io/grpc/lds/inbound/0.0.0.0:9080',
      address: { socket_address: { address: '0.0.0.0', port_value: 9080 } },
      filter_chains: [{ name: 'plain', filter_chain_match: { destination_port: { value: 9080 } }, filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
    }),
  );
  assert.deepEqual(l.address, { address: '0.0.0.0', port: 9080 });
  assert.equal(l.httpConnectionManager, undefined);
  assert.equal(l.filterChains[0]?.match.destinationPort, 9080);
  const source = l.filterChains[0]?.httpConnectionManager.routeSource;
  assert.ok(source?.type === 'inline');
  assert.deepEqual(source.routeConfig.virtualHosts[0]?.routes[0]?.action, { type: 'nonForwarding' });
});

test('an explicit raw_buffer transport socket means plaintext; an unknown one rejects the cluster', () => {
  const base = { name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } };
  const raw = { name: 'envoy.transport_sockets.raw_buffer', typed_config: { type_url: 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer', value: new Uint8Array() } };
  assert.equal(ok<Cluster>(TypeUrl.cluster, packAny(TypeUrl.cluster, { ...base, transport_socket: raw })).tls, undefined);
  const alts = { name: 'alts', typed_config: { type_url: 'type.googleapis.com/envoy.extensions.transport_sockets.alts.v3.Alts', value: new Uint8Array() } };
  assert.match(error(TypeUrl.cluster, packAny(TypeUrl.cluster, { ...base, transport_socket: alts })), /transport_socket\.typed_config: unsupported transport socket/);
});

test('TLS from files: trusted_ca and tls_certificates filenames decode as file sources; inline data is rejected; a bare raw_buffer match is plaintext', () => {
  const base = { name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } };
  const socket = (common: object) => ({ name: 'envoy.transport_sockets.tls', typed_config: packAny(TypeUrl.upstreamTlsContext, { common_tls_context: common, sni: 'api.example.com' }) });
  const files = socket({
    tls_certificates: [{ certificate_chain: { filename: '/c.pem' }, private_key: { filename: '/k.pem' } }],
    validation_context: { trusted_ca: { filename: '/ca.pem' }, match_subject_alt_names: [{ exact: 'api.example.com' }] },
  });
  const c = ok<Cluster>(TypeUrl.cluster, packAny(TypeUrl.cluster, { ...base, transport_socket: files }));
  assert.deepEqual(c.tls?.identity, { type: 'file', path: '/c.pem', privateKeyPath: '/k.pem' });
  assert.deepEqual(c.tls?.validation, { type: 'file', path: '/ca.pem' });
  assert.equal(c.tls?.sni, 'api.example.com');
  const inlineCa = socket({ validation_context: { trusted_ca: { inline_string: '-----BEGIN CERTIFICATE-----' } } });
  assert.match(error(TypeUrl.cluster, packAny(TypeUrl.cluster, { ...base, transport_socket: inlineCa })), /trusted_ca: only a filename is supported/);
  const inlineKey = socket({ tls_certificates: [{ certificate_chain: { filename: '/c.pem' }, private_key: { inline_bytes: new Uint8Array([1]) } }] });
  assert.match(error(TypeUrl.cluster, packAny(TypeUrl.cluster, { ...base, transport_socket: inlineKey })), /tls_certificates\[0\]\.private_key: only a filename/);
  const auto = ok<Cluster>(TypeUrl.cluster, packAny(TypeUrl.cluster, {
    ...base,
    transport_socket_matches: [
      { name: 'tlsMode-istio', match: { fields: { tlsMode: { string_value: 'istio' } } }, transport_socket: files },
      { name: 'tlsMode-disabled', match: { fields: {} }, transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } },
    ],
  }));
  assert.equal(auto.transportSocketMatches?.length, 2);
  assert.equal(auto.transportSocketMatches?.[1]?.tls, undefined, 'plaintext');
  assert.ok(auto.transportSocketMatches?.[0]?.tls);
});
