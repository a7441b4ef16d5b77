/**
 * LDS generator: one API listener per service port, named `host:port` as istiod names them for
 * proxyless gRPC, holding an HttpConnectionManager that fetches its RouteConfiguration (same
 * name) over ADS, with the outbound local rate limit (SIDECAR_OUTBOUND EnvoyFilter), the fault
 * filter when any route injects faults and the router last, and `tracing.random_sampling` when a
 * Telemetry resource sets a sampling percentage for the client.
 */
import { TypeUrl } from '@weft/xds-client';
import { packResource } from './pack.ts';
import { listenerName } from '../names.ts';
import type { GeneratedResource, GeneratorContext } from './types.ts';
import { outboundRateLimitFilter } from './local-rate-limit.ts';

/** The type URL this generator produces. */
export const LISTENER_TYPE_URL = TypeUrl.listener;

/** What an API listener's HttpConnectionManager holds besides the route config name. */
export interface ListenerFilters {
  /** Add the fault filter (some route of the host injects faults). */
  hasFault: boolean;
  /** `tracing.random_sampling` (0–100), from a Telemetry resource. */
  samplingPercent?: number;
  /** The outbound `envoy.filters.http.local_ratelimit` filter, from a SIDECAR_OUTBOUND EnvoyFilter. */
  rateLimit?: Record<string, unknown>;
}

/** Builds the API listener for a service port, under `name` (an alias may differ from `host:port`). */
export function buildListener(name: string, routeConfigName: string, filters: ListenerFilters): GeneratedResource {
  const httpFilters: Record<string, unknown>[] = [];
  if (filters.rateLimit) httpFilters.push(filters.rateLimit);
  if (filters.hasFault) httpFilters.push({ name: 'envoy.filters.http.fault', typed_config: packResource(TypeUrl.fault, {}) });
  httpFilters.push({ name: 'envoy.filters.http.router', typed_config: packResource(TypeUrl.router, {}) });
  const hcm = {
    stat_prefix: name,
    rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: routeConfigName },
    http_filters: httpFilters,
    ...(filters.samplingPercent !== undefined ? { tracing: { random_sampling: { value: filters.samplingPercent } } } : {}),
  };
  return {
    name,
    message: { name, api_listener: { api_listener: packResource(TypeUrl.httpConnectionManager, hcm) } },
  };
}

/** True when the VirtualService for the host injects faults on any route. */
export function hostHasFault(ctx: GeneratorContext, hostname: string): boolean {
  return (ctx.index.virtualServiceFor(hostname)?.spec.http ?? []).some((r) => r.fault?.delay || r.fault?.abort);
}

// The outbound rate limit is the same for every API listener of a view: built (and its omissions
// recorded) once per generator context, not once per listener.
const outboundRateLimits = new WeakMap<GeneratorContext, { filter: Record<string, unknown> | undefined }>();

function outboundRateLimitOf(ctx: GeneratorContext): Record<string, unknown> | undefined {
  const namespace = ctx.index.namespace;
  if (namespace === undefined) return undefined;
  let memo = outboundRateLimits.get(ctx);
  if (memo === undefined) {
    memo = { filter: outboundRateLimitFilter(ctx.index.model, namespace, `API listeners of namespace ${namespace}`, ctx.omit) };
    outboundRateLimits.set(ctx, memo);
  }
  return memo.filter;
}

/** The filters of an API listener for `hostname`, as the client of `ctx` sees them. */
export function listenerFilters(ctx: GeneratorContext, hostname: string): ListenerFilters {
  return { hasFault: hostHasFault(ctx, hostname), samplingPercent: ctx.index.tracingSamplingPercent, rateLimit: outboundRateLimitOf(ctx) };
}

/** Every API listener of the model, one per service port. */
export function generateListeners(ctx: GeneratorContext): GeneratedResource[] {
  const out: GeneratedResource[] = [];
  for (const svc of ctx.index.services) {
    for (const port of svc.ports) {
      const name = listenerName(svc.hostname, port.number);
      out.push(buildListener(name, name, listenerFilters(ctx, svc.hostname)));
    }
  }
  return out;
}
