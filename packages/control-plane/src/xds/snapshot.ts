/**
 * A snapshot: every resource of one model generation for one client profile, each encoded to
 * its protobuf `Any` exactly once and shared by every client of that profile. A snapshot is
 * checked for consistency (every RDS name a listener names and every cluster a route names
 * exists, every EDS cluster has its assignment) before any client may see it.
 */
import { createHash } from 'node:crypto';
import { MeshError, TypeUrl, type AnyMessage } from '@weft/xds-client';
import { packResource } from './generators/pack.ts';
import type { ClientCapabilities, Omission } from './client-capabilities.ts';
import { buildCluster, generateClusters } from './generators/cluster.ts';
import { generateEndpoints } from './generators/endpoint.ts';
import { applyLocalityLb, type ClientPlacement } from './generators/locality-lb.ts';

export type { ClientPlacement } from './generators/locality-lb.ts';
import { buildListener, generateListeners, listenerFilters } from './generators/listener.ts';
import { generateRoutes } from './generators/route.ts';
import { generateEnvoyResources } from './envoy/generate.ts';
import type { GeneratedResource, GeneratorContext } from './generators/types.ts';
import type { MeshIndex } from './mesh-index.ts';
import { isSameMessage } from './snapshot-reuse.ts';
import { listenerName, parseClusterName, resolveHost, splitHostPort } from './names.ts';

/** One resource, encoded once. */
export interface EncodedResource {
  name: string;
  /** Content hash of the encoded bytes: equal bytes, equal version. */
  version: string;
  any: AnyMessage;
  /** The plain message, for `/debug/config_dump`. */
  message: Record<string, unknown>;
  /** The SotW `resources` field bytes, built on first use and shared by every client. */
  sotwField?: Buffer;
  /** The delta `resources` field bytes (a `Resource` named `name`), built on first use and shared likewise. */
  deltaField?: Buffer;
  /**
   * JSON of `message`, where a builder keys its encodings by content (inbound listeners); unset
   * for snapshot resources, which compare messages structurally (see snapshot-reuse.ts).
   */
  json?: string;
}

/** The resource types a snapshot holds, in the order istiod pushes them. */
export const SNAPSHOT_TYPES = [TypeUrl.cluster, TypeUrl.clusterLoadAssignment, TypeUrl.listener, TypeUrl.routeConfiguration] as const;

/** A type URL held by snapshots. */
export type SnapshotTypeUrl = (typeof SNAPSHOT_TYPES)[number];

/** True when `typeUrl` is one the control plane serves. */
export function isSnapshotType(typeUrl: string): typeUrl is SnapshotTypeUrl {
  return (SNAPSHOT_TYPES as readonly string[]).includes(typeUrl);
}

/** One immutable, consistent set of resources; see the module comment. */
export interface Snapshot {
  /** Model generation it was built from. */
  generation: number;
  /** Model version plus profile. */
  version: string;
  /** The namespace-agnostic resources (every service; for listings and config dumps). */
  resources: ReadonlyMap<SnapshotTypeUrl, ReadonlyMap<string, EncodedResource>>;
  /** Features left out for this client profile. */
  omissions: readonly Omission[];
  /** Namespace views that failed their consistency check (their clients get nothing new). */
  readonly viewFailures: readonly string[];
  /**
   * The resource of that type and name as a client in `namespace` sees it: undefined when the
   * client may not see it (`exportTo`, Sidecar egress hosts), and the DestinationRule in force
   * for the client (its namespace first, then the service's, then the root namespace). Listener
   * names may be short (`catalog:50051`, `catalog.shop:50051`): they resolve in `namespace`
   * like istiod resolves them for proxyless clients, and the answer carries the requested name.
   * With `client` (the locality the client reports), a ClusterLoadAssignment carries the
   * priorities and weights of the cluster's `localityLbSetting` relative to that locality
   * (see generators/locality-lb.ts); without it, every priority is 0.
   */
  lookup(typeUrl: SnapshotTypeUrl, name: string, namespace: string, client?: ClientPlacement): EncodedResource | undefined;
  /**
   * The namespace views built so far, by client namespace (the next generation reuses their
   * encodings, and serves them when its own view of a namespace fails its consistency check).
   */
  readonly namespaceResources: ReadonlyMap<string, ReadonlyMap<SnapshotTypeUrl, ReadonlyMap<string, EncodedResource>>>;
  /** Every resource a client in `namespace` may see (for wildcard subscriptions). */
  resourcesFor(namespace: string): ReadonlyMap<SnapshotTypeUrl, ReadonlyMap<string, EncodedResource>> | undefined;
}

