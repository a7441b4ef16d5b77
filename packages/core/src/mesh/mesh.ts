/**
 * The `Mesh`: the process's in-memory view of the service mesh. It watches one xDS listener per
 * `host:port` the application calls (through an xds-client), compiles every update into an
 * immutable {@link HostSnapshot} and swaps it in atomically. Per request, adapters call
 * `resolve(authority)` (a map lookup), then `route()` and `pickEndpoint()` on the snapshot — no
 * awaits, nothing rebuilt. The first request to a never-seen host calls `waitForHost()`, which
 * is bounded in time and abortable.
 *
 * Lifetime: the Mesh owns the xds-client it created (not one passed in) and closes it in
 * `close()`, which is idempotent; it holds no timer that keeps the process alive.
 */
import { MeshError, ErrorCode, createXdsClient } from '@weft/xds-client';
import type { XdsClientOptions, XdsConfig, XdsConfigWatcher } from '@weft/xds-client';
import { compileCluster } from '../cluster/compiled-cluster.ts';
import type { CompiledCluster } from '../cluster/compiled-cluster.ts';
import { EndpointStateStore } from '../lb/endpoint-state-store.ts';
import { loadHasher } from '../lb/hasher.ts';
import type { Hasher } from '../lb/hasher.ts';
import type { Endpoint, RandomSource } from '../lb/types.ts';
import type { RequestFacts } from '../route/request-facts.ts';
import type { WorkloadIdentity } from '../identity/workload-identity.ts';
import { createCertificateProviders } from '../security/certificate-providers.ts';
import type { CertificateProviders } from '../security/certificate-providers.ts';
import { inboundListenerName, watchInboundPolicy } from '../security/inbound-watch.ts';
import type { InboundPolicyWatcher, ListenerWatchSource } from '../security/inbound-watch.ts';
import { listenerNameFor } from './authority.ts';
import { compileHostSnapshot } from './host-snapshot.ts';
import type { HostSnapshot, RouteDecision } from './host-snapshot.ts';

/** A watch handle as xds-client returns it: `cancel()` and/or `[Symbol.dispose]()`. */
export type XdsWatchHandle = { cancel(): void } | { [Symbol.dispose](): void };

/**
 * What the Mesh needs from an xds-client: complete per-listener updates
 * (`XdsClient.watchXdsConfig` of `@weft/xds-client`), an optional `close()`, and optionally the
 * bootstrap (for the listener name template and the node's namespace).
 */
export interface XdsConfigSource {
  watchXdsConfig(listenerName: string, watcher: XdsConfigWatcher): XdsWatchHandle;
  /** Single-resource watch (`XdsClient.watch`); needed by {@link Mesh.watchInbound}. */
  watch?: ListenerWatchSource['watch'];
  close?(): void | Promise<void>;
  readonly bootstrap?: {
    readonly clientDefaultListenerResourceNameTemplate?: string;
    /** A36 server listener name template; default `xds.istio.io/grpc/lds/inbound/%s`. */
    readonly serverListenerResourceNameTemplate?: string;
    /** Bootstrap `certificate_providers` (A29 `file_watcher` instances). */
    readonly certificateProviders?: Readonly<Record<string, import('@weft/xds-client').CertificateProviderConfig>>;
    readonly node?: { readonly metadata?: Readonly<Record<string, unknown>> };
  };
}

/**
 * Options of {@link Mesh.create}. Give `xdsClient` to share an existing client (the Mesh never
 * closes it), or leave it out and the Mesh creates its own from `xdsClientOptions` (bootstrap
 * from the environment by default) and closes it in `close()`.
 */
export interface MeshOptions {
  /** An xds-client to read config from; not owned by the Mesh. */
  xdsClient?: XdsConfigSource;
  /** Options for the xds-client the Mesh creates when `xdsClient` is absent. */
  xdsClientOptions?: XdsClientOptions;
  /**
   * Namespace that short names (`reviews:9080`) resolve in. Default: the bootstrap node's
   * `NAMESPACE` metadata, else `WEFT_NAMESPACE` of the client's environment, else `default`.
   */
  namespace?: string;
  /** Kubernetes cluster domain; default `cluster.local`. */
  clusterDomain?: string;
  /** Bound of `waitForHost` when the call gives none; default 10,000 ms. */
  firstConfigTimeoutMs?: number;
  /** Uniform [0, 1) source for weighted choices and pickers (tests inject a seeded one). */
  random?: RandomSource;
  /**
   * The workload's identity: certificate provider instance `default` of xDS TLS contexts (unless
   * the bootstrap defines that instance). Not owned by the Mesh; may also be set later with
   * {@link Mesh.setIdentity}.
   */
  identity?: WorkloadIdentity;
}

