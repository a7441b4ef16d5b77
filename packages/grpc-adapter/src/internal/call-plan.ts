/**
 * What a routed call gets from grpc-js's ConfigSelector, computed once per (route, cluster) of
 * a snapshot and memoised: the method config (timeout from `max_stream_duration` / route
 * timeout, which grpc-js combines with the caller's deadline; gRFC A44 retry policy) and the
 * dynamic filters (metadata mutations, then the HTTP filters of the listener in order).
 */
import type { experimental } from '@grpc/grpc-js';
import type { FilterOverride, HeaderValueOption, HttpFilterConfig, RetryPolicy } from '@weft/xds-client';
import { minTimeoutMs } from './core-imports.ts';
import type { CompiledRoute } from './core-imports.ts';
import { faultFilterFactory, headerMutationFilterFactory, rateLimitFilterFactory } from './call-filters.ts';
import type { ClientSnapshot } from './client-snapshot.ts';

/** grpc-js's per-call config, as returned by a ConfigSelector. */
export type CallConfig = ReturnType<experimental.ConfigSelector['invoke']>;
type MethodConfig = CallConfig['methodConfig'];
type FilterFactory = experimental.FilterFactory<experimental.Filter>;

/** The memoised part of a routed call's config. */
export interface CallPlan {
  readonly methodConfig: MethodConfig;
  readonly filterFactories: FilterFactory[];
  /** True when retries should avoid hosts already tried (`previous_hosts` predicate). */
  readonly isPreviousHostsAvoided: boolean;
  /** Envoy's `per_try_timeout` of the route's retry policy (ms), when set: each attempt is cancelled after it. */
  readonly perTryTimeoutMs: number | undefined;
}

/** gRPC codes for A44 `retry_on` names. */
const GRPC_RETRY_CODES: Readonly<Record<string, number>> = { cancelled: 1, 'deadline-exceeded': 4, 'resource-exhausted': 8, internal: 13, unavailable: 14 };
/** grpc-js caps attempts at 5 (A6); more retries than that are clamped. */
const MAX_ATTEMPTS = 5;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(9).replace(/\.?0+$/, '')}s`;
}

/**
 * The retry behaviour for grpc-js from an A44 retry policy: `retryPolicy` with the codes of
 * `retry_on`, `num_retries` + 1 attempts (at most 5, grpc-js's cap) and exponential back-off.
 * With a per-try timeout (Envoy's `per_try_timeout`, applied by `per-try-timeout.ts`), the
 * timed-out attempt ends DEADLINE_EXCEEDED, so that code is retryable too — as in Envoy, a
 * per-try timeout is retried while attempts remain (a server's own DEADLINE_EXCEEDED then is
 * too). Empty when nothing is retried.
 */
export function grpcRetryConfig(p: RetryPolicy | undefined): Pick<MethodConfig, 'retryPolicy'> {
  if (p === undefined || p.numRetries <= 0) return {};
  const codes = new Set(p.retryOn.map((c) => GRPC_RETRY_CODES[c]).filter((c): c is number => c !== undefined));
  if (perTryTimeoutOf(p) !== undefined) codes.add(GRPC_RETRY_CODES['deadline-exceeded']!);
  if (codes.size === 0) return {};
  return {
    retryPolicy: {
      maxAttempts: Math.min(MAX_ATTEMPTS, p.numRetries + 1),
      initialBackoff: seconds(p.retryBackOff.baseIntervalMs),
      maxBackoff: seconds(Math.max(p.retryBackOff.baseIntervalMs, p.retryBackOff.maxIntervalMs)),
      backoffMultiplier: 2,
      retryableStatusCodes: [...codes],
    },
  };
}

/** The per-try timeout of a retry policy (ms), when one is set. */
export function perTryTimeoutOf(p: RetryPolicy | undefined): number | undefined {
  return p?.perTryTimeoutMs !== undefined && p.perTryTimeoutMs > 0 ? p.perTryTimeoutMs : undefined;
}

function override(name: string, route: CompiledRoute, clusterName: string): FilterOverride | undefined {
  return (
    route.weightedCluster(clusterName)?.typedPerFilterConfig.get(name) ??
    route.spec.typedPerFilterConfig.get(name) ??
    route.virtualHost.spec.typedPerFilterConfig.get(name)
  );
}

/** Builds the plan of calls to `path` routed by `route` to `clusterName`. */
export function buildCallPlan(snapshot: ClientSnapshot, route: CompiledRoute, clusterName: string, path: string): CallPlan {
  const action = route.spec.action.type === 'route' ? route.spec.action.route : undefined;
  const vh = route.virtualHost.spec;
  const rc = snapshot.config.routeConfig;
  const msd = action?.maxStreamDuration;
  const streamCapMs = msd?.grpcTimeoutHeaderMaxMs || msd?.maxStreamDurationMs || snapshot.maxStreamDurationMs;
  const timeoutMs = minTimeoutMs(streamCapMs, action?.timeoutMs);
  const retry = action?.retryPolicy ?? vh.retryPolicy;
  const methodConfig: MethodConfig = { name: [], ...grpcRetryConfig(retry) };
  if (timeoutMs !== undefined) methodConfig.timeout = { seconds: Math.floor(timeoutMs / 1000), nanos: Math.round((timeoutMs % 1000) * 1e6) };

  const filterFactories: FilterFactory[] = [];
  const wc = route.weightedCluster(clusterName);
  // Envoy's order: weighted cluster, route, virtual host, then route configuration headers
  // (so with OVERWRITE the least specific level wins, as in Envoy's default).
  const levels = [...(wc === undefined ? [] : [wc]), route.spec, vh, rc];
  const mutation = headerMutationFilterFactory(
    { remove: levels.flatMap((l) => l.requestHeadersToRemove), add: levels.flatMap((l): HeaderValueOption[] => [...l.requestHeadersToAdd]) },
    { remove: levels.flatMap((l) => l.responseHeadersToRemove), add: levels.flatMap((l): HeaderValueOption[] => [...l.responseHeadersToAdd]) },
  );
  if (mutation !== undefined) filterFactories.push(mutation);

  snapshot.httpFilters.forEach((f, i) => {
    const o = override(f.name, route, clusterName);
    if (o?.type === 'disabled') return;
    const cfg: HttpFilterConfig = o ?? f.config;
    const where = `listener ${snapshot.config.listenerName}, http_filters[${i}] (${f.name})`;
    if (cfg.type === 'fault') {
      const ff = faultFilterFactory(cfg.fault, where, path, snapshot.authority, clusterName);
      if (ff !== undefined) filterFactories.push(ff);
    } else if (cfg.type === 'localRateLimit') {
      const rl = rateLimitFilterFactory(cfg.localRateLimit, path, snapshot.authority);
      if (rl !== undefined) filterFactories.push(rl);
    }
  });
  return {
    methodConfig,
    filterFactories,
    isPreviousHostsAvoided: retry?.retryHostPredicates.includes('envoy.retry_host_predicates.previous_hosts') ?? false,
    perTryTimeoutMs: perTryTimeoutOf(retry),
  };
}