function encode(typeUrl: string, r: GeneratedResource, previous?: EncodedResource): EncodedResource {
  // the previous generation's encoding of an equal message is reused (no JSON, no re-encode)
  if (previous && previous.name === r.name && isSameMessage(r.message, previous.message)) return previous;
  const any = packResource(typeUrl, r.message);
  const version = createHash('sha256').update(any.value).digest('hex').slice(0, 16);
  return { name: r.name, version, any, message: r.message };
}

function routeClusters(route: GeneratedResource): string[] {
  const out: string[] = [];
  for (const vh of (route.message.virtual_hosts as { routes: Record<string, unknown>[] }[]) ?? []) {
    for (const r of vh.routes) {
      const action = r.route as { cluster?: string; weighted_clusters?: { clusters: { name: string }[] } } | undefined;
      if (!action) continue;
      out.push(...(action.cluster ? [action.cluster] : (action.weighted_clusters?.clusters ?? []).map((c) => c.name)));
    }
  }
  return out;
}

/**
 * Routes may name hosts that are not (yet) in the registry, or that this client may not see
 * (`exportTo`, Sidecar): Istio allows it (a warning), and a self-registering workload may appear
 * later. Such destinations get an empty EDS cluster, so calls fail like Envoy's "no cluster"
 * instead of the whole generation being refused. A subset that the DestinationRule of a visible
 * host does not define stays an error (inconsistent).
 */
function addPlaceholders(ctx: GeneratorContext, routes: GeneratedResource[], clusters: GeneratedResource[], assignments: GeneratedResource[]): void {
  const known = new Set(clusters.map((c) => c.name));
  for (const route of routes) {
    for (const name of routeClusters(route)) {
      const key = parseClusterName(name);
      if (known.has(name) || !key || ctx.index.isVisible(key.hostname)) continue;
      known.add(name);
      clusters.push(buildCluster(ctx, key.hostname, key.port, key.subset));
      assignments.push({ name, message: { cluster_name: name, endpoints: [] } });
      const why = ctx.index.model.services.has(key.hostname) ? `is not visible in namespace ${ctx.index.namespace ?? '?'} (exportTo / Sidecar)` : 'is not known (no ServiceEntry, no registered workload)';
      ctx.omit({ type: 'cluster', resource: name, field: 'destination.host', reason: `host ${key.hostname} ${why}: cluster sent without endpoints` });
    }
  }
}

/** Reasons the resources are not consistent (empty when they are). */
export function checkConsistency(resources: ReadonlyMap<SnapshotTypeUrl, ReadonlyMap<string, EncodedResource>>): string[] {
  const problems: string[] = [];
  const routes = resources.get(TypeUrl.routeConfiguration) ?? new Map();
  const clusters = resources.get(TypeUrl.cluster) ?? new Map();
  const assignments = resources.get(TypeUrl.clusterLoadAssignment) ?? new Map();
  for (const name of (resources.get(TypeUrl.listener) ?? new Map()).keys()) {
    if (!routes.has(name)) problems.push(`listener ${name} names RouteConfiguration ${name}, which does not exist`);
  }
  for (const route of routes.values()) {
    for (const vh of (route.message.virtual_hosts as { routes: Record<string, unknown>[] }[]) ?? []) {
      for (const r of vh.routes) {
        const action = r.route as { cluster?: string; weighted_clusters?: { clusters: { name: string }[] } } | undefined;
        if (!action) continue;
        const names = action.cluster ? [action.cluster] : (action.weighted_clusters?.clusters ?? []).map((c) => c.name);
        for (const c of names) if (!clusters.has(c)) problems.push(`RouteConfiguration ${route.name} route ${String(r.name)} names cluster ${c}, which does not exist`);
      }
    }
  }
  for (const name of clusters.keys()) if (!assignments.has(name)) problems.push(`cluster ${name} has no ClusterLoadAssignment`);
  return problems;
}