/** Options of {@link Mesh.waitForHost}. */
export interface WaitForHostOptions {
  signal?: AbortSignal;
  /** Overrides `MeshOptions.firstConfigTimeoutMs`. */
  timeoutMs?: number;
  /** Port used when the authority has none; default 80. */
  defaultPort?: number;
}

/** Everything one request needs: the snapshot it was routed on, the route, the cluster, the endpoint. */
export interface RoutedRequest extends RouteDecision {
  readonly host: HostSnapshot;
  readonly endpoint: Endpoint;
}

interface Waiter {
  resolve(host: HostSnapshot): void;
  reject(error: unknown): void;
}

interface HostEntry {
  readonly listenerName: string;
  snapshot: HostSnapshot | undefined;
  generation: number;
  /** Set when the server says the listener does not exist (until it appears again). */
  missing: MeshError | undefined;
  lastError: MeshError | undefined;
  readonly waiters: Set<Waiter>;
  handle: XdsWatchHandle | undefined;
}

/** Listener of {@link Mesh.onUpdate}. */
export type HostUpdateListener = (listenerName: string, snapshot: HostSnapshot | undefined) => void;

/** The in-process view of the mesh; see the module comment. */
export class Mesh {
  readonly #source: XdsConfigSource;
  readonly #ownsSource: boolean;
  readonly #hasher: Hasher;
  readonly #options: MeshOptions;
  readonly #byListener = new Map<string, HostEntry>();
  readonly #byAuthority = new Map<string, HostEntry>();
  readonly #states = new Map<string, EndpointStateStore>();
  readonly #compiledClusters = new Map<string, { config: unknown; compiled: CompiledCluster | MeshError }>();
  readonly #listeners = new Set<HostUpdateListener>();
  readonly #inboundWatches = new Set<{ cancel(): void }>();
  readonly #certificateProviders: CertificateProviders;
  #identity: WorkloadIdentity | undefined;
  #isClosed = false;

  readonly #namespace: string;
  readonly #nameTemplate: string;

  private constructor(options: MeshOptions, source: XdsConfigSource, hasher: Hasher, ownsSource: boolean) {
    this.#options = options;
    this.#source = source;
    this.#hasher = hasher;
    this.#ownsSource = ownsSource;
    const metaNamespace = source.bootstrap?.node?.metadata?.['NAMESPACE'];
    const envNamespace = (options.xdsClientOptions?.env ?? process.env)['WEFT_NAMESPACE'];
    this.#namespace = options.namespace ?? (typeof metaNamespace === 'string' && metaNamespace !== '' ? metaNamespace : envNamespace || 'default');
    this.#nameTemplate = source.bootstrap?.clientDefaultListenerResourceNameTemplate || '%s';
    this.#identity = options.identity;
    this.#certificateProviders = createCertificateProviders({ identity: () => this.#identity, bootstrapProviders: source.bootstrap?.certificateProviders });
  }

  /**
   * Creates a Mesh (see {@link MeshOptions} for who owns the xds-client). Asynchronous because
   * the hash module loads once; no watch starts until a host is resolved. Throws `MeshError`
   * `WEFT_ERR_BOOTSTRAP_INVALID` when the bootstrap is unusable.
   */
  static async create(options: MeshOptions = {}): Promise<Mesh> {
    const hasher = await loadHasher();
    if (options.xdsClient !== undefined) return new Mesh(options, options.xdsClient, hasher, false);
    return new Mesh(options, createXdsClient(options.xdsClientOptions), hasher, true);
  }

  /**
   * `Mesh.create()` with its own xds-client bootstrapped from `env` (default `process.env`):
   * `GRPC_XDS_BOOTSTRAP`, `GRPC_XDS_BOOTSTRAP_CONFIG`, else the `WEFT_*` variables.
   */
  static fromEnv(env: Readonly<Record<string, string | undefined>> = process.env, options: Omit<MeshOptions, 'xdsClient' | 'xdsClientOptions'> = {}): Promise<Mesh> {
    return Mesh.create({ ...options, xdsClientOptions: { env } });
  }

