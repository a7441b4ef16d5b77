/**
 * The xDS client: one per process is the norm, shared by every channel and dispatcher (the
 * library keeps no global; the register hook owns the process-wide instance). It owns the
 * ADS stream, the resource cache and the watchers, applies the ACK/NACK rules per resource,
 * and exposes `watch()`, `watchXdsConfig()` (the LDS→RDS→CDS→EDS closure), `dump()` and
 * `close()`.
 */
import { AdsStream, type AdsProtocol, type AdsStreamHandler, type BackoffOptions } from './ads-stream.ts';
import type { DeltaResource, XdsNode } from './ads-service.ts';
import { loadBootstrap, type XdsBootstrap } from './bootstrap.ts';
import { DependencyManager } from './dependency-manager.ts';
import { ErrorCode, MeshError } from './errors.ts';
import { TypeUrl, type AnyMessage } from './protos.ts';
import { ResourceCache, type CachedResource, type ResourceErrorState, type ResourceStatus } from './resource-cache.ts';
import { decodeResource, isSupportedTypeUrl, type XdsResourceTypeUrl, type XdsResourceValue, type XdsResourceValues } from './resource-types/index.ts';
import type { XdsConfigWatcher } from './resource-types/types.ts';
import { WatcherRegistry, type ResourceWatcher, type WatchHandle } from './watchers.ts';

/** Options of {@link createXdsClient}. */
export interface XdsClientOptions {
  /** A parsed bootstrap, or A27 JSON (text or object). Default: {@link loadBootstrap} from the environment. */
  readonly bootstrap?: XdsBootstrap | string | Readonly<Record<string, unknown>>;
  /** Environment for the default bootstrap and `WEFT_XDS_PROTOCOL`; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** ADS variant; default `WEFT_XDS_PROTOCOL` or `auto` (Delta, SotW when the server lacks Delta). */
  readonly protocol?: AdsProtocol;
  /** Does-not-exist timeout (A27); default 15,000 ms. */
  readonly doesNotExistTimeoutMs?: number;
  /** Reconnect backoff; defaults 1 s initial, × 1.6, ±20 % jitter, 2 s max. */
  readonly backoff?: BackoffOptions;
}

/** One resource in {@link XdsClientDump} (CSDS `GenericXdsConfig` in spirit). */
export interface ResourceDump {
  readonly typeUrl: string;
  readonly name: string;
  readonly status: ResourceStatus;
  readonly version?: string;
  readonly lastUpdated?: string;
  readonly errorState?: ResourceErrorState;
  /** The decoded value (absent when none was ever accepted). */
  readonly value?: XdsResourceValue;
}

/** What {@link XdsClient.dump} returns: connection state and every watched resource. */
export interface XdsClientDump {
  readonly node: XdsNode;
  readonly server?: { readonly serverUri: string; readonly protocol: 'delta' | 'sotw' };
  readonly isConnected: boolean;
  readonly resources: readonly ResourceDump[];
}

/** See the module comment. Obtain with {@link createXdsClient}. */
export interface XdsClient {
  /** The bootstrap in use. */
  readonly bootstrap: XdsBootstrap;
  /**
   * Watches one resource. The stream starts on the first watch. The watcher gets the cached
   * value (if any) right after, never synchronously inside this call. Returns a disposable.
   */
  watch<T extends XdsResourceTypeUrl>(typeUrl: T, name: string, watcher: ResourceWatcher<XdsResourceValues[T]>): WatchHandle;
  /** Watches the complete, consistent config of one listener (see `XdsConfig`). */
  watchXdsConfig(listenerName: string, watcher: XdsConfigWatcher): WatchHandle;
  /** Every watched resource with version and status, for `/config_dump`. */
  dump(): XdsClientDump;
  /** Ends the stream, cancels every timer, drops every watcher. Idempotent; watch() afterwards throws. */
  close(): void;
}

const USER_AGENT_VERSION = '0.1.0';
const FULL_STATE_TYPES = new Set<string>([TypeUrl.listener, TypeUrl.cluster]);

class Client implements XdsClient, AdsStreamHandler {
  readonly bootstrap: XdsBootstrap;
  readonly #cache = new ResourceCache();
  readonly #watchers: WatcherRegistry;
  readonly #subs = new Map<string, Set<string>>();
  readonly #stream: AdsStream;
  readonly #node: XdsNode;
  #isStarted = false;
  #isConnected = false;
  /** A stream is open and our requests go out on it (A27 timers run only then). */
  #isStreamOpen = false;
  #isUnavailableReported = false;
  #isClosed = false;

