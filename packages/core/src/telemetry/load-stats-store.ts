/**
 * Per-cluster load statistics for LRS (`envoy.config.endpoint.v3.ClusterStats`): per locality
 * the requests issued, succeeded, failed and in progress, per endpoint the same, and drops by
 * category. Adapters record; the LRS client takes deltas once per reporting interval with
 * {@link LoadStatsStore.collect}. Errors follow Envoy: a 5xx response, or a gRPC status of
 * UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE or DATA_LOSS, or no response.
 */

/** Envoy's locality. */
export interface LoadLocality {
  readonly region?: string;
  readonly zone?: string;
  readonly subZone?: string;
}

/** Drop categories Weft reports. */
export type DropCategory = 'rate_limit' | 'circuit_breaker' | 'overload';

/** Counts of one endpoint or locality over one interval. */
export interface RequestCounts {
  issued: number;
  successful: number;
  error: number;
  /** Current in-flight count (a gauge, not a delta). */
  inProgress: number;
}

/** One locality's stats in a report. */
export interface LocalityLoad extends RequestCounts {
  readonly locality: LoadLocality;
  /** Per endpoint `address:port`. */
  readonly endpoints: ReadonlyMap<string, RequestCounts>;
}

/** One cluster's stats over one interval. */
export interface ClusterLoad {
  readonly clusterName: string;
  readonly edsServiceName: string | undefined;
  readonly localities: readonly LocalityLoad[];
  readonly totalDropped: number;
  readonly dropped: ReadonlyMap<DropCategory, number>;
  /** Length of the interval the counts cover. */
  readonly intervalMs: number;
}

interface LocalityEntry {
  readonly locality: LoadLocality;
  readonly totals: RequestCounts;
  readonly endpoints: Map<string, RequestCounts>;
}

interface ClusterEntry {
  readonly clusterName: string;
  readonly edsServiceName: string | undefined;
  readonly localities: Map<string, LocalityEntry>;
  readonly dropped: Map<DropCategory, number>;
  lastCollect: number;
}

const GRPC_ERRORS = new Set([2, 4, 12, 13, 14, 15]);

/** True when an outcome counts as an error for LRS (see the module comment). */
export function isLoadError(httpStatus: number, grpcStatus?: number): boolean {
  if (grpcStatus !== undefined) return GRPC_ERRORS.has(grpcStatus);
  return httpStatus === 0 || httpStatus >= 500;
}

/** A handle the adapter keeps for one in-flight attempt; `end()` once. */
export interface LoadAttempt {
  end(isError: boolean): void;
}

const localityKey = (l: LoadLocality): string => `${l.region ?? ''}/${l.zone ?? ''}/${l.subZone ?? ''}`;
const zero = (): RequestCounts => ({ issued: 0, successful: 0, error: 0, inProgress: 0 });
const NOOP_ATTEMPT: LoadAttempt = { end() {} };

/** The counters of one (cluster, locality, endpoint), found once and reused while it repeats. */
interface AttemptSlot {
  readonly clusterName: string;
  readonly locality: LoadLocality | undefined;
  readonly endpointKey: string | undefined;
  readonly totals: RequestCounts;
  readonly endpoint: RequestCounts | undefined;
}

/** One in-flight attempt: counted as in progress until `end`, then as a success or an error. */
class Attempt implements LoadAttempt {
  readonly #totals: RequestCounts;
  readonly #endpoint: RequestCounts | undefined;
  #isEnded = false;

  constructor(totals: RequestCounts, endpoint: RequestCounts | undefined) {
    this.#totals = totals;
    this.#endpoint = endpoint;
  }

  end(isError: boolean): void {
    if (this.#isEnded) return;
    this.#isEnded = true;
    const t = this.#totals;
    t.inProgress--;
    if (isError) t.error++;
    else t.successful++;
    const e = this.#endpoint;
    if (e !== undefined) {
      e.inProgress--;
      if (isError) e.error++;
      else e.successful++;
    }
  }
}

/** See the module comment. Memory: one entry per cluster, locality and endpoint seen. */
export class LoadStatsStore {
  readonly #clusters = new Map<string, ClusterEntry>();
  readonly #now: () => number;
  /** The slot of the last attempt started: consecutive attempts to one endpoint skip the lookups. */
  #last: AttemptSlot | undefined;
  /** Clusters to record; undefined = all (the LRS server may narrow it). */
  #clusterFilter: ReadonlySet<string> | undefined;

