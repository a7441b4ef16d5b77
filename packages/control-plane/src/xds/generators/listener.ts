/**
 * LDS generator: one API listener per service port, named `host:port` as istiod names them for
 * proxyless gRPC, holding an HttpConnectionManager that fetches its RouteConfiguration (same
 * name) over ADS, with the fault filter when any route injects faults and the router last, and
 * `tracing.random_sampling` when a Telemetry resource sets a sampling percentage for the client.
 */
import { TypeUrl } from '@weft/xds-client';
import { packResource } from './pack.ts';
import { listenerName } from '../names.ts';
import type { GeneratedResource, GeneratorContext } from './types.ts';

/** The type URL this generator produces. */
export const LISTENER_TYPE_URL = TypeUrl.listener;

/**
 * Builds the API listener for a service port, under `name` (an alias may differ from
 * `host:port`); `samplingPercent` (0–100) becomes the HCM's `tracing.random_sampling`.
 */
export function buildListener(name: string, routeConfigName: string, hasFault: boolean, samplingPercent?: number): GeneratedResource {
  const httpFilters: Record<string, unknown>[] = [];
  if (hasFault) httpFilters.push({ name: 'envoy.filters.http.fault', typed_config: packResource(TypeUrl.fault, {}) });
  httpFilters.push({ name: 'envoy.filters.http.router', typed_config: packResource(TypeUrl.router, {}) });
  const hcm = {
    stat_prefix: name,
    rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: routeConfigName },
    http_filters: httpFilters,
    ...(samplingPercent !== undefined ? { tracing: { random_sampling: { value: samplingPercent } } } : {}),
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

/** Every API listener of the model, one per service port. */
export function generateListeners(ctx: GeneratorContext): GeneratedResource[] {
  const out: GeneratedResource[] = [];
  for (const svc of ctx.index.services) {
    const hasFault = hostHasFault(ctx, svc.hostname);
    for (const port of svc.ports) {
      const name = listenerName(svc.hostname, port.number);
      out.push(buildListener(name, name, hasFault, ctx.index.tracingSamplingPercent));
    }
  }
  return out;
}