  constructor(options: XdsClientOptions) {
    const env = options.env ?? process.env;
    const b = options.bootstrap;
    this.bootstrap = b && typeof b === 'object' && 'xdsServers' in b ? (b as XdsBootstrap) : loadBootstrap({ env, ...(b === undefined ? {} : { bootstrap: b as string }) });
    const protocol = options.protocol ?? (env['WEFT_XDS_PROTOCOL'] as AdsProtocol | undefined) ?? 'auto';
    if (!['auto', 'delta', 'sotw'].includes(protocol)) {
      throw new MeshError(ErrorCode.bootstrapInvalid, `WEFT_XDS_PROTOCOL: ${JSON.stringify(protocol)} is not auto, delta or sotw`);
    }
    this.#node = {
      ...this.bootstrap.node,
      user_agent_name: 'weft',
      user_agent_version: USER_AGENT_VERSION,
      client_features: ['envoy.lb.does_not_support_overprovisioning', 'xds.config.resource-in-sotw'],
    };
    this.#watchers = new WatcherRegistry(options.doesNotExistTimeoutMs);
    this.#stream = new AdsStream({
      servers: this.bootstrap.xdsServers,
      node: this.#node,
      protocol,
      handler: this,
      ...(options.backoff ? { backoff: options.backoff } : {}),
    });
  }

  watch<T extends XdsResourceTypeUrl>(typeUrl: T, name: string, watcher: ResourceWatcher<XdsResourceValues[T]>): WatchHandle {
    if (this.#isClosed) throw new MeshError(ErrorCode.closed, `xDS client is closed (watch ${name})`);
    if (!isSupportedTypeUrl(typeUrl)) throw new MeshError(ErrorCode.xdsInvalid, `unsupported resource type ${typeUrl}`);
    const w = watcher as ResourceWatcher<never>;
    const isFirst = this.#watchers.add(typeUrl, name, w);
    const entry = this.#cache.ensure(typeUrl, name);
    if (isFirst) {
      let names = this.#subs.get(typeUrl);
      if (!names) this.#subs.set(typeUrl, (names = new Set()));
      names.add(name);
      this.#stream.updateSubscription(typeUrl);
      if (this.#isStreamOpen && entry.status === 'REQUESTED') this.#startTimer(typeUrl, name);
      if (!this.#isStarted) {
        this.#isStarted = true;
        this.#stream.start();
      }
    } else if (entry.value !== undefined) {
      const value = entry.value;
      this.#watchers.deliverTo([w], typeUrl, name, (x) => x.onChanged(value as never));
    } else if (entry.status === 'DOES_NOT_EXIST') {
      this.#watchers.deliverTo([w], typeUrl, name, (x) => x.onDoesNotExist());
    } else if (entry.errorState) {
      const err = new MeshError(ErrorCode.xdsInvalid, `xDS resource rejected: ${entry.errorState.detail}`, { details: { typeUrl, name } });
      this.#watchers.deliverTo([w], typeUrl, name, (x) => x.onError(err));
    }
    let isCancelled = false;
    const cancel = (): void => {
      if (isCancelled) return;
      isCancelled = true;
      if (this.#isClosed) return;
      if (this.#watchers.remove(typeUrl, name, w)) {
        this.#subs.get(typeUrl)?.delete(name);
        this.#cache.delete(typeUrl, name);
        this.#stream.updateSubscription(typeUrl);
      }
    };
    return { cancel, [Symbol.dispose]: cancel };
  }

  watchXdsConfig(listenerName: string, watcher: XdsConfigWatcher): WatchHandle {
    if (this.#isClosed) throw new MeshError(ErrorCode.closed, `xDS client is closed (watch ${listenerName})`);
    const manager = new DependencyManager(this, listenerName, watcher);
    const cancel = (): void => manager.close();
    return { cancel, [Symbol.dispose]: cancel };
  }

  dump(): XdsClientDump {
    const resources: ResourceDump[] = [];
    for (const e of this.#cache.entries()) {
      resources.push({
        typeUrl: e.typeUrl,
        name: e.name,
        status: e.status,
        ...(e.version === undefined ? {} : { version: e.version }),
        ...(e.lastUpdatedMs === undefined ? {} : { lastUpdated: new Date(e.lastUpdatedMs).toISOString() }),
        ...(e.errorState ? { errorState: e.errorState } : {}),
        ...(e.value === undefined ? {} : { value: e.value }),
      });
    }
    const server = this.#stream.current;
    return { node: this.#node, ...(server ? { server } : {}), isConnected: this.#isConnected, resources };
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#watchers.close();
    this.#stream.close();
    this.#subs.clear();
  }

  // --- AdsStreamHandler -------------------------------------------------------------------

  subscriptions(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.#subs;
  }

  cachedVersions(typeUrl: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of this.#subs.get(typeUrl) ?? []) {
      const e = this.#cache.get(typeUrl, name);
      if (e?.value !== undefined && e.version !== undefined) out[name] = e.version;
    }
    return out;
  }

  onSotwResponse(typeUrl: string, version: string, resources: readonly AnyMessage[]): string | undefined {
    this.#markConnected();
    if (!isSupportedTypeUrl(typeUrl)) return `unsupported resource type ${typeUrl}`;
    const errors: string[] = [];
    const seen = new Set<string>();
    for (const any of resources) {
      const decoded = decodeResource(typeUrl, any);
      if (decoded.name !== '' && seen.has(decoded.name)) {
        errors.push(`${shortType(typeUrl)} ${decoded.name}: duplicate resource name in one response`);
        continue;
      }
      seen.add(decoded.name);
      const error = this.#apply(typeUrl, decoded.name, decoded.result, any, version);
      if (error) errors.push(error);
    }
    if (FULL_STATE_TYPES.has(typeUrl)) {
      // LDS/CDS responses hold every subscribed resource: one we had that is absent was deleted.
      // One never received is left to its timer (the response may predate our subscription).
      for (const name of this.#subs.get(typeUrl) ?? []) {
        if (!seen.has(name) && this.#cache.get(typeUrl, name)?.value !== undefined) this.#remove(typeUrl, name);
      }
    }
    return errors.length === 0 ? undefined : errors.join('; ');
  }

  onDeltaResponse(typeUrl: string, resources: readonly DeltaResource[], removed: readonly string[]): string | undefined {
    this.#markConnected();
    if (!isSupportedTypeUrl(typeUrl)) return `unsupported resource type ${typeUrl}`;
    const errors: string[] = [];
    for (const r of resources) {
      if (!r.resource) {
        errors.push(`${shortType(typeUrl)} ${r.name ?? ''}: resource body missing`);
        continue;
      }
      const decoded = decodeResource(typeUrl, r.resource);
      const name = r.name || decoded.name;
      if (decoded.name !== '' && r.name && decoded.name !== r.name) {
        errors.push(`${shortType(typeUrl)} ${r.name}: resource is named ${decoded.name}`);
        continue;
      }
      const error = this.#apply(typeUrl, name, decoded.result, r.resource, r.version ?? '');
      if (error) errors.push(error);
    }
    for (const name of removed) this.#remove(typeUrl, name);
    return errors.length === 0 ? undefined : errors.join('; ');
  }

  onStreamStarted(): void {
    this.#isStreamOpen = true;
    // A27: does-not-exist timers run from the request on a live stream.
    for (const [typeUrl, names] of this.#subs) {
      for (const name of names) if (this.#cache.get(typeUrl, name)?.status === 'REQUESTED') this.#startTimer(typeUrl, name);
    }
  }

  onStreamFailed(error: MeshError, hadResponse: boolean): void {
    this.#isConnected = false;
    this.#isStreamOpen = false;
    this.#watchers.cancelAllTimers();
    if (hadResponse || this.#isUnavailableReported || this.#isClosed) return;
    this.#isUnavailableReported = true;
    for (const [typeUrl, names] of this.#subs) {
      for (const name of names) this.#watchers.notify(typeUrl, name, (w) => w.onError(error));
    }
  }

  // --- internals --------------------------------------------------------------------------

  #markConnected(): void {
    this.#isConnected = true;
    this.#isUnavailableReported = false;
  }

  #startTimer(typeUrl: string, name: string): void {
    this.#watchers.startTimer(typeUrl, name, () => {
      const e = this.#cache.get(typeUrl, name);
      if (!e || e.status !== 'REQUESTED') return;
      this.#cache.markDoesNotExist(e);
      this.#watchers.notify(typeUrl, name, (w) => w.onDoesNotExist());
    });
  }

  /** Applies one decoded resource; returns the NACK text for it, if invalid. Unrequested resources are ignored. */
  #apply(typeUrl: string, name: string, result: ReturnType<typeof decodeResource>['result'], raw: AnyMessage, version: string): string | undefined {
    const entry: CachedResource | undefined = name === '' ? undefined : this.#cache.get(typeUrl, name);
    if (!result.ok) {
      const detail = `${shortType(typeUrl)} ${name || '(unnamed)'}: ${result.error}`;
      if (entry) {
        this.#watchers.cancelTimer(typeUrl, name);
        this.#cache.reject(entry, version, detail);
        const err = new MeshError(ErrorCode.xdsInvalid, `xDS resource rejected: ${detail}`, { details: { typeUrl, name, version } });
        this.#watchers.notify(typeUrl, name, (w) => w.onError(err));
        return detail;
      }
      // An invalid resource nobody asked for is still reported to the server.
      return name === '' ? detail : undefined;
    }
    if (!entry) return undefined;
    this.#watchers.cancelTimer(typeUrl, name);
    if (this.#cache.accept(entry, result.value, raw, version)) {
      const value = result.value;
      this.#watchers.notify(typeUrl, name, (w) => w.onChanged(value as never));
    }
    return undefined;
  }

  #remove(typeUrl: string, name: string): void {
    const e = this.#cache.get(typeUrl, name);
    if (!e || e.status === 'DOES_NOT_EXIST') return;
    this.#watchers.cancelTimer(typeUrl, name);
    const ignoreDeletion = this.bootstrap.xdsServers.some((s) => s.ignoreResourceDeletion);
    if (ignoreDeletion && e.value !== undefined) return;
    this.#cache.markDoesNotExist(e);
    this.#watchers.notify(typeUrl, name, (w) => w.onDoesNotExist());
  }
}

function shortType(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}

/**
 * Creates an xDS client. Nothing connects until the first `watch()`. Throws a MeshError
 * `WEFT_ERR_BOOTSTRAP_INVALID` when the bootstrap is missing or invalid. The caller owns the
 * client and closes it; it never keeps the process alive on its own.
 */
export function createXdsClient(options: XdsClientOptions = {}): XdsClient {
  return new Client(options);
}
