/**
 * Decoding of HTTP filter configs (gRFC A39): the top-level `http_filters` of an
 * HttpConnectionManager and the `typed_per_filter_config` overrides on virtual hosts, routes and
 * weighted clusters. Supported: router, fault (A33), RBAC (A41), local rate limit.
 * An unsupported filter is an error unless it is marked optional, in which case it is dropped.
 */
import { xdsRoot, TypeUrl, unpackAny, type AnyMessage } from '../protos.ts';
import {
  arr,
  cidrRange,
  durationMs,
  fractionalPercent,
  has,
  headerMatcher,
  headerValueOptions,
  invalid,
  num,
  obj,
  str,
  stringMatcher,
  unwrapTypedConfig,
  wrapped,
  type Obj,
} from './common.ts';
import type {
  FaultFilterConfig,
  FilterOverride,
  HttpFilter,
  HttpFilterConfig,
  LocalRateLimitFilterConfig,
  RbacFilterConfig,
  RbacPermission,
  RbacPolicy,
  RbacPrincipal,
  RbacRules,
  TypedPerFilterConfig,
} from './types.ts';

const FILTER_CONFIG_URL = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
const HUNDRED_PERCENT = { numerator: 100, denominator: 100 } as const;
const ZERO_PERCENT = { numerator: 0, denominator: 100 } as const;

function fault(m: Obj, field: string): FaultFilterConfig {
  const result: { -readonly [K in keyof FaultFilterConfig]: FaultFilterConfig[K] } = {
    headers: arr(m['headers']).map((h, i) => headerMatcher(h, `${field}.headers[${i}]`)),
    downstreamNodes: arr(m['downstream_nodes']).map(String),
  };
  if (has(m, 'delay')) {
    const d = obj(m['delay']);
    const fixedDelayMs = durationMs(d['fixed_delay'], `${field}.delay.fixed_delay`);
    const headerDelay = has(d, 'header_delay');
    if (fixedDelayMs === undefined && !headerDelay) invalid(`${field}.delay`, 'needs fixed_delay or header_delay');
    result.delay = {
      ...(fixedDelayMs === undefined ? {} : { fixedDelayMs }),
      headerDelay,
      percentage: fractionalPercent(d['percentage'], HUNDRED_PERCENT),
    };
  }
  if (has(m, 'abort')) {
    const a = obj(m['abort']);
    const httpStatus = has(a, 'http_status') ? num(a['http_status']) : undefined;
    const grpcStatus = has(a, 'grpc_status') ? num(a['grpc_status']) : undefined;
    const headerAbort = has(a, 'header_abort');
    if (httpStatus !== undefined && (httpStatus < 200 || httpStatus >= 600)) {
      invalid(`${field}.abort.http_status`, `${httpStatus} is not in [200, 600)`);
    }
    if (httpStatus === undefined && grpcStatus === undefined && !headerAbort) {
      invalid(`${field}.abort`, 'needs http_status, grpc_status or header_abort');
    }
    result.abort = {
      ...(httpStatus === undefined ? {} : { httpStatus }),
      ...(grpcStatus === undefined ? {} : { grpcStatus }),
      headerAbort,
      percentage: fractionalPercent(a['percentage'], HUNDRED_PERCENT),
    };
  }
  const maxActiveFaults = wrapped(m['max_active_faults']);
  if (maxActiveFaults !== undefined) result.maxActiveFaults = maxActiveFaults;
  if (str(m['upstream_cluster']) !== '') result.upstreamCluster = str(m['upstream_cluster']);
  return result;
}

function permission(p: Obj, field: string): RbacPermission {
  const rules = (key: string): RbacPermission[] =>
    arr(obj(p[key])['rules']).map((r, i) => permission(r, `${field}.${key}.rules[${i}]`));
  if (p['any'] === true) return { type: 'any' };
  if (has(p, 'and_rules')) return { type: 'and', rules: rules('and_rules') };
  if (has(p, 'or_rules')) return { type: 'or', rules: rules('or_rules') };
  if (has(p, 'not_rule')) return { type: 'not', rule: permission(obj(p['not_rule']), `${field}.not_rule`) };
  if (has(p, 'header')) return { type: 'header', header: headerMatcher(p['header'], `${field}.header`) };
  if (has(p, 'url_path')) return { type: 'urlPath', path: stringMatcher(obj(p['url_path'])['path'], `${field}.url_path.path`) };
  if (has(p, 'destination_ip')) return { type: 'destinationIp', cidr: cidrRange(p['destination_ip'], `${field}.destination_ip`) };
  if (has(p, 'destination_port')) return { type: 'destinationPort', port: num(p['destination_port']) };
  if (has(p, 'destination_port_range')) {
    const r = obj(p['destination_port_range']);
    return { type: 'destinationPortRange', start: num(r['start']), end: num(r['end']) };
  }
  if (has(p, 'requested_server_name')) {
    return { type: 'requestedServerName', matcher: stringMatcher(p['requested_server_name'], `${field}.requested_server_name`) };
  }
  return invalid(field, `unsupported permission rule ${JSON.stringify(Object.keys(p))}`);
}