/** The resources of one view (see {@link MeshIndex.viewKey}), checked for consistency. */
interface ViewResources {
  resources: Map<SnapshotTypeUrl, Map<string, EncodedResource>>;
  omissions: Omission[];
  ctx: GeneratorContext;
  /** Listener aliases (short names) resolved so far, per client namespace and name. */
  aliases: Map<string, EncodedResource | null>;
  /** Assignments adjusted to a client locality, per name, locality (and labels when they matter). */
  placed: Map<string, EncodedResource>;
}

function buildView(index: MeshIndex, caps: ClientCapabilities, previous: ReadonlyMap<SnapshotTypeUrl, ReadonlyMap<string, EncodedResource>> | undefined): ViewResources {
  const omissions: Omission[] = [];
  const ctx: GeneratorContext = { index, caps, omit: (o) => omissions.push(o) };
  const clusters = generateClusters(ctx);
  const assignments = generateEndpoints(ctx);
  const routes = generateRoutes(ctx);
  addPlaceholders(ctx, routes, clusters, assignments);
  // Envoy sidecars get sidecar-shaped listeners and routes built on the same clusters and routes
  const generated: [SnapshotTypeUrl, GeneratedResource[]][] = ctx.caps.kind === 'envoy' ? generateEnvoyResources(ctx, { clusters, assignments, routes }) : [
    [TypeUrl.cluster, clusters],
    [TypeUrl.clusterLoadAssignment, assignments],
    [TypeUrl.listener, generateListeners(ctx)],
    [TypeUrl.routeConfiguration, routes],
  ];
  const resources = new Map<SnapshotTypeUrl, Map<string, EncodedResource>>();
  for (const [typeUrl, list] of generated) {
    const byName = new Map<string, EncodedResource>();
    const before = previous?.get(typeUrl);
    for (const r of list) byName.set(r.name, encode(typeUrl, r, before?.get(r.name)));
    resources.set(typeUrl, byName);
  }
  const problems = checkConsistency(resources);
  if (problems.length) {
    const where = index.namespace === undefined ? '' : ` for namespace ${index.namespace}`;
    throw new MeshError('WEFT_ERR_CONFIG_INVALID', `generation ${index.model.generation} is not consistent${where}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`, {
      details: { problems },
    });
  }
  return { resources, omissions, ctx, aliases: new Map(), placed: new Map() };
}

const MAX_ALIASES = 10_000;
const MAX_VIEWS = 256;
const MAX_PLACED = 10_000;

/** `found` (an assignment) as a client at `client` gets it under its cluster's locality LB setting. */
function placedAssignment(view: ViewResources, found: EncodedResource, client: ClientPlacement): EncodedResource {
  const key = parseClusterName(found.name);
  if (!key) return found;
  const policy = view.ctx.index.trafficPolicyFor(key.hostname, key.port, key.subset);
  if (!policy.loadBalancer?.localityLbSetting && !policy.outlierDetection) return found;
  const cacheKey = `${found.name}\u0000${client.locality}${policy.loadBalancer?.localityLbSetting?.failoverPriority?.length ? `\u0000${JSON.stringify(client.labels ?? {})}` : ''}`;
  const hit = view.placed.get(cacheKey);
  if (hit) return hit;
  const message = applyLocalityLb(found.message, policy, client);
  const placed = message ? encode(TypeUrl.clusterLoadAssignment, { name: found.name, message }) : found;
  if (view.placed.size < MAX_PLACED) view.placed.set(cacheKey, placed);
  return placed;
}

