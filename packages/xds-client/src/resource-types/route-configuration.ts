/**
 * Decoding and validation of `envoy.config.route.v3.RouteConfiguration` (RDS) per gRFC A28
 * (routing), A31 (timeouts), A33 (fault overrides), A42 (hash policies) and A44 (retries), plus
 * the Envoy features Weft's HTTP adapter applies (rewrites, redirects, direct responses,
 * mirroring, header mutations).
 */
import {
  arr,
  decodeSafely,
  durationMs,
  fractionalPercent,
  has,
  headerMatcher,
  headerMutations,
  invalid,
  num,
  obj,
  regexMatcher,
  regexRewrite,
  str,
  stringMatcher,
  wrapped,
  wrappedBool,
  type Obj,
} from './common.ts';
import { decodeTypedPerFilterConfig } from './http-filters.ts';
import type {
  ClusterSpecifier,
  DecodeResult,
  HashPolicy,
  HostRewrite,
  PathMatch,
  RedirectAction,
  RetryPolicy,
  Route,
  RouteAction,
  RouteActionKind,
  RouteConfiguration,
  RouteMatch,
  VirtualHost,
  WeightedCluster,
} from './types.ts';

const MAX_WEIGHT_SUM = 0xffffffff;

function pathMatch(m: Obj, field: string): PathMatch {
  switch (m['path_specifier']) {
    case 'prefix':
      return { type: 'prefix', prefix: str(m['prefix']) };
    case 'path':
      return { type: 'path', path: str(m['path']) };
    case 'safe_regex':
      return { type: 'safeRegex', regex: regexMatcher(m['safe_regex'], `${field}.safe_regex`) };
    case 'path_separated_prefix': {
      const prefix = str(m['path_separated_prefix']);
      if (!prefix.startsWith('/') || prefix.endsWith('/') || /[?#]/.test(prefix)) {
        invalid(`${field}.path_separated_prefix`, `${JSON.stringify(prefix)} must start with / and not end with / or hold ? or #`);
      }
      return { type: 'pathSeparatedPrefix', prefix };
    }
    default:
      return invalid(field, `unsupported path specifier ${JSON.stringify(m['path_specifier'] ?? 'none')}`);
  }
}

function routeMatch(m: Obj, field: string): RouteMatch {
  const runtimeFraction = has(m, 'runtime_fraction') ? fractionalPercent(obj(m['runtime_fraction'])['default_value']) : undefined;
  return {
    path: pathMatch(m, field),
    caseSensitive: wrappedBool(m['case_sensitive'], true),
    headers: arr(m['headers']).map((h, i) => headerMatcher(h, `${field}.headers[${i}]`)),
    queryParameters: arr(m['query_parameters']).map((q, i) => {
      const qf = `${field}.query_parameters[${i}]`;
      const name = str(q['name']);
      if (name === '') invalid(`${qf}.name`, 'must not be empty');
      if (q['present_match'] === true || !has(q, 'string_match')) return { name, match: { type: 'present', present: true } as const };
      return { name, match: stringMatcher(q['string_match'], `${qf}.string_match`) };
    }),
    ...(runtimeFraction === undefined ? {} : { runtimeFraction }),
    grpcOnly: has(m, 'grpc'),
  };
}

/** `RetryPolicy` (A44 defaults: 1 retry, back-off 25 ms base, max 10 × base). */
export function retryPolicy(value: unknown, field: string): RetryPolicy {
  const r = obj(value);
  const backOff = obj(r['retry_back_off']);
  const baseIntervalMs = durationMs(backOff['base_interval'], `${field}.retry_back_off.base_interval`) ?? 25;
  if (has(r, 'retry_back_off') && baseIntervalMs <= 0) invalid(`${field}.retry_back_off.base_interval`, 'must be positive');
  const maxIntervalMs = durationMs(backOff['max_interval'], `${field}.retry_back_off.max_interval`) ?? baseIntervalMs * 10;
  if (maxIntervalMs < baseIntervalMs) {
    invalid(`${field}.retry_back_off.max_interval`, `${maxIntervalMs} ms is less than base_interval ${baseIntervalMs} ms`);
  }
  const perTryTimeoutMs = durationMs(r['per_try_timeout'], `${field}.per_try_timeout`);
  const perTryIdleTimeoutMs = durationMs(r['per_try_idle_timeout'], `${field}.per_try_idle_timeout`);
  return {
    retryOn: str(r['retry_on'])
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s !== ''),
    numRetries: wrapped(r['num_retries']) ?? 1,
    ...(perTryTimeoutMs ? { perTryTimeoutMs } : {}),
    ...(perTryIdleTimeoutMs ? { perTryIdleTimeoutMs } : {}),
    retriableStatusCodes: arr(r['retriable_status_codes']).map((c) => num(c)),
    retryBackOff: { baseIntervalMs, maxIntervalMs },
    retriableHeaders: arr(r['retriable_headers']).map((h, i) => headerMatcher(h, `${field}.retriable_headers[${i}]`)),
    retriableRequestHeaders: arr(r['retriable_request_headers']).map((h, i) =>
      headerMatcher(h, `${field}.retriable_request_headers[${i}]`),
    ),
    retryHostPredicates: arr(r['retry_host_predicate']).map((p) => str(p['name'])),
    hostSelectionRetryMaxAttempts: num(r['host_selection_retry_max_attempts']) || 1,
  };
}