function principal(p: Obj, field: string): RbacPrincipal {
  const ids = (key: string): RbacPrincipal[] => arr(obj(p[key])['ids']).map((r, i) => principal(r, `${field}.${key}.ids[${i}]`));
  if (p['any'] === true) return { type: 'any' };
  if (has(p, 'and_ids')) return { type: 'and', ids: ids('and_ids') };
  if (has(p, 'or_ids')) return { type: 'or', ids: ids('or_ids') };
  if (has(p, 'not_id')) return { type: 'not', id: principal(obj(p['not_id']), `${field}.not_id`) };
  if (has(p, 'authenticated')) {
    const a = obj(p['authenticated']);
    return has(a, 'principal_name')
      ? { type: 'authenticated', principalName: stringMatcher(a['principal_name'], `${field}.authenticated.principal_name`) }
      : { type: 'authenticated' };
  }
  for (const [key, type] of [['source_ip', 'sourceIp'], ['direct_remote_ip', 'directRemoteIp'], ['remote_ip', 'remoteIp']] as const) {
    if (has(p, key)) return { type, cidr: cidrRange(p[key], `${field}.${key}`) };
  }
  if (has(p, 'header')) return { type: 'header', header: headerMatcher(p['header'], `${field}.header`) };
  if (has(p, 'url_path')) return { type: 'urlPath', path: stringMatcher(obj(p['url_path'])['path'], `${field}.url_path.path`) };
  return invalid(field, `unsupported principal ${JSON.stringify(Object.keys(p))}`);
}

function rbacRules(value: unknown, field: string): RbacRules {
  const o = obj(value);
  const action = (str(o['action']) || 'ALLOW') as RbacRules['action'];
  const policies = new Map<string, RbacPolicy>();
  for (const name of Object.keys(obj(o['policies'])).sort()) {
    const p = obj(obj(o['policies'])[name]);
    const pf = `${field}.policies[${JSON.stringify(name)}]`;
    if (has(p, 'condition') || has(p, 'checked_condition')) invalid(`${pf}.condition`, 'CEL conditions are not supported');
    policies.set(name, {
      permissions: arr(p['permissions']).map((x, i) => permission(x, `${pf}.permissions[${i}]`)),
      principals: arr(p['principals']).map((x, i) => principal(x, `${pf}.principals[${i}]`)),
    });
  }
  return { action, policies };
}

function rbac(m: Obj, field: string): RbacFilterConfig {
  const out: { rules?: RbacRules; shadowRules?: RbacRules } = {};
  if (has(m, 'rules')) out.rules = rbacRules(m['rules'], `${field}.rules`);
  if (has(m, 'shadow_rules')) out.shadowRules = rbacRules(m['shadow_rules'], `${field}.shadow_rules`);
  return out;
}

function httpStatusCode(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  if (typeof value === 'string') return xdsRoot().lookupEnum('envoy.type.v3.StatusCode').values[value] ?? 429;
  return 429;
}

function localRateLimit(m: Obj, field: string): LocalRateLimitFilterConfig {
  const statPrefix = str(m['stat_prefix']);
  if (statPrefix === '') invalid(`${field}.stat_prefix`, 'must not be empty');
  const out: { -readonly [K in keyof LocalRateLimitFilterConfig]: LocalRateLimitFilterConfig[K] } = {
    statPrefix,
    filterEnabled: fractionalPercent(obj(m['filter_enabled'])['default_value'], ZERO_PERCENT),
    filterEnforced: fractionalPercent(obj(m['filter_enforced'])['default_value'], ZERO_PERCENT),
    statusCode: has(m, 'status') ? httpStatusCode(obj(m['status'])['code']) : 429,
    responseHeadersToAdd: headerValueOptions(m['response_headers_to_add'], `${field}.response_headers_to_add`),
    requestHeadersToAddWhenNotEnforced: headerValueOptions(
      m['request_headers_to_add_when_not_enforced'],
      `${field}.request_headers_to_add_when_not_enforced`,
    ),
    localRateLimitPerDownstreamConnection: m['local_rate_limit_per_downstream_connection'] === true,
    enableXRatelimitHeaders: m['enable_x_ratelimit_headers'] === 'DRAFT_VERSION_03' ? 'DRAFT_VERSION_03' : 'OFF',
    rateLimitedAsResourceExhausted: m['rate_limited_as_resource_exhausted'] === true,
  };
  if (has(m, 'token_bucket')) {
    const b = obj(m['token_bucket']);
    const maxTokens = num(b['max_tokens']);
    const tokensPerFill = wrapped(b['tokens_per_fill']) ?? 1;
    const fillIntervalMs = durationMs(b['fill_interval'], `${field}.token_bucket.fill_interval`) ?? 0;
    if (maxTokens < 1) invalid(`${field}.token_bucket.max_tokens`, 'must be at least 1');
    if (fillIntervalMs <= 0) invalid(`${field}.token_bucket.fill_interval`, 'must be positive');
    out.tokenBucket = { maxTokens, tokensPerFill, fillIntervalMs };
  }
  return out;
}

