/**
 * Long-lived runtime state per endpoint address of one cluster (active requests, ejection),
 * kept across EDS updates so that a config push does not reset LEAST_REQUEST counts or
 * un-eject an outlier.
 */
import type { EndpointState } from './types.ts';

/** `address:port`, or `[address]:port` when the address is IPv6 (Envoy's address string). */
export function endpointKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** An endpoint state whose `isEjected` setter tells its store that the healthy sets changed. */
class TrackedEndpointState implements EndpointState {
  activeRequests = 0;
  #isEjected = false;
  readonly #onChange: () => void;

  constructor(onChange: () => void) {
    this.#onChange = onChange;
  }

  get isEjected(): boolean {
    return this.#isEjected;
  }

  set isEjected(value: boolean) {
    if (value === this.#isEjected) return;
    this.#isEjected = value;
    this.#onChange();
  }
}

/**
 * Map from endpoint key to its {@link EndpointState}; one store per cluster name. Setting
 * `isEjected` on any state (outlier detection does, e.g. through `syncEjections`) bumps
 * {@link EndpointStateStore.ejectionVersion}; balancers compare it on each pick and rebuild
 * their tables once after a change.
 */
export class EndpointStateStore {
  readonly #states = new Map<string, EndpointState>();
  #ejectionVersion = 0;
  readonly #bump = (): void => void this.#ejectionVersion++;

  /** Increases whenever any endpoint's `isEjected` changes. */
  get ejectionVersion(): number {
    return this.#ejectionVersion;
  }

  /** The state for `key`, created (idle, not ejected) on first use. */
  get(key: string): EndpointState {
    let s = this.#states.get(key);
    if (s === undefined) {
      s = new TrackedEndpointState(this.#bump);
      this.#states.set(key, s);
    }
    return s;
  }

  /** The state for `key` if one exists. */
  peek(key: string): EndpointState | undefined {
    return this.#states.get(key);
  }

  /** Forgets every key not in `keys` (endpoints that left the cluster). */
  retainOnly(keys: ReadonlySet<string>): void {
    for (const k of this.#states.keys()) if (!keys.has(k)) this.#states.delete(k);
  }

  /** Number of tracked endpoints. */
  get size(): number {
    return this.#states.size;
  }
}