function hashPolicy(h: Obj, field: string): HashPolicy {
  const terminal = h['terminal'] === true;
  if (has(h, 'header')) {
    const header = obj(h['header']);
    const headerName = str(header['header_name']).toLowerCase();
    if (headerName === '') invalid(`${field}.header.header_name`, 'must not be empty');
    const rewrite = regexRewrite(header['regex_rewrite'], `${field}.header.regex_rewrite`);
    return { type: 'header', headerName, ...(rewrite ? { regexRewrite: rewrite } : {}), terminal };
  }
  if (has(h, 'cookie')) {
    const c = obj(h['cookie']);
    const ttlMs = durationMs(c['ttl'], `${field}.cookie.ttl`);
    if (str(c['name']) === '') invalid(`${field}.cookie.name`, 'must not be empty');
    return { type: 'cookie', name: str(c['name']), ...(ttlMs === undefined ? {} : { ttlMs }), ...(c['path'] ? { path: str(c['path']) } : {}), terminal };
  }
  if (has(h, 'connection_properties')) return { type: 'sourceIp', terminal };
  if (has(h, 'query_parameter')) return { type: 'queryParameter', name: str(obj(h['query_parameter'])['name']), terminal };
  if (has(h, 'filter_state')) return { type: 'filterState', key: str(obj(h['filter_state'])['key']), terminal };
  return invalid(field, 'unsupported hash policy');
}

function clusterSpecifier(r: Obj, field: string): ClusterSpecifier {
  switch (r['cluster_specifier']) {
    case 'cluster':
      if (str(r['cluster']) === '') invalid(`${field}.cluster`, 'must not be empty');
      return { type: 'cluster', cluster: str(r['cluster']) };
    case 'cluster_header':
      if (str(r['cluster_header']) === '') invalid(`${field}.cluster_header`, 'must not be empty');
      return { type: 'clusterHeader', header: str(r['cluster_header']).toLowerCase() };
    case 'weighted_clusters': {
      const wc = obj(r['weighted_clusters']);
      const wf = `${field}.weighted_clusters`;
      const clusters: WeightedCluster[] = [];
      let sum = 0;
      arr(wc['clusters']).forEach((c, i) => {
        const cf = `${wf}.clusters[${i}]`;
        const name = str(c['name']);
        if (name === '') invalid(`${cf}.name`, 'must not be empty');
        const weight = wrapped(c['weight']) ?? 0;
        sum += weight;
        if (weight === 0) return; // A28: zero-weight clusters never receive traffic.
        clusters.push({
          name,
          weight,
          typedPerFilterConfig: decodeTypedPerFilterConfig(c['typed_per_filter_config'], `${cf}.typed_per_filter_config`),
          ...headerMutations(c, cf),
          ...(str(c['host_rewrite_literal']) ? { hostRewriteLiteral: str(c['host_rewrite_literal']) } : {}),
        });
      });
      const declared = wrapped(wc['total_weight']);
      if (declared !== undefined && declared !== 0 && declared !== sum) invalid(`${wf}.total_weight`, `${declared} differs from the sum of weights ${sum}`);
      if (sum === 0) invalid(wf, 'the sum of weights is 0');
      if (sum > MAX_WEIGHT_SUM) invalid(wf, `the sum of weights ${sum} exceeds uint32`);
      return { type: 'weightedClusters', clusters, totalWeight: sum };
    }
    default:
      return invalid(field, `unsupported cluster specifier ${JSON.stringify(r['cluster_specifier'] ?? 'none')}`);
  }
}