/**
 * Decodes one filter config. Returns undefined when the type is not supported (the caller
 * applies the optional/required rule). `isOverride` selects the per-route message types.
 */
function filterConfig(typedConfig: unknown, field: string, isOverride: boolean): HttpFilterConfig | { type: 'disabled' } | undefined {
  let { typeUrl, message } = unwrapTypedConfig(typedConfig, field);
  switch (typeUrl) {
    case TypeUrl.router:
      return isOverride ? undefined : { type: 'router' };
    case TypeUrl.fault:
      return { type: 'fault', fault: fault(message, field) };
    case TypeUrl.rbac:
      return { type: 'rbac', rbac: rbac(message, field) };
    case TypeUrl.rbacPerRoute:
      if (!isOverride) return undefined;
      message = obj(message['rbac']);
      return { type: 'rbac', rbac: rbac(message, `${field}.rbac`) };
    case TypeUrl.localRateLimit:
      return { type: 'localRateLimit', localRateLimit: localRateLimit(message, field) };
    default:
      return undefined;
  }
}

/**
 * `HttpConnectionManager.http_filters` (A39): names unique and non-empty, the router last and
 * only last, unsupported filters rejected unless `is_optional`.
 */
export function decodeHttpFilters(value: unknown, field: string): HttpFilter[] {
  const filters: HttpFilter[] = [];
  const names = new Set<string>();
  const list = arr(value);
  list.forEach((f, i) => {
    const ff = `${field}[${i}]`;
    const name = str(f['name']);
    if (name === '') invalid(`${ff}.name`, 'must not be empty');
    if (names.has(name)) invalid(`${ff}.name`, `duplicate filter name ${JSON.stringify(name)}`);
    names.add(name);
    const isOptional = f['is_optional'] === true;
    if (!has(f, 'typed_config')) {
      if (isOptional) return;
      invalid(`${ff}.typed_config`, `filter ${JSON.stringify(name)} has no typed_config`);
    }
    const config = filterConfig(f['typed_config'], `${ff}.typed_config`, false);
    if (config === undefined || config.type === 'disabled') {
      if (isOptional) return;
      invalid(`${ff}.typed_config`, `unsupported filter ${JSON.stringify(name)} of type ${str(obj(f['typed_config'])['type_url'])}`);
    }
    filters.push({ name, config, isOptional });
  });
  const routerIndex = filters.findIndex((f) => f.config.type === 'router');
  if (routerIndex === -1) invalid(field, 'the router filter is missing');
  if (routerIndex !== filters.length - 1) invalid(`${field}[${routerIndex}]`, 'the router filter must be last');
  return filters;
}

/**
 * `typed_per_filter_config` map: filter instance name → override. Unsupported types are errors
 * unless the entry is an optional `FilterConfig`; a `FilterConfig` with `disabled` disables it.
 */
export function decodeTypedPerFilterConfig(value: unknown, field: string): TypedPerFilterConfig {
  const out = new Map<string, FilterOverride>();
  for (const [name, any] of Object.entries(obj(value))) {
    const ff = `${field}[${JSON.stringify(name)}]`;
    let config: ReturnType<typeof filterConfig>;
    if (str(obj(any)['type_url']) === FILTER_CONFIG_URL) {
      const wrapper = unpackAny(obj(any) as unknown as AnyMessage);
      if (wrapper['disabled'] === true) {
        out.set(name, { type: 'disabled' });
        continue;
      }
      config = has(wrapper, 'config') ? filterConfig(wrapper['config'], `${ff}.config`, true) : undefined;
      if (config === undefined && wrapper['is_optional'] === true) continue;
    } else {
      config = filterConfig(any, ff, true);
    }
    if (config === undefined) {
      invalid(ff, `unsupported filter override of type ${str(obj(any)['type_url'])}`);
    }
    if (config.type === 'router') continue;
    out.set(name, config);
  }
  return out;
}
