/**
 * The dependency manager (in the spirit of gRFC A74): for one listener name it follows
 * LDS → RDS → CDS (including aggregate children, A37) → EDS, watching exactly the resources the
 * current config references and dropping the rest, and hands its {@link XdsConfigWatcher} a
 * complete {@link XdsConfig} whenever every referenced resource has resolved (received, or
 * known not to exist).
 */
import { ErrorCode, MeshError } from './errors.ts';
import { TypeUrl } from './protos.ts';
import type { XdsResourceTypeUrl, XdsResourceValues } from './resource-types/index.ts';
import type {
  Cluster,
  ClusterLoadAssignment,
  HttpConnectionManager,
  Listener,
  RouteConfiguration,
  XdsClusterConfig,
  XdsConfig,
  XdsConfigWatcher,
  XdsResult,
} from './resource-types/types.ts';
import type { ResourceWatcher, WatchHandle } from './watchers.ts';

/** The part of the client the manager needs. */
export interface ResourceWatchSource {
  watch<T extends XdsResourceTypeUrl>(typeUrl: T, name: string, watcher: ResourceWatcher<XdsResourceValues[T]>): WatchHandle;
}

/** Max depth of aggregate cluster nesting (A37). */
const MAX_AGGREGATE_DEPTH = 16;

type Slot<T> = { state: 'pending' } | { state: 'value'; value: T } | { state: 'missing' } | { state: 'error'; error: MeshError };

interface Watched<T> {
  readonly handle: WatchHandle;
  slot: Slot<T>;
}

/** See the module comment. Created by `XdsClient.watchXdsConfig`; `close()` cancels every watch. */
export class DependencyManager {
  readonly #source: ResourceWatchSource;
  readonly #listenerName: string;
  readonly #watcher: XdsConfigWatcher;
  readonly #listenerWatch: WatchHandle;
  #listener: Listener | undefined;
  #routeName: string | undefined;
  #routeWatch: WatchHandle | undefined;
  #routeConfig: RouteConfiguration | undefined;
  readonly #clusters = new Map<string, Watched<Cluster>>();
  readonly #endpoints = new Map<string, Watched<ClusterLoadAssignment>>();
  #isClosed = false;

