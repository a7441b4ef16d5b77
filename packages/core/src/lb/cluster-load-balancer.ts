/**
 * The load balancer of one cluster: priorities → localities → endpoints, health, outlier
 * ejections, Envoy's priority load and panic rules, locality weights, and the cluster's policy.
 *
 * Everything a pick needs is precomputed into an immutable {@link BalancerTables} when EDS
 * arrives or an ejection changes; a pick is a table lookup, at most one EDF step for the
 * locality and one policy pick. Endpoint states are taken from (and left in) the
 * {@link EndpointStateStore} so that they survive EDS updates.
 */
import { MeshError, ErrorCode } from '@weft/xds-client';
import { EdfScheduler } from './edf-scheduler.ts';
import type { Hasher } from './hasher.ts';
import { LeastRequestPicker } from './least-request-picker.ts';
import { MaglevPicker } from './maglev-picker.ts';
import { computePriorityLoad, choosePriority, DEFAULT_OVERPROVISIONING_PERCENT, DEFAULT_PANIC_THRESHOLD_PERCENT } from './priority-load.ts';
import type { PriorityLoad } from './priority-load.ts';
import { RandomPicker } from './random-picker.ts';
import { RingHashPicker } from './ring-hash-picker.ts';
import { RoundRobinPicker } from './round-robin-picker.ts';
import { EndpointStateStore, endpointKey } from './endpoint-state-store.ts';
import type { Endpoint, EndpointPicker, EndpointSpec, HealthStatus, LbPolicyName, LocalityEndpointsSpec, LocalityName, PickContext, RandomSource } from './types.ts';

/** Per-cluster load-balancing settings (from CDS). */
export interface ClusterLbConfig {
  policy: LbPolicyName;
  /** `RingHashLbConfig` bounds. */
  minRingSize?: number;
  maxRingSize?: number;
  /** `RingHashLbConfig.hash_function`; default XX_HASH. */
  ringHashFunction?: 'XX_HASH' | 'MURMUR_HASH_2';
  /** `MaglevLbConfig.table_size` (prime). */
  maglevTableSize?: number;
  /** `LeastRequestLbConfig.choice_count`. */
  choiceCount?: number;
  /** `LeastRequestLbConfig.active_request_bias`; default 1. */
  activeRequestBias?: number;
  /** Overprovisioning factor in percent; default 140 (1.4). */
  overprovisioningPercent?: number;
  /** Healthy panic threshold in percent; default 50; 0 disables panic. */
  panicThresholdPercent?: number;
  /**
   * Pick a locality first by `weight × availability` (Envoy's locality-weighted LB; gRPC always
   * does). Default: on when any locality carries a weight. Localities without weight get no
   * traffic while it is on. Ignored by RING_HASH and MAGLEV, which hash over the whole priority.
   */
  isLocalityWeighted?: boolean;
}

/** What the compile step needs besides the config. */
export interface ClusterLbDependencies {
  hasher: Hasher;
  /** Endpoint states of this cluster, shared with the previous balancer of the same cluster. */
  states: EndpointStateStore;
  random?: RandomSource;
}

interface LocalityGroup {
  readonly locality: LocalityName;
  readonly weight: number;
  readonly endpoints: Endpoint[];
}

interface PrioritySet {
  readonly localities: LocalityGroup[];
  readonly endpoints: Endpoint[];
}

/** One way of picking inside one priority: a locality scheduler over per-locality pickers, or one picker. */
interface HostSource {
  readonly scheduler: EdfScheduler | undefined;
  readonly pickers: EndpointPicker[];
}

/** The immutable per-update tables of a {@link ClusterLoadBalancer}. */
export interface BalancerTables {
  readonly load: PriorityLoad;
  /** 100 slots: `slot[point] = priority × 2 + (degraded ? 1 : 0)`. */
  readonly slots: Int32Array;
  /** Index `priority × 2 + degraded`; undefined when that combination carries no load. */
  readonly sources: (HostSource | undefined)[];
  readonly healthyCount: number;
}

const HASH_POLICIES: ReadonlySet<LbPolicyName> = new Set(['RING_HASH', 'MAGLEV']);

function isHealthyStatus(s: HealthStatus): boolean {
  return s === 'HEALTHY' || s === 'UNKNOWN';
}

/** The compiled balancer of one cluster. Created by {@link compileClusterLoadBalancer}. */
export class ClusterLoadBalancer {
  readonly clusterName: string;
  readonly config: Readonly<ClusterLbConfig>;
  readonly #priorities: PrioritySet[];
  readonly #deps: ClusterLbDependencies;
  readonly #random: RandomSource;
  #tables: BalancerTables;
  #tablesVersion: number;

  /** Use {@link compileClusterLoadBalancer}. */
  constructor(clusterName: string, priorities: PrioritySet[], config: ClusterLbConfig, deps: ClusterLbDependencies) {
    this.clusterName = clusterName;
    this.config = config;
    this.#priorities = priorities;
    this.#deps = deps;
    this.#random = deps.random ?? Math.random;
    this.#tablesVersion = deps.states.ejectionVersion;
    this.#tables = this.#buildTables();
  }