  /** The namespace short names resolve in. */
  get namespace(): string {
    return this.#namespace;
  }

  /**
   * The xDS listener name an authority maps to (`reviews:9080` →
   * `reviews.<ns>.svc.cluster.local:9080`, then the bootstrap's listener name template).
   */
  listenerNameFor(authority: string, defaultPort = 80): string {
    const name = listenerNameFor(authority, { namespace: this.#namespace, clusterDomain: this.#options.clusterDomain, defaultPort });
    return this.#nameTemplate === '%s' ? name : this.#nameTemplate.replace('%s', name);
  }

  /**
   * The current snapshot for `authority`, or `undefined` when none has arrived yet (the first
   * call starts the watch; use {@link waitForHost} to wait) or the server says it does not
   * exist. Synchronous; after the first call for an authority this is one map lookup. Throws
   * `WEFT_ERR_UNKNOWN_HOST` for a malformed authority and `WEFT_ERR_CLOSED` after `close()`.
   */
  resolve(authority: string, defaultPort = 80): HostSnapshot | undefined {
    const entry = this.#byAuthority.get(defaultPort === 80 ? authority : `${authority}#${defaultPort}`) ?? this.#entryFor(authority, defaultPort);
    return entry.snapshot;
  }

  /**
   * Resolves with the snapshot for `authority` as soon as one exists (at once when it already
   * does). Rejects with `WEFT_ERR_XDS_UNAVAILABLE` after the timeout (the message carries the
   * last xDS error), `WEFT_ERR_UNKNOWN_HOST` when the server says the listener does not exist,
   * the signal's reason when aborted, `WEFT_ERR_CLOSED` when the Mesh closes. While the wait
   * lasts (at most the timeout) it keeps the process alive, so a request made by a script's
   * last line is not cut off by the process exiting; nothing is held once it settles.
   */
  waitForHost(authority: string, options: WaitForHostOptions = {}): Promise<HostSnapshot> {
    let entry: HostEntry;
    try {
      const port = options.defaultPort ?? 80;
      entry = this.#byAuthority.get(port === 80 ? authority : `${authority}#${port}`) ?? this.#entryFor(authority, port);
    } catch (err) {
      return Promise.reject(err);
    }
    if (entry.snapshot !== undefined) return Promise.resolve(entry.snapshot);
    if (entry.missing !== undefined) return Promise.reject(entry.missing);
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const timeoutMs = options.timeoutMs ?? this.#options.firstConfigTimeoutMs ?? 10_000;
    return new Promise<HostSnapshot>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        entry.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        resolve: (h) => (finish(), resolve(h)),
        reject: (e) => (finish(), reject(e)),
      };
      const onAbort = (): void => waiter.reject(signal!.reason);
      const timer = setTimeout(() => {
        const last = entry.lastError === undefined ? '' : `; last xDS error: ${entry.lastError.message}`;
        waiter.reject(
          new MeshError(ErrorCode.xdsUnavailable, `no xDS config for ${authority} (listener ${entry.listenerName}) within ${timeoutMs} ms${last}`, {
            cause: entry.lastError,
            details: { host: authority, listener: entry.listenerName, timeoutMs },
          }),
        );
      }, timeoutMs);
      // Deliberately ref'd: while a caller waits, its bounded timer keeps the process alive (the
      // xds-client's sockets are unref'd, so a script whose only work is this request would
      // otherwise exit mid-request); cleared the moment the wait ends.
      signal?.addEventListener('abort', onAbort, { once: true });
      entry.waiters.add(waiter);
    });
  }

  /**
   * Routes and picks in one call: `resolve` + `route` + `pickEndpoint`. Throws `MeshError`:
   * `WEFT_ERR_XDS_UNAVAILABLE` when no config for the host has arrived yet (call `waitForHost`
   * first), `WEFT_ERR_NO_ROUTE` (`NR`), `WEFT_ERR_NO_HEALTHY_UPSTREAM` (`UH`). For redirects and
   * direct responses use `resolve()` and `route()` directly (they have no endpoint).
   */
  route(authority: string, req: RequestFacts): RoutedRequest {
    const host = this.resolve(authority);
    if (host === undefined) {
      throw new MeshError(ErrorCode.xdsUnavailable, `no xDS config for ${authority} yet`, { details: { host: authority } });
    }
    const decision = host.route(authority, req);
    const endpoint = host.pickEndpoint(decision.clusterName, req, decision.route);
    return { host, route: decision.route, clusterName: decision.clusterName, endpoint };
  }

  /** The workload identity in use (see {@link MeshOptions.identity}), if any. */
  get identity(): WorkloadIdentity | undefined {
    return this.#identity;
  }

  /**
   * Sets the workload identity after creation (e.g. once `WEFT_MTLS=on` created it). New TLS
   * connections use it at once; the Mesh does not own or close it.
   */
  setIdentity(identity: WorkloadIdentity | undefined): void {
    this.#identity = identity;
  }

  /** Resolves the certificate provider instances xDS TLS contexts name (identity or bootstrap files). */
  get certificateProviders(): CertificateProviders {
    return this.#certificateProviders;
  }

  /** The xDS server listener name of a served `port` (A36 template with `0.0.0.0:<port>`). */
  inboundListenerName(port: number): string {
    return inboundListenerName(port, this.#source.bootstrap?.serverListenerResourceNameTemplate);
  }

  /**
   * Watches the inbound (server) listener of a served port and delivers it compiled
   * ({@link InboundPolicy}): mTLS mode, RBAC, local rate limit. Callbacks are asynchronous.
   * Throws `WEFT_ERR_CLOSED` after `close()` and `WEFT_ERR_CONFIG_INVALID` when the xds-client
   * given to the Mesh has no single-resource `watch`. Returns a disposable; `close()` ends it too.
   */
  watchInbound(port: number, watcher: InboundPolicyWatcher): { cancel(): void; [Symbol.dispose](): void } {
    if (this.#isClosed) throw new MeshError(ErrorCode.closed, `the Mesh was closed; cannot watch inbound port ${port}`);
    const watch = this.#source.watch;
    if (watch === undefined) throw new MeshError(ErrorCode.configInvalid, 'the xds-client of this Mesh cannot watch single resources (no watch())');
    const handle = watchInboundPolicy({ watch: watch.bind(this.#source) }, this.inboundListenerName(port), port, watcher);
    const cancel = (): void => {
      handle.cancel();
      this.#inboundWatches.delete(entry);
    };
    const entry = { cancel };
    this.#inboundWatches.add(entry);
    return { cancel, [Symbol.dispose]: cancel };
  }

  /** Called after every snapshot swap (and with `undefined` on removal). Returns a disposable. */
  onUpdate(listener: HostUpdateListener): { [Symbol.dispose](): void; cancel(): void } {
    this.#listeners.add(listener);
    const cancel = (): void => void this.#listeners.delete(listener);
    return { cancel, [Symbol.dispose]: cancel };
  }

  /**
   * The long-lived endpoint states of `clusterName` (created empty if the cluster is not known
   * yet): where outlier detection marks ejections (e.g. `syncEjections(detector, store)`) and
   * adapters count active requests. The same store serves every snapshot of that cluster.
   */
  endpointStates(clusterName: string): EndpointStateStore {
    let states = this.#states.get(clusterName);
    if (states === undefined) this.#states.set(clusterName, (states = new EndpointStateStore()));
    return states;
  }

  /** Every listener currently watched with its snapshot (for `/config_dump`). */
  hosts(): ReadonlyMap<string, HostSnapshot | undefined> {
    return new Map([...this.#byListener].map(([k, e]) => [k, e.snapshot]));
  }

  /** Stops every watch, rejects pending waits with `WEFT_ERR_CLOSED`, closes an owned client. Idempotent. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    const closed = new MeshError(ErrorCode.closed, 'the Mesh was closed');
    for (const entry of this.#byListener.values()) {
      cancelHandle(entry.handle);
      entry.handle = undefined;
      for (const w of [...entry.waiters]) w.reject(closed);
    }
    this.#listeners.clear();
    for (const w of [...this.#inboundWatches]) w.cancel();
    if (this.#ownsSource) await this.#source.close?.();
  }

  #entryFor(authority: string, defaultPort: number): HostEntry {
    if (this.#isClosed) throw new MeshError(ErrorCode.closed, `the Mesh was closed; cannot resolve ${authority}`, { details: { host: authority } });
    const listenerName = this.listenerNameFor(authority, defaultPort);
    let entry = this.#byListener.get(listenerName);
    if (entry === undefined) {
      const created: HostEntry = { listenerName, snapshot: undefined, generation: 0, missing: undefined, lastError: undefined, waiters: new Set(), handle: undefined };
      entry = created;
      this.#byListener.set(listenerName, created);
      created.handle = this.#source.watchXdsConfig(listenerName, {
        onUpdate: (config) => this.#onUpdate(created, config),
        onError: (error) => void (created.lastError = error),
        onResourceDoesNotExist: (resource) => this.#onMissing(created, resource),
      });
    }
    this.#byAuthority.set(defaultPort === 80 ? authority : `${authority}#${defaultPort}`, entry);
    return entry;
  }

  #onUpdate(entry: HostEntry, config: XdsConfig): void {
    if (this.#isClosed) return;
    let snapshot: HostSnapshot;
    try {
      snapshot = compileHostSnapshot(entry.listenerName, entry.generation + 1, config, {
        hasher: this.#hasher,
        random: this.#options.random,
        cluster: (name, cfg) => this.#cluster(name, cfg),
      });
    } catch (err) {
      // Keep serving the last good snapshot; surface the problem to waiters' timeout message.
      entry.lastError = err instanceof MeshError ? err : new MeshError(ErrorCode.xdsInvalid, `listener ${entry.listenerName}: ${String(err)}`, { cause: err });
      return;
    }
    entry.generation = snapshot.generation;
    entry.snapshot = snapshot;
    this.#evictUnusedClusters();
    entry.missing = undefined;
    entry.lastError = undefined;
    for (const w of [...entry.waiters]) w.resolve(snapshot);
    this.#emit(entry.listenerName, snapshot);
  }

  #onMissing(entry: HostEntry, resource: { readonly typeUrl: string; readonly name: string }): void {
    if (this.#isClosed) return;
    entry.snapshot = undefined;
    entry.missing = new MeshError(ErrorCode.unknownHost, `${entry.listenerName}: the xDS server has no ${resource.typeUrl.split('.').pop()} ${resource.name}`, {
      details: { listener: entry.listenerName, resource: resource.name, typeUrl: resource.typeUrl },
    });
    for (const w of [...entry.waiters]) w.reject(entry.missing);
    this.#emit(entry.listenerName, undefined);
  }

  #cluster(name: string, config: XdsConfig): CompiledCluster | MeshError {
    const result = config.clusters.get(name)!;
    const cached = this.#compiledClusters.get(name);
    if (cached !== undefined && cached.config === result) return cached.compiled;
    let compiled: CompiledCluster | MeshError;
    if (!result.ok) compiled = result.error;
    else {
      try {
        compiled = compileCluster(result.value, { hasher: this.#hasher, states: this.endpointStates(name), random: this.#options.random, certificateProviders: this.#certificateProviders });
      } catch (err) {
        compiled = err instanceof MeshError ? err : new MeshError(ErrorCode.xdsInvalid, `cluster ${name}: ${String(err)}`, { cause: err });
      }
    }
    this.#compiledClusters.set(name, { config: result, compiled });
    return compiled;
  }

  /** Drops compiled clusters no current snapshot references (their endpoint states stay). */
  #evictUnusedClusters(): void {
    if (this.#compiledClusters.size <= 16) return;
    const used = new Set<string>();
    for (const e of this.#byListener.values()) for (const name of e.snapshot?.clusters.keys() ?? []) used.add(name);
    for (const name of this.#compiledClusters.keys()) if (!used.has(name)) this.#compiledClusters.delete(name);
  }

  #emit(listenerName: string, snapshot: HostSnapshot | undefined): void {
    for (const l of [...this.#listeners]) {
      try {
        l(listenerName, snapshot);
      } catch {
        // A listener's failure must not break config delivery.
      }
    }
  }
}

function cancelHandle(handle: XdsWatchHandle | undefined): void {
  if (handle === undefined) return;
  if ('cancel' in handle) handle.cancel();
  else handle[Symbol.dispose]();
}
