/**
 * RDS generator: one RouteConfiguration per service port, named `host:port` like its listener,
 * with one virtual host whose domains are every name a client may use for the service. Routes
 * come from the VirtualService `http[]` in order (one Envoy route per `match` entry); a service
 * without a VirtualService gets a default route to its whole-service cluster.
 */
import { TypeUrl } from '@weft/xds-client';
import { packResource } from './pack.ts';
import type { ServiceModel } from '../../model/mesh-model.ts';
import { fractionalPercent, protoDuration } from '../durations.ts';
import { clusterName, hostAliases, listenerName } from '../names.ts';
import type { DestinationView, HttpRouteView } from './istio-views.ts';
import { routeMatch } from './route-match.ts';
import type { GeneratedResource, GeneratorContext } from './types.ts';

/** The type URL this generator produces. */
export const ROUTE_TYPE_URL = TypeUrl.routeConfiguration;

/** Istio's default retry policy when a route sets none (2 attempts on connection-level failures). */
export const DEFAULT_RETRY_ON = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';
const DEFAULT_RETRY_ATTEMPTS = 2;

const GRPC_CODES: Record<string, number> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

function destinationCluster(ctx: GeneratorContext, vsNamespace: string, svc: ServiceModel, port: number, dest: DestinationView): string {
  const host = ctx.index.resolve(dest.host, vsNamespace);
  let destPort = dest.port?.number;
  if (destPort === undefined) {
    const target = ctx.index.model.services.get(host);
    destPort = host === svc.hostname || !target || target.ports.length !== 1 ? port : target.ports[0]?.number ?? port;
  }
  return clusterName(host, destPort, dest.subset ?? '');
}

function hashPolicy(ctx: GeneratorContext, hostname: string): Record<string, unknown>[] | undefined {
  const ch = ctx.index.trafficPolicyFor(hostname, 0, '').loadBalancer?.consistentHash;
  if (!ch) return undefined;
  if (ch.httpHeaderName) return [{ header: { header_name: ch.httpHeaderName.toLowerCase() } }];
  if (ch.httpCookie) return [{ cookie: { name: ch.httpCookie.name, ...(ch.httpCookie.path ? { path: ch.httpCookie.path } : {}), ...(protoDuration(ch.httpCookie.ttl) ? { ttl: protoDuration(ch.httpCookie.ttl) } : {}) } }];
  if (ch.useSourceIp) return [{ connection_properties: { source_ip: true } }];
  if (ch.httpQueryParameterName) return [{ query_parameter: { name: ch.httpQueryParameterName } }];
  return undefined;
}

function faultConfig(rule: HttpRouteView): Record<string, unknown> | undefined {
  const f = rule.fault;
  if (!f?.delay && !f?.abort) return undefined;
  const out: Record<string, unknown> = {};
  if (f.delay) {
    const delay = protoDuration(f.delay.fixedDelay);
    const pct = f.delay.percentage?.value ?? f.delay.percent ?? 100;
    if (delay) out.delay = { fixed_delay: delay, percentage: fractionalPercent(pct) };
  }
  if (f.abort) {
    const pct = fractionalPercent(f.abort.percentage?.value ?? 100);
    if (f.abort.grpcStatus !== undefined) {
      const code = GRPC_CODES[f.abort.grpcStatus.toUpperCase()] ?? Number(f.abort.grpcStatus);
      out.abort = { grpc_status: Number.isInteger(code) ? code : 14, percentage: pct };
    } else if (f.abort.httpStatus !== undefined) {
      out.abort = { http_status: f.abort.httpStatus, percentage: pct };
    }
  }
  return out;
}