  /** Every endpoint of the cluster, priority by priority. */
  get endpoints(): readonly Endpoint[] {
    return this.#priorities.flatMap((p) => p.endpoints);
  }

  /** The current priority load and panic flags (for the config dump and tests). */
  get priorityLoad(): Readonly<PriorityLoad> {
    return this.#current().load;
  }

  /** The tables, rebuilt first if an ejection changed since they were built. */
  #current(): BalancerTables {
    const version = this.#deps.states.ejectionVersion;
    if (version !== this.#tablesVersion) {
      this.#tablesVersion = version;
      this.#tables = this.#buildTables();
    }
    return this.#tables;
  }

  /**
   * Picks an endpoint. Ejections (endpoint `state.isEjected`, set by outlier detection) take
   * effect on the next pick: the tables are rebuilt once after a change. With a hash-based policy, `context.hash` chooses both the priority and the
   * endpoint (stable for a key); otherwise a random draw chooses the priority. Returns
   * `undefined` only when the cluster has no endpoints at all (the caller turns that into
   * `WEFT_ERR_NO_HEALTHY_UPSTREAM`, flag `UH`).
   */
  pick(context?: PickContext): Endpoint | undefined {
    const t = this.#deps.states.ejectionVersion === this.#tablesVersion ? this.#tables : this.#current();
    const hash = context?.hash;
    const point = hash === undefined ? Math.floor(this.#random() * 100) : Number(hash % 100n);
    const source = t.sources[t.slots[point]!];
    if (source === undefined) return undefined;
    if (source.scheduler === undefined) return source.pickers[0]!.pick(context);
    return source.pickers[source.scheduler.next()]!.pick(context);
  }

  /**
   * Marks an endpoint (by `address:port` key) as ejected or restored, as outlier detection
   * decides, and rebuilds the tables when that changes anything. Unknown keys are ignored.
   */
  setEjected(key: string, isEjected: boolean): void {
    const state = this.#deps.states.peek(key);
    if (state === undefined || state.isEjected === isEjected) return;
    state.isEjected = isEjected;
    this.#current();
  }

  #buildTables(): BalancerTables {
    const cfg = this.config;
    const counts = this.#priorities.map((p) => {
      let healthy = 0;
      let degraded = 0;
      for (const e of p.endpoints) {
        if (e.state.isEjected) continue;
        if (isHealthyStatus(e.healthStatus)) healthy++;
        else if (e.healthStatus === 'DEGRADED') degraded++;
      }
      return { total: p.endpoints.length, healthy, degraded };
    });
    const load = computePriorityLoad(
      counts,
      cfg.overprovisioningPercent ?? DEFAULT_OVERPROVISIONING_PERCENT,
      cfg.panicThresholdPercent ?? DEFAULT_PANIC_THRESHOLD_PERCENT,
    );
    const slots = new Int32Array(100);
    for (let p = 0; p < 100; p++) {
      const c = choosePriority(load, p);
      slots[p] = c.priority * 2 + (c.isDegraded ? 1 : 0);
    }
    const sources: (HostSource | undefined)[] = new Array(Math.max(2, this.#priorities.length * 2)).fill(undefined);
    for (let i = 0; i < this.#priorities.length; i++) {
      for (const isDegraded of [false, true]) {
        const share = isDegraded ? load.degraded[i]! : load.healthy[i]!;
        if (share === 0) continue;
        sources[i * 2 + (isDegraded ? 1 : 0)] = this.#buildSource(this.#priorities[i]!, isDegraded, load.isPanic[i]!);
      }
    }
    return { load, slots, sources, healthyCount: counts.reduce((s, c) => s + c.healthy, 0) };
  }

  #buildSource(priority: PrioritySet, isDegraded: boolean, isPanic: boolean): HostSource | undefined {
    const accept = (e: Endpoint): boolean =>
      isPanic || (!e.state.isEjected && (isDegraded ? e.healthStatus === 'DEGRADED' : isHealthyStatus(e.healthStatus)));
    const wantsLocality = this.config.isLocalityWeighted ?? priority.localities.some((l) => l.weight > 0);
    const isLocalityWeighted = wantsLocality && !HASH_POLICIES.has(this.config.policy) && !isPanic;
    if (!isLocalityWeighted) {
      const eps = priority.endpoints.filter(accept);
      return eps.length === 0 ? undefined : { scheduler: undefined, pickers: [this.#makePicker(eps)] };
    }
    const opf = (this.config.overprovisioningPercent ?? DEFAULT_OVERPROVISIONING_PERCENT) / 100;
    const weights: number[] = [];
    const pickers: EndpointPicker[] = [];
    for (const group of priority.localities) {
      const eps = group.endpoints.filter(accept);
      if (eps.length === 0 || group.weight <= 0) continue;
      const availability = Math.min(1, (opf * eps.length) / group.endpoints.length);
      weights.push(group.weight * availability);
      pickers.push(this.#makePicker(eps));
    }
    if (pickers.length === 0) return undefined;
    return { scheduler: pickers.length === 1 ? undefined : new EdfScheduler(weights, this.#random), pickers };
  }

  #makePicker(eps: Endpoint[]): EndpointPicker {
    const random = this.#random;
    switch (this.config.policy) {
      case 'ROUND_ROBIN':
        return new RoundRobinPicker(eps, random);
      case 'LEAST_REQUEST':
        return new LeastRequestPicker(eps, { random, choiceCount: this.config.choiceCount, activeRequestBias: this.config.activeRequestBias });
      case 'RANDOM':
        return new RandomPicker(eps, random);
      case 'RING_HASH':
        return new RingHashPicker(eps, this.#deps.hasher, {
          random,
          minRingSize: this.config.minRingSize,
          maxRingSize: this.config.maxRingSize,
          hashFunction: this.config.ringHashFunction,
        });
      case 'MAGLEV':
        return new MaglevPicker(eps, this.#deps.hasher, { random, tableSize: this.config.maglevTableSize });
    }
  }
}

function localityKey(l: LocalityName | undefined): string {
  return `${l?.region ?? ''}/${l?.zone ?? ''}/${l?.subZone ?? ''}`;
}

function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/**
 * Compiles the EDS view of `clusterName` into a {@link ClusterLoadBalancer}. Throws a
 * `MeshError` `WEFT_ERR_XDS_INVALID` naming the cluster and field for invalid input (endpoint
 * weight < 1, bad port, non-prime Maglev table, ring bounds out of order); the previous
 * balancer then stays in use. Endpoint states of addresses that left the cluster are dropped
 * from `deps.states`.
 */
export function compileClusterLoadBalancer(
  clusterName: string,
  localities: readonly LocalityEndpointsSpec[],
  config: ClusterLbConfig,
  deps: ClusterLbDependencies,
): ClusterLoadBalancer {
  const invalid = (field: string, why: string): MeshError =>
    new MeshError(ErrorCode.xdsInvalid, `cluster ${clusterName}: ${field} ${why}`, { details: { cluster: clusterName, field } });
  if (config.maglevTableSize !== undefined && !isPrime(config.maglevTableSize)) throw invalid('maglev_lb_config.table_size', `must be prime, got ${config.maglevTableSize}`);
  if ((config.minRingSize ?? 1) > (config.maxRingSize ?? Infinity)) throw invalid('ring_hash_lb_config.minimum_ring_size', 'exceeds maximum_ring_size');
  const byPriority: Map<string, LocalityGroup>[] = [];
  const seen = new Set<string>();
  for (let li = 0; li < localities.length; li++) {
    const spec = localities[li]!;
    const priority = spec.priority ?? 0;
    if (!Number.isInteger(priority) || priority < 0 || priority > 128) throw invalid(`endpoints[${li}].priority`, `must be 0..128, got ${priority}`);
    const groups = (byPriority[priority] ??= new Map());
    const lkey = localityKey(spec.locality);
    let group = groups.get(lkey);
    if (group === undefined) {
      group = { locality: { ...spec.locality }, weight: spec.weight ?? 0, endpoints: [] };
      groups.set(lkey, group);
    }
    spec.endpoints.forEach((ep: EndpointSpec, ei: number) => {
      const field = `endpoints[${li}].lb_endpoints[${ei}]`;
      const weight = ep.weight ?? 1;
      if (!Number.isInteger(weight) || weight < 1) throw invalid(`${field}.load_balancing_weight`, `must be an integer ≥ 1, got ${weight}`);
      if (!Number.isInteger(ep.port) || ep.port < 1 || ep.port > 65535) throw invalid(`${field}.address.socket_address.port_value`, `must be 1..65535, got ${ep.port}`);
      if (ep.address === '') throw invalid(`${field}.address.socket_address.address`, 'is empty');
      const key = endpointKey(ep.address, ep.port);
      seen.add(key);
      group.endpoints.push({
        address: ep.address,
        port: ep.port,
        key,
        weight,
        healthStatus: ep.healthStatus ?? 'UNKNOWN',
        locality: group.locality,
        priority,
        hostname: ep.hostname,
        metadata: ep.metadata ?? {},
        state: deps.states.get(key),
      });
    });
  }
  const priorities: PrioritySet[] = [];
  for (let p = 0; p < byPriority.length; p++) {
    const groups = [...(byPriority[p]?.values() ?? [])];
    priorities.push({ localities: groups, endpoints: groups.flatMap((g) => g.endpoints) });
  }
  deps.states.retainOnly(seen);
  return new ClusterLoadBalancer(clusterName, priorities, config, deps);
}
