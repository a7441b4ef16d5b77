/**
 * Lookups the generators share, computed once per model generation and client namespace:
 * which services a client may see (`exportTo`, Sidecar egress hosts), which VirtualService and
 * DestinationRule apply to a host for it, the effective traffic policy of a cluster (top level →
 * port level → subset → subset port level, field by field as Istio merges them), and the
 * endpoints of a subset.
 *
 * DestinationRule precedence follows istiod: a rule in the client's namespace, else one in the
 * service's namespace exported to the client, else one in the root namespace exported to the
 * client; rules elsewhere do not apply. VirtualServices visible to the client are preferred in
 * the client's namespace, then the service's, then in config order.
 */
import { createHash } from 'node:crypto';
import type { ConfigObject, MeshModel, ServiceModel, WorkloadInstance } from '../model/mesh-model.ts';
import type { DestinationRuleView, SidecarView, SubsetView, TrafficPolicyView, VirtualServiceView } from './generators/istio-views.ts';
import { hostMatches, resolveHost } from './names.ts';
import { compileEgress, isExportedTo, sidecarFor, type EgressFilter } from './visibility.ts';
import { tracingSamplingFor } from './telemetry-scope.ts';

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

/**
 * Read-only index over one {@link MeshModel}, as seen from one client namespace (or, for the
 * index `indexModel` returns, from no namespace in particular: every service, rules picked as
 * from the service's own namespace). See the module comment.
 */
export interface MeshIndex {
  readonly model: MeshModel;
  /** Client namespace of this view; undefined for the namespace-agnostic index. */
  readonly namespace: string | undefined;
  /**
   * Equal for two views that see the same services and pick the same rules for every host, so
   * they can share generated resources.
   */
  readonly viewKey: string;
  /** Tracing random-sampling percentage from the Telemetry in force (undefined: none set). */
  readonly tracingSamplingPercent: number | undefined;
  /** Services this view sees, sorted by host name (stable output order). */
  readonly services: readonly ServiceModel[];
  /** True when this view sees the service `hostname`. */
  isVisible(hostname: string): boolean;
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
  /** The view of a client in `namespace` (memoized per index). */
  forNamespace(namespace: string): MeshIndex;
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

/** Host → candidates in config order; wildcard hosts are few and scanned per service. */
interface HostTable<T> {
  exact: Map<string, T[]>;
  wildcard: [string, T][];
}

function addHost<T>(table: HostTable<T>, host: string, value: T): void {
  if (host.startsWith('*')) table.wildcard.push([host, value]);
  else {
    const list = table.exact.get(host);
    if (list) list.push(value);
    else table.exact.set(host, [value]);
  }
}

/** Exact host matches first, then wildcards, each in config order. */
function candidatesOf<T>(table: HostTable<T>, hostname: string): T[] {
  const exact = table.exact.get(hostname) ?? [];
  if (table.wildcard.length === 0) return exact;
  return [...exact, ...table.wildcard.filter(([h]) => hostMatches(h, hostname)).map(([, o]) => o)];
}

/** What every view of one model shares. */
interface Shared {
  model: MeshModel;
  allServices: readonly ServiceModel[];
  vsTable: HostTable<ConfigObject<VirtualServiceView>>;
  drTable: HostTable<ConfigObject<DestinationRuleView>>;
  views: Map<string, MeshIndex>;
}

const MAX_VIEWS = 1000;

/** Builds the namespace-agnostic index of a model. Pure; the result is immutable like the model. */
export function indexModel(model: MeshModel): MeshIndex {
  const suffix = model.domainSuffix;
  const vsTable: HostTable<ConfigObject<VirtualServiceView>> = { exact: new Map(), wildcard: [] };
  for (const vs of model.virtualServices as readonly ConfigObject<VirtualServiceView>[]) {
    if (!isMeshVirtualService(vs.spec)) continue;
    for (const h of vs.spec.hosts ?? []) addHost(vsTable, resolveHost(h, vs.namespace, suffix), vs);
  }
  const drTable: HostTable<ConfigObject<DestinationRuleView>> = { exact: new Map(), wildcard: [] };
  for (const dr of model.destinationRules as readonly ConfigObject<DestinationRuleView>[]) {
    if (dr.spec.host) addHost(drTable, resolveHost(dr.spec.host, dr.namespace, suffix), dr);
  }
  const shared: Shared = {
    model,
    allServices: [...model.services.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0)),
    vsTable,
    drTable,
    views: new Map(),
  };
  return buildView(shared, undefined);
}