function hostRewrite(r: Obj, field: string): HostRewrite | undefined {
  if (has(r, 'host_rewrite_literal')) return { type: 'literal', host: str(r['host_rewrite_literal']) };
  if (has(r, 'host_rewrite_header')) return { type: 'header', header: str(r['host_rewrite_header']).toLowerCase() };
  if (wrappedBool(r['auto_host_rewrite'], false)) return { type: 'auto' };
  if (has(r, 'host_rewrite_path_regex')) {
    const rewrite = regexRewrite(r['host_rewrite_path_regex'], `${field}.host_rewrite_path_regex`);
    return rewrite ? { type: 'pathRegex', rewrite } : undefined;
  }
  return undefined;
}

function routeAction(r: Obj, field: string): RouteAction {
  const out: { -readonly [K in keyof RouteAction]: RouteAction[K] } = {
    clusterSpecifier: clusterSpecifier(r, field),
    hashPolicies: arr(r['hash_policy']).map((h, i) => hashPolicy(h, `${field}.hash_policy[${i}]`)),
    requestMirrorPolicies: arr(r['request_mirror_policies']).map((m, i) => {
      const cluster = str(m['cluster']);
      if (cluster === '') invalid(`${field}.request_mirror_policies[${i}].cluster`, 'must not be empty');
      const fraction = has(m, 'runtime_fraction') ? fractionalPercent(obj(m['runtime_fraction'])['default_value']) : undefined;
      return {
        cluster,
        ...(fraction ? { runtimeFraction: fraction } : {}),
        ...(has(m, 'trace_sampled') ? { traceSampled: wrappedBool(m['trace_sampled'], true) } : {}),
      };
    }),
  };
  if (has(r, 'prefix_rewrite')) out.prefixRewrite = str(r['prefix_rewrite']);
  const rr = regexRewrite(r['regex_rewrite'], `${field}.regex_rewrite`);
  if (rr) out.regexRewrite = rr;
  const hr = hostRewrite(r, field);
  if (hr) out.hostRewrite = hr;
  const timeoutMs = durationMs(r['timeout'], `${field}.timeout`);
  if (timeoutMs !== undefined) out.timeoutMs = timeoutMs;
  const idleTimeoutMs = durationMs(r['idle_timeout'], `${field}.idle_timeout`);
  if (idleTimeoutMs !== undefined) out.idleTimeoutMs = idleTimeoutMs;
  if (has(r, 'max_stream_duration')) {
    const m = obj(r['max_stream_duration']);
    const sf = `${field}.max_stream_duration`;
    const a = durationMs(m['max_stream_duration'], `${sf}.max_stream_duration`);
    const b = durationMs(m['grpc_timeout_header_max'], `${sf}.grpc_timeout_header_max`);
    const c = durationMs(m['grpc_timeout_header_offset'], `${sf}.grpc_timeout_header_offset`);
    out.maxStreamDuration = {
      ...(a === undefined ? {} : { maxStreamDurationMs: a }),
      ...(b === undefined ? {} : { grpcTimeoutHeaderMaxMs: b }),
      ...(c === undefined ? {} : { grpcTimeoutHeaderOffsetMs: c }),
    };
  }
  if (has(r, 'retry_policy')) out.retryPolicy = retryPolicy(r['retry_policy'], `${field}.retry_policy`);
  return out;
}

function redirect(r: Obj, field: string): RedirectAction {
  const code = str(r['response_code']) || 'MOVED_PERMANENTLY';
  const codes: Record<string, RedirectAction['responseCode']> = {
    MOVED_PERMANENTLY: 301,
    FOUND: 302,
    SEE_OTHER: 303,
    TEMPORARY_REDIRECT: 307,
    PERMANENT_REDIRECT: 308,
  };
  const responseCode = codes[code];
  if (responseCode === undefined) invalid(`${field}.response_code`, `unknown code ${code}`);
  const out: { -readonly [K in keyof RedirectAction]: RedirectAction[K] } = { responseCode, stripQuery: r['strip_query'] === true };
  if (r['https_redirect'] === true) out.schemeRedirect = 'https';
  if (has(r, 'scheme_redirect')) out.schemeRedirect = str(r['scheme_redirect']);
  if (has(r, 'host_redirect')) out.hostRedirect = str(r['host_redirect']);
  if (has(r, 'port_redirect')) out.portRedirect = num(r['port_redirect']);
  if (has(r, 'path_redirect')) out.pathRedirect = str(r['path_redirect']);
  if (has(r, 'prefix_rewrite')) out.prefixRewrite = str(r['prefix_rewrite']);
  const rr = regexRewrite(r['regex_rewrite'], `${field}.regex_rewrite`);
  if (rr) out.regexRewrite = rr;
  return out;
}