function routeAction(ctx: GeneratorContext, vsNamespace: string, svc: ServiceModel, port: number, rule: HttpRouteView, name: string): Record<string, unknown> {
  const dests = (rule.route ?? []).map((r) => ({ cluster: destinationCluster(ctx, vsNamespace, svc, port, r.destination), weight: r.weight }));
  const action: Record<string, unknown> = {};
  if (dests.length === 1) action.cluster = dests[0]?.cluster;
  else {
    const weighted = dests.filter((d) => (d.weight ?? 0) > 0);
    action.weighted_clusters = { clusters: weighted.map((d) => ({ name: d.cluster, weight: { value: d.weight } })) };
  }
  const timeout = protoDuration(rule.timeout);
  if (timeout) action.timeout = timeout;
  const attempts = rule.retries ? (rule.retries.attempts ?? 0) : DEFAULT_RETRY_ATTEMPTS;
  if (attempts > 0) {
    const retry: Record<string, unknown> = { retry_on: rule.retries?.retryOn ?? DEFAULT_RETRY_ON, num_retries: { value: attempts } };
    const perTry = protoDuration(rule.retries?.perTryTimeout);
    if (perTry) retry.per_try_timeout = perTry;
    action.retry_policy = retry;
  }
  const firstHost = (rule.route ?? [])[0]?.destination.host;
  const hash = firstHost ? hashPolicy(ctx, ctx.index.resolve(firstHost, vsNamespace)) : undefined;
  if (hash) action.hash_policy = hash;
  if (rule.rewrite?.uri !== undefined) action.prefix_rewrite = rule.rewrite.uri;
  if (rule.rewrite?.authority !== undefined) action.host_rewrite_literal = rule.rewrite.authority;
  if (rule.mirror) {
    if (ctx.caps.hasMirroring) {
      const pct = rule.mirrorPercentage?.value ?? 100;
      action.request_mirror_policies = [{ cluster: destinationCluster(ctx, vsNamespace, svc, port, rule.mirror), runtime_fraction: { default_value: fractionalPercent(pct) } }];
    } else {
      ctx.omit({ type: 'route', resource: name, field: 'http[].mirror', reason: `${ctx.caps.kind} clients do not mirror traffic` });
    }
  }
  return action;
}

function redirectAction(rule: HttpRouteView): Record<string, unknown> {
  const r = rule.redirect ?? {};
  const codes: Record<number, string> = { 301: 'MOVED_PERMANENTLY', 302: 'FOUND', 303: 'SEE_OTHER', 307: 'TEMPORARY_REDIRECT', 308: 'PERMANENT_REDIRECT' };
  return {
    ...(r.uri !== undefined ? { path_redirect: r.uri } : {}),
    ...(r.authority !== undefined ? { host_redirect: r.authority } : {}),
    ...(r.scheme !== undefined ? { scheme_redirect: r.scheme } : {}),
    response_code: codes[r.redirectCode ?? 301] ?? 'MOVED_PERMANENTLY',
  };
}

/** Builds the RouteConfiguration of one service port. */
export function buildRouteConfiguration(ctx: GeneratorContext, svc: ServiceModel, port: number): GeneratedResource {
  const name = listenerName(svc.hostname, port);
  const vs = ctx.index.virtualServiceFor(svc.hostname);
  const routes: Record<string, unknown>[] = [];
  if (!vs) {
    routes.push({ name: 'default', match: { prefix: '/' }, route: routeAction(ctx, svc.namespace, svc, port, { route: [{ destination: { host: svc.hostname } }] }, name) });
  }
  for (const [i, rule] of (vs?.spec.http ?? []).entries()) {
    const matches = rule.match?.length ? rule.match : [undefined];
    const isRedirect = rule.redirect !== undefined || rule.directResponse !== undefined;
    if (isRedirect && !ctx.caps.hasRedirectAndDirectResponse) {
      ctx.omit({ type: 'route', resource: name, field: `VirtualService ${vs?.id} http[${i}].${rule.redirect ? 'redirect' : 'directResponse'}`, reason: `${ctx.caps.kind} clients reject a RouteConfiguration holding it; route left out` });
      continue;
    }
    if (rule.corsPolicy || rule.headers) {
      ctx.omit({ type: 'route', resource: name, field: `VirtualService ${vs?.id} http[${i}].${rule.corsPolicy ? 'corsPolicy' : 'headers'}`, reason: 'not applied by the proxyless data plane' });
    }
    const fault = faultConfig(rule);
    for (const [j, m] of matches.entries()) {
      const match = routeMatch(m, port);
      if (!match) continue;
      const route: Record<string, unknown> = { name: rule.name ?? m?.name ?? `${vs?.id}/http[${i}]${matches.length > 1 ? `/match[${j}]` : ''}`, match };
      if (rule.redirect) route.redirect = redirectAction(rule);
      else if (rule.directResponse) {
        const body = rule.directResponse.body?.string;
        route.direct_response = { status: rule.directResponse.status, ...(body !== undefined ? { body: { inline_string: body } } : {}) };
      } else route.route = routeAction(ctx, vs?.namespace ?? svc.namespace, svc, port, rule, name);
      if (fault) route.typed_per_filter_config = { 'envoy.filters.http.fault': packResource(TypeUrl.fault, fault) };
      routes.push(route);
    }
  }
  const domains = hostAliases(svc.hostname, port, ctx.index.model.domainSuffix);
  return { name, message: { name, virtual_hosts: [{ name, domains, routes }] } };
}

/** Every RouteConfiguration of the model, one per service port. */
export function generateRoutes(ctx: GeneratorContext): GeneratedResource[] {
  const out: GeneratedResource[] = [];
  for (const svc of ctx.index.services) for (const port of svc.ports) out.push(buildRouteConfiguration(ctx, svc, port.number));
  return out;
}
