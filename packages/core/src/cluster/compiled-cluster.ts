/**
 * A cluster as core uses it per request: the decoded CDS resource plus a load balancer compiled
 * from its endpoints (EDS, static or logical DNS), or the ordered leaf list of an aggregate
 * cluster. Built once per update; the balancer keeps endpoint state across updates through the
 * mesh-wide {@link EndpointStateStore} of the cluster name.
 */
import type { Cluster, ClusterLoadAssignment, LbPolicy, XdsClusterConfig } from '@weft/xds-client';
import { compileClusterLoadBalancer } from '../lb/cluster-load-balancer.ts';
import type { ClusterLbConfig, ClusterLoadBalancer } from '../lb/cluster-load-balancer.ts';
import type { EndpointStateStore } from '../lb/endpoint-state-store.ts';
import type { Hasher } from '../lb/hasher.ts';
import type { LocalityEndpointsSpec, RandomSource } from '../lb/types.ts';
import type { CertificateProviders } from '../security/certificate-providers.ts';
import { compileUpstreamTls } from '../security/upstream-tls.ts';
import type { CompiledUpstreamTls } from '../security/upstream-tls.ts';

/** A compiled cluster. */
export interface CompiledCluster {
  readonly name: string;
  readonly spec: Cluster;
  /** Absent for aggregate clusters. */
  readonly balancer: ClusterLoadBalancer | undefined;
  /** Aggregate clusters: leaf cluster names in priority order. */
  readonly leafClusters: readonly string[] | undefined;
  /** EDS `drop_overloads` (category, probability in [0, 1]). */
  readonly dropOverloads: readonly { readonly category: string; readonly probability: number }[];
  /** The cluster's upstream TLS, resolved per endpoint (`upstreamTls.forEndpoint(endpoint.metadata)`). */
  readonly upstreamTls: CompiledUpstreamTls;
}

/** What {@link compileCluster} needs besides the config. */
export interface ClusterCompileDependencies {
  hasher: Hasher;
  states: EndpointStateStore;
  random?: RandomSource;
  /** Resolves the certificate provider instances the cluster's TLS names (the Mesh's). */
  certificateProviders?: CertificateProviders;
}

const tlsBySpec = new WeakMap<Cluster, CompiledUpstreamTls>();

/**
 * The compiled upstream TLS of a decoded cluster, for adapters that hold only the `Cluster`
 * spec (`undefined` when it was never compiled by {@link compileCluster}). The spec object is
 * immutable and new per update, so the entry lives exactly as long as that cluster version.
 */
export function upstreamTlsOf(spec: Cluster): CompiledUpstreamTls | undefined {
  return tlsBySpec.get(spec);
}

/**
 * Maps an xDS `LbPolicy` to core's balancer settings. `wrrLocality` turns locality weighting on
 * around its child policy; `pickFirst` (a gRPC-only policy) is served by ROUND_ROBIN.
 */
export function lbConfigFromXds(policy: LbPolicy, isLocalityWeighted: boolean): ClusterLbConfig {
  switch (policy.type) {
    case 'roundRobin':
    case 'pickFirst':
      return { policy: 'ROUND_ROBIN', isLocalityWeighted };
    case 'leastRequest':
      return { policy: 'LEAST_REQUEST', choiceCount: policy.choiceCount, isLocalityWeighted };
    case 'random':
      return { policy: 'RANDOM', isLocalityWeighted };
    case 'ringHash':
      return { policy: 'RING_HASH', minRingSize: policy.minRingSize, maxRingSize: policy.maxRingSize, ringHashFunction: policy.hashFunction };
    case 'maglev':
      return { policy: 'MAGLEV', maglevTableSize: policy.tableSize };
    case 'wrrLocality':
      return { ...lbConfigFromXds(policy.endpointPickingPolicy, true), isLocalityWeighted: true };
  }
}

/** Converts a decoded ClusterLoadAssignment to the balancer's locality list. */
export function localitiesFromXds(cla: ClusterLoadAssignment): LocalityEndpointsSpec[] {
  return cla.localities.map((l) => ({
    locality: { region: l.locality.region, zone: l.locality.zone, subZone: l.locality.subZone },
    weight: l.loadBalancingWeight,
    priority: l.priority,
    endpoints: l.endpoints.map((e) => ({
      address: e.address,
      port: e.port,
      weight: e.loadBalancingWeight,
      healthStatus: e.healthStatus,
      hostname: e.hostname,
      metadata: e.metadata,
    })),
  }));
}

/**
 * Compiles one cluster of an `XdsConfig`. Throws `MeshError` `WEFT_ERR_XDS_INVALID` naming the
 * cluster when its endpoints are unusable (see `compileClusterLoadBalancer`).
 */
export function compileCluster(config: XdsClusterConfig, deps: ClusterCompileDependencies): CompiledCluster {
  const spec = config.cluster;
  const discovery = spec.discovery;
  const upstreamTls = compileUpstreamTls(spec, deps.certificateProviders);
  tlsBySpec.set(spec, upstreamTls);
  if (discovery.type === 'aggregate') {
    return { name: spec.name, spec, balancer: undefined, leafClusters: config.leafClusters ?? discovery.clusters, dropOverloads: [], upstreamTls };
  }
  let localities: LocalityEndpointsSpec[];
  let overprovisioningPercent = 140;
  let dropOverloads: CompiledCluster['dropOverloads'] = [];
  if (discovery.type === 'logicalDns') {
    localities = [{ endpoints: [{ address: discovery.host, port: discovery.port }] }];
  } else {
    const cla = config.endpoints ?? (discovery.type === 'static' ? discovery.endpoints : undefined);
    localities = cla === undefined ? [] : localitiesFromXds(cla);
    if (cla !== undefined) {
      overprovisioningPercent = Math.round(cla.overprovisioningFactor * 100);
      dropOverloads = cla.dropOverloads.map((d) => ({ category: d.category, probability: Math.min(1, d.dropPercentage.numerator / d.dropPercentage.denominator) }));
    }
  }
  const lb = { ...lbConfigFromXds(spec.lbPolicy, spec.isLocalityWeighted), overprovisioningPercent };
  const balancer = compileClusterLoadBalancer(spec.name, localities, lb, deps);
  return { name: spec.name, spec, balancer, leafClusters: undefined, dropOverloads, upstreamTls };
}