function actionKind(route: Obj, field: string): RouteActionKind {
  switch (route['action']) {
    case 'route':
      return { type: 'route', route: routeAction(obj(route['route']), `${field}.route`) };
    case 'redirect':
      return { type: 'redirect', redirect: redirect(obj(route['redirect']), `${field}.redirect`) };
    case 'direct_response': {
      const d = obj(route['direct_response']);
      const status = num(d['status']);
      if (status < 200 || status >= 600) invalid(`${field}.direct_response.status`, `${status} is not in [200, 600)`);
      const body = obj(d['body']);
      const text = has(body, 'inline_string') ? str(body['inline_string']) : Buffer.isBuffer(body['inline_bytes']) ? (body['inline_bytes'] as Buffer).toString() : undefined;
      if (has(body, 'filename') || has(body, 'environment_variable')) invalid(`${field}.direct_response.body`, 'only inline bodies are supported');
      return { type: 'directResponse', status, ...(text === undefined ? {} : { body: text }) };
    }
    case 'non_forwarding_action':
      return { type: 'nonForwarding' };
    default:
      return invalid(`${field}.action`, `unsupported route action ${JSON.stringify(route['action'] ?? 'none')}`);
  }
}

function route(r: Obj, field: string): Route {
  if (!has(r, 'match')) invalid(`${field}.match`, 'is required');
  const decorator = str(obj(r['decorator'])['operation']);
  return {
    name: str(r['name']),
    match: routeMatch(obj(r['match']), `${field}.match`),
    action: actionKind(r, field),
    typedPerFilterConfig: decodeTypedPerFilterConfig(r['typed_per_filter_config'], `${field}.typed_per_filter_config`),
    ...headerMutations(r, field),
    ...(decorator ? { decoratorOperation: decorator } : {}),
  };
}

function virtualHost(v: Obj, field: string): VirtualHost {
  const domains = arr(v['domains']).map((d) => String(d).toLowerCase());
  if (domains.length === 0) invalid(`${field}.domains`, 'must hold at least one domain');
  domains.forEach((d, i) => {
    const stars = d.split('*').length - 1;
    if (d === '' || stars > 1 || (stars === 1 && d !== '*' && !d.startsWith('*') && !d.endsWith('*'))) {
      invalid(`${field}.domains[${i}]`, `invalid domain pattern ${JSON.stringify(d)}`);
    }
  });
  return {
    name: str(v['name']),
    domains,
    routes: arr(v['routes']).map((r, i) => route(r, `${field}.routes[${i}]`)),
    typedPerFilterConfig: decodeTypedPerFilterConfig(v['typed_per_filter_config'], `${field}.typed_per_filter_config`),
    ...headerMutations(v, field),
    ...(has(v, 'retry_policy') ? { retryPolicy: retryPolicy(v['retry_policy'], `${field}.retry_policy`) } : {}),
    includeRequestAttemptCount: v['include_request_attempt_count'] === true,
  };
}

/** Validates a decoded RouteConfiguration message (shared by RDS and inline HCM route configs). */
export function routeConfigurationFrom(m: Obj, field = ''): RouteConfiguration {
  const prefix = field === '' ? '' : `${field}.`;
  return {
    name: str(m['name']),
    virtualHosts: arr(m['virtual_hosts']).map((v, i) => virtualHost(v, `${prefix}virtual_hosts[${i}]`)),
    ...headerMutations(m, field || 'route_configuration'),
  };
}

/** Decodes one RDS resource (already unpacked from its `Any`). Never throws. */
export function decodeRouteConfiguration(message: Obj): DecodeResult<RouteConfiguration> {
  return decodeSafely(() => routeConfigurationFrom(message));
}
