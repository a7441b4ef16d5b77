/**
 * grpc-js's per-call routing hook: for each call, match the route (service/method path and
 * metadata, via core's route table), draw the cluster (weighted clusters), and hand grpc-js the
 * call's method config, dynamic filters and pick information (`cluster`, read by the Weft LB
 * policy's picker). Failures become a reject filter with a detailed UNAVAILABLE status.
 */
import { Metadata, status as Status } from '@grpc/grpc-js';
import type { experimental } from '@grpc/grpc-js';
import { ErrorCode, MeshError } from '@weft/xds-client';
import { RequestHasher } from './core-imports.ts';
import type { CompiledRoute, Hasher, RequestFacts } from './core-imports.ts';
import { rejectFilterFactory } from './call-filters.ts';
import { buildCallPlan } from './call-plan.ts';
import type { CallConfig, CallPlan } from './call-plan.ts';
import type { ClientSnapshot } from './client-snapshot.ts';
import { statusFromMeshError } from './grpc-status.ts';
import { telemetryClientFilterFactory } from './telemetry-client-filter.ts';
import type { MeshTelemetry } from '@weft/core';

/** Keys of the pick information a Weft call carries to the picker. */
export const PickInfoKey = {
  cluster: 'weft.cluster',
  /** Comma-separated `ip:port` keys of hosts already tried (only when retries avoid them). */
  triedHosts: 'weft.tried',
  /** Request hash for ring hash / Maglev (decimal), when the route has hash policies. */
  hash: 'weft.hash',
  /** The method path, so a pick can re-route when a config update retired the call's cluster. */
  path: 'weft.path',
  /** Per-try timeout of the call's retry policy (ms, decimal), when set. */
  perTryTimeoutMs: 'weft.per_try_timeout_ms',
} as const;

/**
 * Routes a call on `snapshot` again (same rules as the ConfigSelector) and returns the cluster,
 * or undefined when nothing routes it. Used by the picker when a config update landed between
 * routing and picking and the chosen cluster no longer exists.
 */
export function rerouteCluster(snapshot: ClientSnapshot, path: string, metadata: Metadata): string | undefined {
  const facts = callFacts(path, snapshot.authority, metadata);
  const route = snapshot.routeTable.match(snapshot.authority, facts);
  if (route === undefined || route.spec.action.type !== 'route') return undefined;
  return route.chooseCluster(facts);
}

function reject(error: MeshError): CallConfig {
  return { methodConfig: { name: [] }, pickInformation: {}, status: Status.OK, dynamicFilterFactories: [rejectFilterFactory(statusFromMeshError(error))] };
}

const NO_METADATA_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/grpc', te: 'trailers' });

/** True when no route matches on, or hashes, a header: routing then never reads call metadata. */
function isMetadataFree(snapshot: ClientSnapshot): boolean {
  for (const vh of snapshot.config.routeConfig.virtualHosts) {
    for (const r of vh.routes) {
      if (r.match.headers.length > 0 || r.match.queryParameters.length > 0) return false;
      if (r.action.type === 'route' && (r.action.route.hashPolicies.length > 0 || r.action.route.clusterSpecifier.type === 'clusterHeader')) return false;
    }
  }
  return true;
}

/** Request facts of a gRPC call: POST to the method path with the call metadata as headers. */
function callFacts(path: string, authority: string, metadata: Metadata | undefined): RequestFacts {
  if (metadata === undefined) return { method: 'POST', path, headers: NO_METADATA_HEADERS, authority };
  const headers: Record<string, string> = { 'content-type': 'application/grpc', te: 'trailers' };
  const map = metadata.getMap();
  for (const k in map) {
    const v = map[k];
    if (typeof v === 'string') headers[k] = v;
  }
  return { method: 'POST', path, headers, authority };
}

interface RoutePlans {
  readonly hasher: RequestHasher | undefined;
  readonly byClusterAndPath: Map<string, CallPlan>;
}

/**
 * Creates the ConfigSelector of one snapshot; `hasher` is present when ring hash / Maglev may
 * be used. With `telemetry`, every routed call gets the client telemetry filter first
 * (metrics, span, trace and metadata-exchange headers, access log, load stats).
 */
export function createConfigSelector(snapshot: ClientSnapshot, hasher: Hasher | undefined, telemetry?: MeshTelemetry): experimental.ConfigSelector {
  const plans = new Map<CompiledRoute, RoutePlans>();
  const authority = snapshot.authority;
  const isMetadataIgnored = isMetadataFree(snapshot);
  // The channel's authority is fixed, so its virtual host is found once per snapshot.
  const virtualHost = snapshot.routeTable.virtualHostFor(authority);
  return {
    invoke(methodName: string, metadata: Metadata): CallConfig {
      const facts = callFacts(methodName, authority, isMetadataIgnored ? undefined : metadata);
      const route = virtualHost === undefined ? undefined : snapshot.routeTable.matchInVirtualHost(virtualHost, facts);
      if (route === undefined) {
        return reject(new MeshError(ErrorCode.noRoute, `no route for ${methodName} on ${authority} (route_config ${snapshot.config.routeConfig.name})`, { responseFlag: 'NR', details: { path: methodName, host: authority } }));
      }
      if (route.spec.action.type !== 'route') {
        return reject(new MeshError(ErrorCode.noRoute, `route ${route.spec.name || route.index} for ${methodName} on ${authority} does not forward (${route.spec.action.type})`, { responseFlag: 'NR', details: { path: methodName, host: authority } }));
      }
      const cluster = route.chooseCluster(facts);
      if (cluster === undefined) {
        return reject(new MeshError(ErrorCode.noRoute, `route ${route.spec.name || route.index} for ${methodName} on ${authority} names no cluster`, { responseFlag: 'NR', details: { path: methodName, host: authority } }));
      }
      const runtime = snapshot.clusters.get(cluster);
      if (runtime === undefined || runtime.error !== undefined) {
        return reject(runtime?.error ?? new MeshError(ErrorCode.noHealthyUpstream, `cluster ${cluster} for ${authority} is unknown`, { responseFlag: 'UH', details: { cluster, host: authority } }));
      }
      let rp = plans.get(route);
      if (rp === undefined) {
        const policies = route.spec.action.route.hashPolicies;
        rp = { hasher: hasher !== undefined && policies.length > 0 ? new RequestHasher(policies, hasher, `route ${route.spec.name}`) : undefined, byClusterAndPath: new Map() };
        plans.set(route, rp);
      }
      const key = `${cluster} ${methodName}`;
      let plan = rp.byClusterAndPath.get(key);
      if (plan === undefined) {
        plan = buildCallPlan(snapshot, route, cluster, methodName);
        if (telemetry !== undefined) plan = { ...plan, filterFactories: [telemetryClientFilterFactory(telemetry, cluster, methodName, authority), ...plan.filterFactories] };
        rp.byClusterAndPath.set(key, plan);
      }
      const pickInformation: Record<string, string> = { [PickInfoKey.cluster]: cluster, [PickInfoKey.path]: methodName };
      if (plan.isPreviousHostsAvoided) pickInformation[PickInfoKey.triedHosts] = '';
      if (plan.perTryTimeoutMs !== undefined) pickInformation[PickInfoKey.perTryTimeoutMs] = String(plan.perTryTimeoutMs);
      const hash = rp.hasher?.compute(facts);
      if (hash !== undefined) pickInformation[PickInfoKey.hash] = hash.toString();
      return { methodConfig: plan.methodConfig, pickInformation, status: Status.OK, dynamicFilterFactories: plan.filterFactories };
    },
    unref() {},
  };
}