/** A resource of one view by name, resolving listener short names in `namespace`. */
function lookupIn(view: ViewResources, typeUrl: SnapshotTypeUrl, name: string, namespace: string, client: ClientPlacement | undefined): EncodedResource | undefined {
  const found = view.resources.get(typeUrl)?.get(name);
  if (found && client && typeUrl === TypeUrl.clusterLoadAssignment) return placedAssignment(view, found, client);
  if (found || typeUrl !== TypeUrl.listener) return found;
  const key = `${namespace}\u0000${name}`;
  const cached = view.aliases.get(key);
  if (cached !== undefined) return cached ?? undefined;
  const hp = splitHostPort(name);
  let alias: EncodedResource | null = null;
  if (hp) {
    const canonical = listenerName(resolveHost(hp.host, namespace, view.ctx.index.model.domainSuffix), hp.port);
    if (canonical !== name && view.resources.get(TypeUrl.listener)?.has(canonical)) {
      const host = canonical.slice(0, canonical.lastIndexOf(':'));
      alias = encode(TypeUrl.listener, buildListener(name, canonical, listenerFilters(view.ctx, host)));
    }
  }
  if (view.aliases.size < MAX_ALIASES) view.aliases.set(key, alias);
  return alias ?? undefined;
}

/** Resources of one type URL by name. */
type ResourceSet = ReadonlyMap<SnapshotTypeUrl, ReadonlyMap<string, EncodedResource>>;

/**
 * Generates, encodes and checks the snapshot of a model for one client profile; resources whose
 * message equals the one in `previous` (same profile) reuse its encoding and version. Throws a
 * MeshError `WEFT_ERR_CONFIG_INVALID` listing the inconsistencies; callers keep the last good
 * snapshot then.
 *
 * `resources` is the namespace-agnostic view (every service). What one client gets comes from
 * {@link Snapshot.lookup}: the view of its namespace (`exportTo`, Sidecar egress hosts, rule
 * precedence), built on first use and shared by every namespace that sees the same config. A
 * namespace view that is not consistent is reported in `viewFailures`, and its clients keep
 * getting that namespace's last good resources (carried from snapshot to snapshot as plain
 * resource maps: a snapshot never references an older snapshot, so generations do not chain in
 * memory).
 */
export function buildSnapshot(index: MeshIndex, caps: ClientCapabilities, previous?: Snapshot): Snapshot {
  const main = buildView(index, caps, previous?.resources);
  const earlier = previous?.namespaceResources;
  const views = new Map<string, ViewResources | null>([[index.viewKey, main]]);
  const byNamespace = new Map<string, ResourceSet>();
  const viewFailures: string[] = [];
  const remember = (namespace: string, resources: ResourceSet): void => {
    if (byNamespace.size >= MAX_VIEWS) byNamespace.delete(byNamespace.keys().next().value as string);
    byNamespace.set(namespace, resources);
  };
  const viewOf = (namespace: string): ViewResources | undefined => {
    const nsIndex = index.forNamespace(namespace);
    const hit = views.get(nsIndex.viewKey);
    if (hit !== undefined) {
      if (hit && !byNamespace.has(namespace)) remember(namespace, hit.resources);
      return hit ?? undefined;
    }
    let view: ViewResources | null = null;
    try {
      view = buildView(nsIndex, caps, earlier?.get(namespace) ?? main.resources);
      remember(namespace, view.resources);
    } catch (err) {
      if (viewFailures.length < 20) viewFailures.push(err instanceof Error ? err.message : String(err));
      // Carried forward, so the last good resources survive several bad generations in a row.
      const last = earlier?.get(namespace);
      if (last) remember(namespace, last);
    }
    // Bounded: past the limit the oldest view (never the namespace-agnostic one) is dropped.
    if (views.size >= MAX_VIEWS) {
      for (const key of views.keys()) {
        if (key !== index.viewKey) {
          views.delete(key);
          break;
        }
      }
    }
    views.set(nsIndex.viewKey, view);
    return view ?? undefined;
  };
  /** The last good resources of a namespace whose view failed in this generation. */
  const fallback = (namespace: string): ResourceSet | undefined => earlier?.get(namespace);
  return {
    generation: index.model.generation,
    version: index.model.version,
    resources: main.resources,
    omissions: main.omissions,
    viewFailures,
    namespaceResources: byNamespace,
    resourcesFor(namespace) {
      return viewOf(namespace)?.resources ?? fallback(namespace);
    },
    lookup(typeUrl, name, namespace, client) {
      const view = viewOf(namespace);
      if (view) return lookupIn(view, typeUrl, name, namespace, client?.locality ? client : undefined);
      return fallback(namespace)?.get(typeUrl)?.get(name);
    },
  };
}
