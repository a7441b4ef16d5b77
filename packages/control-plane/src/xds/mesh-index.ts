/**
 * Lookups the generators share, computed once per model generation: which VirtualService and
 * DestinationRule apply to a host, the effective traffic policy of a cluster (top level →
 * port level → subset → subset port level, field by field as Istio merges them), and the
 * endpoints of a subset.
 */
import type { ConfigObject, MeshModel, ServiceModel, WorkloadInstance } from '../model/mesh-model.ts';
import type { DestinationRuleView, SubsetView, TrafficPolicyView, VirtualServiceView } from './generators/istio-views.ts';
import { hostMatches, resolveHost } from './names.ts';

/** A VirtualService as it applies to one host. */
export interface VirtualServiceEntry {
  /** `namespace/name`. */
  id: string;
  namespace: string;
  spec: VirtualServiceView;
}

/** A DestinationRule as it applies to one host. */
export interface DestinationRuleEntry {
  id: string;
  namespace: string;
  spec: DestinationRuleView;
}

/** Read-only index over one {@link MeshModel}; see the module comment. */
export interface MeshIndex {
  readonly model: MeshModel;
  /** Services sorted by host name (stable output order). */
  readonly services: readonly ServiceModel[];
  virtualServiceFor(hostname: string): VirtualServiceEntry | undefined;
  destinationRuleFor(hostname: string): DestinationRuleEntry | undefined;
  /** Traffic policy in force for a cluster, merged field by field; `{}` when none applies. */
  trafficPolicyFor(hostname: string, port: number, subset: string): TrafficPolicyView;
  /** Endpoints of a service, filtered by the subset's labels when a subset is given. */
  endpointsFor(hostname: string, subset: string): readonly WorkloadInstance[];
  /** The subset definition, or `undefined` when the DestinationRule lacks it. */
  subsetFor(hostname: string, subset: string): SubsetView | undefined;
  /** Resolves a destination host written in config in `namespace` to a known FQDN. */
  resolve(host: string, namespace: string): string;
}

function isMeshVirtualService(spec: VirtualServiceView): boolean {
  const gateways = spec.gateways ?? [];
  return gateways.length === 0 || gateways.includes('mesh');
}

function mergePolicy(base: TrafficPolicyView, over: TrafficPolicyView | undefined): TrafficPolicyView {
  if (!over) return base;
  return {
    loadBalancer: over.loadBalancer ?? base.loadBalancer,
    connectionPool: over.connectionPool ?? base.connectionPool,
    outlierDetection: over.outlierDetection ?? base.outlierDetection,
    tls: over.tls ?? base.tls,
  };
}

function portLevel(policy: TrafficPolicyView | undefined, port: number): TrafficPolicyView | undefined {
  return policy?.portLevelSettings?.find((p) => p.port?.number === port);
}

/** Builds the index of a model. Pure; the result is immutable like the model. */
export function indexModel(model: MeshModel): MeshIndex {
  const suffix = model.domainSuffix;
  const services = [...model.services.values()].sort((a, b) => a.hostname.localeCompare(b.hostname));
  const vsByHost = new Map<string, VirtualServiceEntry>();
  const drByHost = new Map<string, DestinationRuleEntry>();

  // host → candidates in config order; wildcard hosts are few and scanned per service.
  const vsExact = new Map<string, ConfigObject<VirtualServiceView>[]>();
  const vsWildcard: [string, ConfigObject<VirtualServiceView>][] = [];
  for (const vs of model.virtualServices as readonly ConfigObject<VirtualServiceView>[]) {
    if (!isMeshVirtualService(vs.spec)) continue;
    for (const h of vs.spec.hosts ?? []) {
      const host = resolveHost(h, vs.namespace, suffix);
      if (host.startsWith('*')) vsWildcard.push([host, vs]);
      else vsExact.set(host, [...(vsExact.get(host) ?? []), vs]);
    }
  }
  const drExact = new Map<string, ConfigObject<DestinationRuleView>[]>();
  const drWildcard: [string, ConfigObject<DestinationRuleView>][] = [];
  for (const dr of model.destinationRules as readonly ConfigObject<DestinationRuleView>[]) {
    if (!dr.spec.host) continue;
    const host = resolveHost(dr.spec.host, dr.namespace, suffix);
    if (host.startsWith('*')) drWildcard.push([host, dr]);
    else drExact.set(host, [...(drExact.get(host) ?? []), dr]);
  }
  /** Exact host matches first, own namespace first, then wildcards (same order). */
  const pick = <T extends { namespace: string }>(exact: T[] | undefined, wildcard: [string, T][], svc: ServiceModel): T | undefined => {
    const candidates = [...(exact ?? []), ...wildcard.filter(([h]) => hostMatches(h, svc.hostname)).map(([, o]) => o)];
    return candidates.find((c) => c.namespace === svc.namespace) ?? candidates[0];
  };
  for (const svc of services) {
    const vs = pick(vsExact.get(svc.hostname), vsWildcard, svc);
    if (vs) vsByHost.set(svc.hostname, { id: `${vs.namespace}/${vs.name}`, namespace: vs.namespace, spec: vs.spec });
    const dr = pick(drExact.get(svc.hostname), drWildcard, svc);
    if (dr) drByHost.set(svc.hostname, { id: `${dr.namespace}/${dr.name}`, namespace: dr.namespace, spec: dr.spec });
  }

  const subsetFor = (hostname: string, subset: string) => drByHost.get(hostname)?.spec.subsets?.find((s) => s.name === subset);

  return {
    model,
    services,
    virtualServiceFor: (h) => vsByHost.get(h),
    destinationRuleFor: (h) => drByHost.get(h),
    subsetFor,
    trafficPolicyFor(hostname, port, subset) {
      const dr = drByHost.get(hostname)?.spec;
      let policy: TrafficPolicyView = {};
      policy = mergePolicy(policy, dr?.trafficPolicy);
      policy = mergePolicy(policy, portLevel(dr?.trafficPolicy, port));
      if (subset) {
        const s = subsetFor(hostname, subset);
        policy = mergePolicy(policy, s?.trafficPolicy);
        policy = mergePolicy(policy, portLevel(s?.trafficPolicy, port));
      }
      return policy;
    },
    endpointsFor(hostname, subset) {
      const all = model.endpoints.get(hostname) ?? [];
      if (!subset) return all;
      const labels = subsetFor(hostname, subset)?.labels ?? {};
      const wanted = Object.entries(labels);
      return all.filter((w) => wanted.every(([k, v]) => w.labels[k] === v));
    },
    resolve: (host, namespace) => resolveHost(host, namespace, suffix),
  };
}
