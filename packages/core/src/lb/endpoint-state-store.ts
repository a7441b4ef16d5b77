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

/** Map from endpoint key to its {@link EndpointState}; one store per cluster name. */
export class EndpointStateStore {
  readonly #states = new Map<string, EndpointState>();

  /** The state for `key`, created (idle, not ejected) on first use. */
  get(key: string): EndpointState {
    let s = this.#states.get(key);
    if (s === undefined) {
      s = { activeRequests: 0, isEjected: false };
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
