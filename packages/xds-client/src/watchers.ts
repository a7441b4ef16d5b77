/**
 * Resource watchers: who wants which (type, name), asynchronous delivery (never inside the
 * caller's `watch()`), and the does-not-exist timers (gRFC A27: a resource not received within
 * 15 s of being requested on a live stream is reported as not existing).
 */
import type { MeshError } from './errors.ts';

/** Receives the changes of one resource. Callbacks must not throw (throws are swallowed). */
export interface ResourceWatcher<T> {
  /** A new valid value (also the cached one right after `watch()`, asynchronously). */
  onChanged(value: T): void;
  /** The resource was NACKed or the stream is down; the last value stays valid. */
  onError(error: MeshError): void;
  /** The server says it does not exist (removal, or nothing came within the timeout). */
  onDoesNotExist(): void;
}

/** What `watch()` returns: cancel with `cancel()` or `using`. Cancelling twice is harmless. */
export interface WatchHandle {
  cancel(): void;
  [Symbol.dispose](): void;
}

type AnyWatcher = ResourceWatcher<never>;

function key(typeUrl: string, name: string): string {
  return `${typeUrl}\u0000${name}`;
}

/** See the module comment. */
export class WatcherRegistry {
  readonly #watchers = new Map<string, Set<AnyWatcher>>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #timeoutMs: number;
  #isClosed = false;

  /** `doesNotExistTimeoutMs`: default 15,000 (A27). */
  constructor(doesNotExistTimeoutMs = 15_000) {
    this.#timeoutMs = doesNotExistTimeoutMs;
  }

  /** Adds a watcher; returns true when it is the first one of this resource. */
  add(typeUrl: string, name: string, watcher: AnyWatcher): boolean {
    const k = key(typeUrl, name);
    let set = this.#watchers.get(k);
    const isFirst = !set;
    if (!set) this.#watchers.set(k, (set = new Set()));
    set.add(watcher);
    return isFirst;
  }

  /** Removes a watcher; returns true when none is left for this resource. */
  remove(typeUrl: string, name: string, watcher: AnyWatcher): boolean {
    const k = key(typeUrl, name);
    const set = this.#watchers.get(k);
    if (!set || !set.delete(watcher)) return false;
    if (set.size > 0) return false;
    this.#watchers.delete(k);
    this.cancelTimer(typeUrl, name);
    return true;
  }

  /** True when someone watches the resource. */
  isWatched(typeUrl: string, name: string): boolean {
    return this.#watchers.has(key(typeUrl, name));
  }

  /**
   * Calls `deliver` for each current watcher of the resource, later (setImmediate), skipping
   * watchers removed meanwhile. A throwing watcher does not stop the others.
   */
  notify(typeUrl: string, name: string, deliver: (w: AnyWatcher) => void): void {
    const set = this.#watchers.get(key(typeUrl, name));
    if (!set || set.size === 0) return;
    this.deliverTo([...set], typeUrl, name, deliver);
  }

  /** Calls `deliver` later for the given watchers still registered for the resource. */
  deliverTo(watchers: readonly AnyWatcher[], typeUrl: string, name: string, deliver: (w: AnyWatcher) => void): void {
    setImmediate(() => {
      if (this.#isClosed) return;
      const current = this.#watchers.get(key(typeUrl, name));
      for (const w of watchers) {
        if (!current?.has(w)) continue;
        try {
          deliver(w);
        } catch {
          // A watcher's own failure must not break delivery to others or the stream.
        }
      }
    });
  }

  /** Starts (or keeps) the does-not-exist timer of a resource; `onExpire` runs when it fires. */
  startTimer(typeUrl: string, name: string, onExpire: () => void): void {
    const k = key(typeUrl, name);
    if (this.#timers.has(k) || this.#isClosed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(k);
      onExpire();
    }, this.#timeoutMs);
    timer.unref();
    this.#timers.set(k, timer);
  }

  /** Cancels the does-not-exist timer of a resource, if any. */
  cancelTimer(typeUrl: string, name: string): void {
    const k = key(typeUrl, name);
    clearTimeout(this.#timers.get(k));
    this.#timers.delete(k);
  }

  /** Cancels every timer (the stream went down: A27 timers only run on a live stream). */
  cancelAllTimers(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  /** Drops every watcher and timer; nothing is delivered afterwards. Idempotent. */
  close(): void {
    this.#isClosed = true;
    this.cancelAllTimers();
    this.#watchers.clear();
  }
}
