/**
 * Compiles one {@link XdsConfig} into what a channel uses per call: core's route table, one
 * core load balancer per cluster, and the long-lived per-cluster state (endpoint states,
 * circuit breaker, outlier detector) that survives config updates. Built once per update;
 * a call only reads it.
 */
import { ErrorCode, MeshError } from '@weft/xds-client';
import type { Cluster, HttpFilter, LbPolicy, XdsConfig } from '@weft/xds-client';
import { compileClusterLoadBalancer, compileRouteTable, createClusterCircuitBreaker, EndpointStateStore } from './core-imports.ts';
import type { ClusterCircuitBreaker, ClusterLbConfig, ClusterLoadBalancer, Hasher, LbEndpoint, LbPolicyName, LocalityEndpointsSpec, RouteTable } from './core-imports.ts';
import { ClusterOutlierDetection } from './outlier-detector.ts';

/** The long-lived state of one cluster within one channel. */
export interface ClusterState {
  readonly states: EndpointStateStore;
  readonly breaker: ClusterCircuitBreaker;
  outlier: ClusterOutlierDetection | undefined;
}

/** One cluster as a call sees it: a balancer, or the error that stands in its place. */
export interface ClusterRuntime {
  readonly name: string;
  readonly spec: Cluster | undefined;
  readonly balancer: ClusterLoadBalancer | undefined;
  /** The balancer's endpoints, computed once (the balancer's getter builds a new array each time). */
  readonly endpoints: readonly LbEndpoint[];
  readonly state: ClusterState;
  /** Set when the cluster is unusable (missing, NACKed, no EDS yet); calls fail UNAVAILABLE with it. */
  readonly error: MeshError | undefined;
}

/** Everything a channel needs for one config generation. Immutable once built. */
export interface ClientSnapshot {
  readonly config: XdsConfig;
  /** `host:port` used for virtual-host matching: the xDS listener name (A27), which for short-name targets is the mapped full name. */
  readonly authority: string;
  readonly routeTable: RouteTable;
  readonly clusters: ReadonlyMap<string, ClusterRuntime>;
  readonly httpFilters: readonly HttpFilter[];
  readonly maxStreamDurationMs: number | undefined;
  /** Every endpoint address across clusters, by `ip:port` key: the subchannels the LB keeps. */
  readonly addresses: ReadonlyMap<string, { readonly host: string; readonly port: number }>;
}

/** Per-channel registry of {@link ClusterState}, kept across snapshots; `close()` stops outlier timers. */
export class ClusterStateRegistry {
  readonly #states = new Map<string, ClusterState>();

  /** The state of `name`, created on first use with the cluster's circuit-breaker thresholds. */
  get(name: string, spec: Cluster | undefined): ClusterState {
    let s = this.#states.get(name);
    if (s === undefined) {
      s = { states: new EndpointStateStore(), breaker: createClusterCircuitBreaker({ clusterName: name, thresholds: spec?.circuitBreakers }), outlier: undefined };
      this.#states.set(name, s);
    } else if (spec !== undefined) {
      s.breaker.updateThresholds(spec.circuitBreakers);
    }
    return s;
  }

  /** Drops clusters no longer referenced (their outlier timers are cleared). */
  retainOnly(names: ReadonlySet<string>): void {
    for (const [n, s] of this.#states) {
      if (names.has(n)) continue;
      s.outlier?.close();
      this.#states.delete(n);
    }
  }

