/**
 * The effective config of an HTTP filter for one routed request: the listener's filter config,
 * overridden by the virtual host's, then the route's, then the weighted cluster's
 * `typed_per_filter_config` entry of the same filter instance name (`disabled` turns it off).
 */
import type { FilterOverride, HttpFilterConfig } from '@weft/xds-client';
import type { MeshRequestContext } from './request-context.ts';

/** One active filter instance and its effective config. */
export interface EffectiveFilter<T extends HttpFilterConfig['type']> {
  readonly name: string;
  readonly config: Extract<HttpFilterConfig, { type: T }>;
}

/** The effective configs of every filter of `type` in the listener chain, in order. */
export function effectiveFilters<T extends HttpFilterConfig['type']>(ctx: MeshRequestContext, type: T): EffectiveFilter<T>[] {
  const filters = ctx.host.httpFilters;
  if (filters.length <= 1) return NONE as unknown as EffectiveFilter<T>[];
  const out: EffectiveFilter<T>[] = [];
  for (let i = 0; i < filters.length; i++) {
    const f = filters[i]!;
    if (f.config.type !== type) continue;
    const weighted = ctx.route.weightedCluster(ctx.clusterName);
    const o: FilterOverride | undefined =
      weighted?.typedPerFilterConfig.get(f.name) ?? ctx.route.spec.typedPerFilterConfig.get(f.name) ?? ctx.route.virtualHost.spec.typedPerFilterConfig.get(f.name);
    if (o?.type === 'disabled') continue;
    const config = (o !== undefined && o.type === type ? o : f.config) as Extract<HttpFilterConfig, { type: T }>;
    out.push({ name: f.name, config });
  }
  return out;
}

const NONE: EffectiveFilter<never>[] = [];
