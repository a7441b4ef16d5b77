/**
 * The adapter's view of the mesh: a source of complete {@link XdsConfig} updates per listener
 * name (`host:port`). `@weft/xds-client`'s `XdsClient.watchXdsConfig` and core's Mesh satisfy
 * it; tests and benchmarks inject a static one. The adapter never parses xDS itself.
 */
import type { XdsConfig, XdsConfigWatcher } from '@weft/xds-client';

/**
 * Anything that delivers complete configs for a listener name. Contract (the same as the
 * xds-client's): the watcher is never called synchronously from `watchXdsConfig`, never after
 * the returned handle was disposed; `onError` keeps the last config valid.
 */
export interface XdsConfigSource {
  watchXdsConfig(listenerName: string, watcher: XdsConfigWatcher): { [Symbol.dispose](): void };
}

/** A config source whose configs are set by the owner (tests, benchmarks, static meshes). */
export interface StaticXdsConfigSource extends XdsConfigSource {
  /** Replaces (or adds) the config of `config.listenerName` and notifies its watchers asynchronously. */
  set(config: XdsConfig): void;
  /** Removes a listener: watchers get `onResourceDoesNotExist`. */
  delete(listenerName: string): void;
  /** Number of live watches (tests check that channels release theirs). */
  readonly watchCount: number;
}

const LISTENER_TYPE_URL = 'type.googleapis.com/envoy.config.listener.v3.Listener';

/**
 * Creates a {@link StaticXdsConfigSource} holding `configs`. A watch on an unknown name stays
 * silent until `set()` supplies it (the channel's calls wait, as for a slow control plane).
 */
export function createStaticXdsConfigSource(configs: readonly XdsConfig[] = []): StaticXdsConfigSource {
  const current = new Map<string, XdsConfig>(configs.map((c) => [c.listenerName, c]));
  const watchers = new Map<string, Set<XdsConfigWatcher>>();
  let watchCount = 0;
  const notify = (name: string, fn: (w: XdsConfigWatcher) => void): void => {
    for (const w of watchers.get(name) ?? []) {
      queueMicrotask(() => {
        if (!watchers.get(name)?.has(w)) return;
        try {
          fn(w);
        } catch {
          // watchers must not throw; ignored as the contract says
        }
      });
    }
  };
  return {
    get watchCount() {
      return watchCount;
    },
    set(config) {
      current.set(config.listenerName, config);
      notify(config.listenerName, (w) => w.onUpdate(config));
    },
    delete(listenerName) {
      current.delete(listenerName);
      notify(listenerName, (w) => w.onResourceDoesNotExist({ typeUrl: LISTENER_TYPE_URL, name: listenerName }));
    },
    watchXdsConfig(listenerName, watcher) {
      let set = watchers.get(listenerName);
      if (set === undefined) watchers.set(listenerName, (set = new Set()));
      set.add(watcher);
      watchCount++;
      const existing = current.get(listenerName);
      if (existing !== undefined) {
        queueMicrotask(() => {
          if (set.has(watcher)) watcher.onUpdate(existing);
        });
      }
      let isDisposed = false;
      return {
        [Symbol.dispose]() {
          if (isDisposed) return;
          isDisposed = true;
          watchCount--;
          set.delete(watcher);
        },
      };
    },
  };
}