  /** Clears every timer. Idempotent. */
  close(): void {
    for (const s of this.#states.values()) s.outlier?.close();
    this.#states.clear();
  }
}

function policyOf(p: LbPolicy): Pick<ClusterLbConfig, 'policy' | 'choiceCount' | 'minRingSize' | 'maxRingSize' | 'maglevTableSize'> {
  switch (p.type) {
    case 'roundRobin':
    case 'pickFirst':
      return { policy: 'ROUND_ROBIN' };
    case 'leastRequest':
      return { policy: 'LEAST_REQUEST', choiceCount: p.choiceCount };
    case 'random':
      return { policy: 'RANDOM' };
    case 'ringHash':
      return { policy: 'RING_HASH', minRingSize: p.minRingSize, maxRingSize: p.maxRingSize };
    case 'maglev':
      return { policy: 'MAGLEV', maglevTableSize: p.tableSize };
    case 'wrrLocality':
      return policyOf(p.endpointPickingPolicy);
  }
}

/** True when the cluster's policy needs the xxHash module (ring hash, Maglev). */
export function needsHasher(config: XdsConfig): boolean {
  for (const r of config.clusters.values()) {
    if (!r.ok) continue;
    const name: LbPolicyName = policyOf(r.value.cluster.lbPolicy).policy;
    if (name === 'RING_HASH' || name === 'MAGLEV') return true;
  }
  return false;
}

const NO_HASHER: Hasher = {
  hash64() {
    throw new MeshError(ErrorCode.xdsInvalid, 'hash-based load balancing used before the hasher was loaded');
  },
};

/**
 * Compiles `config` for a channel whose target authority is `authority`. Throws `MeshError`
 * `WEFT_ERR_XDS_INVALID` (naming the route or cluster) when core rejects part of it; the caller
 * keeps the previous snapshot.
 */
export function compileClientSnapshot(config: XdsConfig, authority: string, registry: ClusterStateRegistry, hasher: Hasher | undefined): ClientSnapshot {
  const routeTable = compileRouteTable(config.routeConfig);
  const clusters = new Map<string, ClusterRuntime>();
  const addresses = new Map<string, { host: string; port: number }>();
  for (const [name, result] of config.clusters) {
    if (!result.ok) {
      clusters.set(name, { name, spec: undefined, balancer: undefined, endpoints: [], state: registry.get(name, undefined), error: result.error });
      continue;
    }
    const { cluster, endpoints } = result.value;
    const state = registry.get(name, cluster);
    if (endpoints === undefined) {
      const error = new MeshError(ErrorCode.noHealthyUpstream, `cluster ${name}: ${cluster.discovery.type} clusters are not supported by the gRPC adapter yet`, { responseFlag: 'UH', details: { cluster: name } });
      clusters.set(name, { name, spec: cluster, balancer: undefined, endpoints: [], state, error });
      continue;
    }
    const localities: LocalityEndpointsSpec[] = endpoints.localities.map((l) => ({
      locality: { region: l.locality.region, zone: l.locality.zone, subZone: l.locality.subZone },
      ...(l.loadBalancingWeight === undefined ? {} : { weight: l.loadBalancingWeight }),
      priority: l.priority,
      endpoints: l.endpoints.map((e) => ({ address: e.address, port: e.port, weight: e.loadBalancingWeight, healthStatus: e.healthStatus, hostname: e.hostname, metadata: e.metadata })),
    }));
    const balancer = compileClusterLoadBalancer(
      name,
      localities,
      { ...policyOf(cluster.lbPolicy), overprovisioningPercent: Math.round(endpoints.overprovisioningFactor * 100) },
      { hasher: hasher ?? NO_HASHER, states: state.states },
    );
    const lbEndpoints = balancer.endpoints;
    for (const e of lbEndpoints) addresses.set(e.key, { host: e.address, port: e.port });
    if (cluster.outlierDetection !== undefined) {
      state.outlier ??= new ClusterOutlierDetection(name, cluster.outlierDetection, state.states);
      state.outlier.update(cluster.outlierDetection, balancer);
    } else if (state.outlier !== undefined) {
      state.outlier.close();
      state.outlier = undefined;
    }
    clusters.set(name, { name, spec: cluster, balancer, endpoints: lbEndpoints, state, error: undefined });
  }
  registry.retainOnly(new Set(clusters.keys()));
  const hcm = config.listener.httpConnectionManager;
  return {
    config,
    authority,
    routeTable,
    clusters,
    httpFilters: hcm?.httpFilters ?? [],
    maxStreamDurationMs: hcm?.maxStreamDurationMs,
    addresses,
  };
}