  /** `now` is injectable for tests (default `performance.now`). */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  #cluster(clusterName: string, edsServiceName?: string): ClusterEntry {
    let c = this.#clusters.get(clusterName);
    if (c === undefined) {
      c = { clusterName, edsServiceName, localities: new Map(), dropped: new Map(), lastCollect: this.#now() };
      this.#clusters.set(clusterName, c);
    }
    return c;
  }

  /** Starts an attempt to `endpointKey` in `locality` of `clusterName`; end it with the outcome. */
  startAttempt(clusterName: string, locality: LoadLocality | undefined, endpointKey: string | undefined, edsServiceName?: string): LoadAttempt {
    let slot = this.#last;
    if (slot === undefined || slot.clusterName !== clusterName || slot.endpointKey !== endpointKey || slot.locality !== locality) {
      if (this.#clusterFilter !== undefined && !this.#clusterFilter.has(clusterName)) return NOOP_ATTEMPT;
      this.#last = slot = this.#slot(clusterName, locality, endpointKey, edsServiceName);
    }
    const { totals, endpoint } = slot;
    totals.issued++;
    totals.inProgress++;
    if (endpoint !== undefined) {
      endpoint.issued++;
      endpoint.inProgress++;
    }
    return new Attempt(totals, endpoint);
  }

  /** The counters an attempt to that endpoint updates (created on first sight). */
  #slot(clusterName: string, locality: LoadLocality | undefined, endpointKey: string | undefined, edsServiceName: string | undefined): AttemptSlot {
    const c = this.#cluster(clusterName, edsServiceName);
    const loc = locality ?? {};
    const lk = localityKey(loc);
    let l = c.localities.get(lk);
    if (l === undefined) c.localities.set(lk, (l = { locality: loc, totals: zero(), endpoints: new Map() }));
    let e: RequestCounts | undefined;
    if (endpointKey !== undefined) {
      e = l.endpoints.get(endpointKey);
      if (e === undefined) l.endpoints.set(endpointKey, (e = zero()));
    }
    return { clusterName, locality, endpointKey, totals: l.totals, endpoint: e };
  }

  /** Counts a request dropped before reaching an endpoint. */
  recordDrop(clusterName: string, category: DropCategory): void {
    if (this.#clusterFilter !== undefined && !this.#clusterFilter.has(clusterName)) return;
    const c = this.#cluster(clusterName);
    c.dropped.set(category, (c.dropped.get(category) ?? 0) + 1);
  }

  /** Restricts recording to `clusters` (the LRS server's `clusters` list); undefined = all. */
  setClusterFilter(clusters: Iterable<string> | undefined): void {
    this.#last = undefined;
    this.#clusterFilter = clusters === undefined ? undefined : new Set(clusters);
  }

  /**
   * The deltas since the last collect of each cluster (in-progress is the current count), then
   * resets the counters. `clusters` limits the report; undefined = every cluster with data.
   * Clusters with nothing issued, nothing in flight and nothing dropped are left out.
   */
  collect(clusters?: ReadonlySet<string>): ClusterLoad[] {
    this.#last = undefined; // idle entries are deleted below; the next attempt looks its slot up again
    const now = this.#now();
    const out: ClusterLoad[] = [];
    for (const c of this.#clusters.values()) {
      if (clusters !== undefined && !clusters.has(c.clusterName)) continue;
      const localities: LocalityLoad[] = [];
      let isActive = false;
      for (const [lk, l] of c.localities) {
        const t = l.totals;
        const endpoints = new Map<string, RequestCounts>();
        for (const [ek, e] of l.endpoints) {
          if (e.issued === 0 && e.inProgress === 0 && e.successful === 0 && e.error === 0) {
            l.endpoints.delete(ek);
            continue;
          }
          endpoints.set(ek, { ...e });
          e.issued = e.successful = e.error = 0;
        }
        if (t.issued === 0 && t.inProgress === 0 && t.successful === 0 && t.error === 0) {
          c.localities.delete(lk);
          continue;
        }
        isActive = true;
        localities.push({ locality: l.locality, issued: t.issued, successful: t.successful, error: t.error, inProgress: t.inProgress, endpoints });
        t.issued = t.successful = t.error = 0;
      }
      let totalDropped = 0;
      for (const n of c.dropped.values()) totalDropped += n;
      const dropped = new Map(c.dropped);
      c.dropped.clear();
      const intervalMs = now - c.lastCollect;
      c.lastCollect = now;
      if (!isActive && totalDropped === 0) continue;
      out.push({ clusterName: c.clusterName, edsServiceName: c.edsServiceName, localities, totalDropped, dropped, intervalMs });
    }
    return out;
  }
}

/** Creates an empty store. */
export function createLoadStatsStore(): LoadStatsStore {
  return new LoadStatsStore();
}