function buildView(shared: Shared, namespace: string | undefined): MeshIndex {
  const { model } = shared;
  const suffix = model.domainSuffix;
  const root = model.rootNamespace;
  const sidecar = namespace === undefined ? undefined : sidecarFor(model.sidecars as readonly ConfigObject<SidecarView>[], namespace, root);
  const egress: EgressFilter | undefined = sidecar ? compileEgress(sidecar) : undefined;
  const sees = (exportTo: readonly string[] | undefined, configNamespace: string): boolean => namespace === undefined || isExportedTo(exportTo, configNamespace, namespace);

  const services = shared.allServices.filter((s) => sees(s.exportTo, s.namespace) && (!egress || egress.allows(s.namespace, s.hostname)));
  const visible = new Set(services.map((s) => s.hostname));
  const vsByHost = new Map<string, VirtualServiceEntry>();
  const drByHost = new Map<string, DestinationRuleEntry>();
  const tracingSamplingPercent = tracingSamplingFor(model.telemetries ?? [], namespace, root);
  // EnvoyFilters of the client's namespace and the root namespace shape its API listeners
  // (outbound local rate limit): views that differ in them must not share encodings.
  const envoyFilters = namespace === undefined ? [] : model.envoyFilters.filter((ef) => ef.namespace === namespace || ef.namespace === root).map((ef) => `${ef.namespace}/${ef.name}`);
  const signature: string[] = [`tracing ${tracingSamplingPercent ?? '-'}`, `envoyfilters ${envoyFilters.join(' ')}`];
  for (const svc of services) {
    const vsCandidates = candidatesOf(shared.vsTable, svc.hostname).filter(
      (vs) => sees(vs.spec.exportTo, vs.namespace) && (!egress || (vs.spec.hosts ?? []).some((h) => egress.allows(vs.namespace, resolveHost(h, vs.namespace, suffix)))),
    );
    const vs = (namespace !== undefined ? vsCandidates.find((c) => c.namespace === namespace) : undefined) ?? vsCandidates.find((c) => c.namespace === svc.namespace) ?? vsCandidates[0];
    if (vs) vsByHost.set(svc.hostname, { id: `${vs.namespace}/${vs.name}`, namespace: vs.namespace, spec: vs.spec });
    const drCandidates = candidatesOf(shared.drTable, svc.hostname);
    let dr: ConfigObject<DestinationRuleView> | undefined;
    if (namespace === undefined) {
      dr = drCandidates.find((c) => c.namespace === svc.namespace) ?? drCandidates.find((c) => c.namespace === root) ?? drCandidates[0];
    } else {
      dr =
        drCandidates.find((c) => c.namespace === namespace) ??
        drCandidates.find((c) => c.namespace === svc.namespace && isExportedTo(c.spec.exportTo, c.namespace, namespace)) ??
        drCandidates.find((c) => c.namespace === root && isExportedTo(c.spec.exportTo, c.namespace, namespace));
    }
    if (dr) drByHost.set(svc.hostname, { id: `${dr.namespace}/${dr.name}`, namespace: dr.namespace, spec: dr.spec });
    signature.push(`${svc.hostname} ${vs ? `${vs.namespace}/${vs.name}` : ''} ${dr ? `${dr.namespace}/${dr.name}` : ''}`);
  }
  const viewKey = createHash('sha256').update(signature.join('\n')).digest('hex').slice(0, 16);

  const subsetFor = (hostname: string, subset: string) => drByHost.get(hostname)?.spec.subsets?.find((s) => s.name === subset);

  const index: MeshIndex = {
    model,
    namespace,
    viewKey,
    tracingSamplingPercent,
    services,
    isVisible: (h) => visible.has(h),
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
    resolve: (host, ns) => resolveHost(host, ns, suffix),
    forNamespace(ns) {
      const hit = shared.views.get(ns);
      if (hit) return hit;
      const view = buildView(shared, ns);
      // Bounded: past the limit the oldest namespace's view is dropped (rebuilt if asked again).
      if (shared.views.size >= MAX_VIEWS) shared.views.delete(shared.views.keys().next().value as string);
      shared.views.set(ns, view);
      return view;
    },
  };
  return index;
}
