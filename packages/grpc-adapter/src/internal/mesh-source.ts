/**
 * Config sources backed by `@weft/core`'s `Mesh` (the process's view of the mesh): the adapter
 * then shares the Mesh's xDS watches with every other user of it (the HTTP adapter), and
 * targets may use Istio short names (`xds:///reviews:9080` → `reviews.<ns>.svc.cluster.local:9080`).
 */
import { ErrorCode, isMeshError } from '@weft/xds-client';
import type { XdsConfig, XdsConfigWatcher } from '@weft/xds-client';
import type { XdsConfigSource } from './config-source.ts';

/** The slice of core's `Mesh` this adapter reads (core's `Mesh` satisfies it). */
export interface MeshLike {
  listenerNameFor(authority: string, defaultPort?: number): string;
  resolve(authority: string, defaultPort?: number): { readonly config: XdsConfig } | undefined;
  waitForHost(authority: string, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<{ readonly config: XdsConfig }>;
  onUpdate(listener: (listenerName: string, snapshot: { readonly config: XdsConfig } | undefined) => void): { [Symbol.dispose](): void };
}

const LISTENER_TYPE_URL = 'type.googleapis.com/envoy.config.listener.v3.Listener';
/** The Mesh's own wait is not the bound (the resolver has its own); this only keeps it pending. */
const MESH_WAIT_MS = 2_147_000_000;

/**
 * A config source over `mesh`. `watchXdsConfig(target)` maps the target's `host:port` to the
 * Mesh's listener name, delivers the current config and every update (asynchronously, never
 * twice the same object), the Mesh's xDS errors as `onError`, a removed listener as
 * `onResourceDoesNotExist`. Disposing the handle stops all of it.
 */
export function meshConfigSource(mesh: MeshLike): XdsConfigSource {
  return {
    watchXdsConfig(target: string, watcher: XdsConfigWatcher) {
      const listenerName = mesh.listenerNameFor(target);
      const abort = new AbortController();
      let last: XdsConfig | undefined;
      const deliver = (config: XdsConfig): void => {
        if (abort.signal.aborted || config === last) return;
        last = config;
        watcher.onUpdate(config);
      };
      const subscription = mesh.onUpdate((name, snapshot) => {
        if (name !== listenerName || abort.signal.aborted) return;
        if (snapshot !== undefined) deliver(snapshot.config);
        else {
          last = undefined;
          watcher.onResourceDoesNotExist({ typeUrl: LISTENER_TYPE_URL, name: listenerName });
        }
      });
      mesh.waitForHost(target, { signal: abort.signal, timeoutMs: MESH_WAIT_MS }).then(
        (snapshot) => deliver(snapshot.config),
        (err: unknown) => {
          if (abort.signal.aborted || !isMeshError(err)) return;
          if (err.code === ErrorCode.unknownHost) watcher.onResourceDoesNotExist({ typeUrl: LISTENER_TYPE_URL, name: listenerName });
          else watcher.onError(err);
        },
      );
      return {
        [Symbol.dispose]() {
          abort.abort();
          subscription[Symbol.dispose]();
        },
      };
    },
  };
}

/**
 * A source created on first use by `create()` (e.g. `Mesh.fromEnv()` wrapped in
 * {@link meshConfigSource}); watches made while it is being created start once it exists. A
 * rejected `create()` is reported to every watcher as `onError` (the resolver then fails its
 * calls with that error after its bounded wait).
 */
export function lazyConfigSource(create: () => Promise<XdsConfigSource>): XdsConfigSource {
  let pending: Promise<XdsConfigSource> | undefined;
  return {
    watchXdsConfig(target, watcher) {
      pending ??= create();
      let inner: { [Symbol.dispose](): void } | undefined;
      let isDisposed = false;
      pending.then(
        (source) => {
          if (!isDisposed) inner = source.watchXdsConfig(target, watcher);
        },
        (err: unknown) => {
          if (!isDisposed && isMeshError(err)) watcher.onError(err);
        },
      );
      return {
        [Symbol.dispose]() {
          isDisposed = true;
          inner?.[Symbol.dispose]();
        },
      };
    },
  };
}