  constructor(source: ResourceWatchSource, listenerName: string, watcher: XdsConfigWatcher) {
    this.#source = source;
    this.#listenerName = listenerName;
    this.#watcher = watcher;
    this.#listenerWatch = source.watch(TypeUrl.listener, listenerName, {
      onChanged: (l) => this.#onListener(l),
      onError: (e) => this.#call(() => this.#watcher.onError(e)),
      onDoesNotExist: () => {
        this.#listener = undefined;
        this.#setRoute(undefined);
        this.#dropClusters();
        this.#call(() => this.#watcher.onResourceDoesNotExist({ typeUrl: TypeUrl.listener, name: listenerName }));
      },
    });
  }

  /** Cancels every watch; no callback runs afterwards. Idempotent. */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#listenerWatch.cancel();
    this.#routeWatch?.cancel();
    this.#dropClusters();
  }

  /** Cancels the cluster and endpoint watches (nothing references them any more). */
  #dropClusters(): void {
    for (const w of this.#clusters.values()) w.handle.cancel();
    for (const w of this.#endpoints.values()) w.handle.cancel();
    this.#clusters.clear();
    this.#endpoints.clear();
  }

  #call(fn: () => void): void {
    if (this.#isClosed) return;
    try {
      fn();
    } catch {
      // Watcher failures never reach the stream.
    }
  }

  #hcm(l: Listener): HttpConnectionManager | undefined {
    return l.httpConnectionManager ?? l.defaultFilterChain?.httpConnectionManager ?? l.filterChains[0]?.httpConnectionManager;
  }

  #onListener(l: Listener): void {
    this.#listener = l;
    const hcm = this.#hcm(l);
    if (hcm?.routeSource.type === 'rds') {
      this.#setRoute(hcm.routeSource.routeConfigName);
    } else {
      this.#setRoute(undefined);
      this.#routeConfig = hcm?.routeSource.type === 'inline' ? hcm.routeSource.routeConfig : emptyRouteConfig(l.name);
    }
    this.#update();
  }

  #setRoute(name: string | undefined): void {
    if (name === this.#routeName) return;
    this.#routeWatch?.cancel();
    this.#routeWatch = undefined;
    this.#routeName = name;
    this.#routeConfig = undefined;
    if (name === undefined) return;
    this.#routeWatch = this.#source.watch(TypeUrl.routeConfiguration, name, {
      onChanged: (rc) => {
        if (this.#routeName !== name) return;
        this.#routeConfig = rc;
        this.#update();
      },
      onError: (e) => this.#call(() => this.#watcher.onError(e)),
      onDoesNotExist: () => {
        if (this.#routeName !== name) return;
        this.#routeConfig = undefined;
        this.#dropClusters();
        this.#call(() => this.#watcher.onResourceDoesNotExist({ typeUrl: TypeUrl.routeConfiguration, name }));
      },
    });
  }

  #watchCluster(name: string): Watched<Cluster> {
    return this.#watchLeaf(this.#clusters, TypeUrl.cluster, name);
  }

  #watchEndpoints(name: string): Watched<ClusterLoadAssignment> {
    return this.#watchLeaf(this.#endpoints, TypeUrl.clusterLoadAssignment, name);
  }

  /**
   * The watch of a cluster or assignment `name` in `watches`, started on first use. A value, or
   * its absence, re-walks the closure; an invalid resource is an error only until a good value
   * has been seen (the last good value keeps serving after that).
   */
  #watchLeaf<U extends typeof TypeUrl.cluster | typeof TypeUrl.clusterLoadAssignment>(
    watches: Map<string, Watched<XdsResourceValues[U]>>,
    typeUrl: U,
    name: string,
  ): Watched<XdsResourceValues[U]> {
    const existing = watches.get(name);
    if (existing) return existing;
    const entry: Watched<XdsResourceValues[U]> = {
      slot: { state: 'pending' },
      handle: this.#source.watch(typeUrl, name, {
        onChanged: (value) => {
          entry.slot = { state: 'value', value };
          this.#update();
        },
        onError: (e) => {
          if (e.code !== ErrorCode.xdsInvalid || entry.slot.state === 'value') return;
          entry.slot = { state: 'error', error: e };
          this.#update();
        },
        onDoesNotExist: () => {
          entry.slot = { state: 'missing' };
          this.#update();
        },
      }),
    };
    watches.set(name, entry);
    return entry;
  }

  /** Re-walks the closure, adjusts the watches, and emits when everything has resolved. */
  #update(): void {
    if (this.#isClosed || !this.#listener || !this.#routeConfig) return;
    const routeConfig = this.#routeConfig;
    const neededClusters = new Set<string>();
    const neededEndpoints = new Set<string>();
    const clusters = new Map<string, XdsResult<XdsClusterConfig>>();
    let isComplete = true;

    const visit = (name: string, depth: number): string[] | undefined => {
      neededClusters.add(name);
      const w = this.#watchCluster(name);
      const slot = w.slot;
      if (slot.state === 'pending') {
        isComplete = false;
        return undefined;
      }
      if (slot.state !== 'value') {
        clusters.set(name, { ok: false, error: slotError(slot, 'Cluster', name) });
        return [];
      }
      const cluster = slot.value;
      const d = cluster.discovery;
      if (d.type === 'aggregate') {
        if (depth >= MAX_AGGREGATE_DEPTH) {
          clusters.set(name, { ok: false, error: new MeshError(ErrorCode.xdsInvalid, `aggregate cluster ${name} nests deeper than ${MAX_AGGREGATE_DEPTH}`) });
          return [];
        }
        const leaves: string[] = [];
        for (const child of d.clusters) {
          if (child === name) continue;
          const l = visit(child, depth + 1);
          if (l) for (const leaf of l) if (!leaves.includes(leaf)) leaves.push(leaf);
        }
        clusters.set(name, { ok: true, value: { cluster, leafClusters: leaves } });
        return leaves;
      }
      if (d.type === 'eds') {
        neededEndpoints.add(d.serviceName);
        const e = this.#watchEndpoints(d.serviceName).slot;
        if (e.state === 'pending') {
          isComplete = false;
          return undefined;
        }
        const endpoints = e.state === 'value' ? e.value : emptyAssignment(d.serviceName);
        clusters.set(name, { ok: true, value: { cluster, endpoints } });
      } else if (d.type === 'static') {
        clusters.set(name, { ok: true, value: { cluster, endpoints: d.endpoints } });
      } else {
        clusters.set(name, { ok: true, value: { cluster } });
      }
      return [name];
    };

    for (const name of referencedClusters(routeConfig)) visit(name, 0);

    for (const [name, w] of this.#clusters) {
      if (!neededClusters.has(name)) {
        w.handle.cancel();
        this.#clusters.delete(name);
      }
    }
    for (const [name, w] of this.#endpoints) {
      if (!neededEndpoints.has(name)) {
        w.handle.cancel();
        this.#endpoints.delete(name);
      }
    }
    if (!isComplete) return;
    const config: XdsConfig = { listenerName: this.#listenerName, listener: this.#listener, routeConfig, clusters };
    this.#call(() => this.#watcher.onUpdate(config));
  }
}

function slotError(slot: Slot<unknown>, kind: string, name: string): MeshError {
  if (slot.state === 'error') return slot.error;
  return new MeshError(ErrorCode.xdsNotFound, `${kind} ${name} does not exist on the xDS server`, { details: { name } });
}

function emptyAssignment(name: string): ClusterLoadAssignment {
  return { clusterName: name, localities: [], overprovisioningFactor: 1.4, dropOverloads: [] };
}

function emptyRouteConfig(name: string): RouteConfiguration {
  return { name, virtualHosts: [], requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] };
}

/** Every cluster a route configuration can send traffic to (clusters, weighted clusters, mirrors). */
export function referencedClusters(rc: RouteConfiguration): string[] {
  const out = new Set<string>();
  for (const vh of rc.virtualHosts) {
    for (const route of vh.routes) {
      if (route.action.type !== 'route') continue;
      const a = route.action.route;
      if (a.clusterSpecifier.type === 'cluster') out.add(a.clusterSpecifier.cluster);
      else if (a.clusterSpecifier.type === 'weightedClusters') for (const c of a.clusterSpecifier.clusters) out.add(c.name);
      for (const m of a.requestMirrorPolicies) out.add(m.cluster);
    }
  }
  return [...out];
}
