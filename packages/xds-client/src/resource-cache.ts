/**
 * The process-wide cache of xDS resources, one entry per (type URL, name) that someone watches:
 * the last good decoded value, its version, its CSDS-style status and the last NACK. It holds
 * data only; the client decides what to put in it and whom to tell.
 */
import type { AnyMessage } from './protos.ts';
import type { XdsResourceValue } from './resource-types/index.ts';

/** CSDS `ClientResourceStatus` of a cached resource. */
export type ResourceStatus = 'REQUESTED' | 'DOES_NOT_EXIST' | 'ACKED' | 'NACKED';

/** The last rejected update of a resource (CSDS `UpdateFailureState`). */
export interface ResourceErrorState {
  /** Version of the update that was rejected. */
  readonly failedVersion: string;
  /** The validation error, as sent in the NACK's `error_detail`. */
  readonly detail: string;
  /** `Date.now()` when it was rejected. */
  readonly atMs: number;
}

/** One cache entry; `value` is the last good value and survives NACKs and stream loss. */
export interface CachedResource {
  readonly typeUrl: string;
  readonly name: string;
  status: ResourceStatus;
  /** Version of `value` (delta: the resource version; SotW: the response version). */
  version: string | undefined;
  value: XdsResourceValue | undefined;
  /** The bytes `value` was decoded from, to skip identical re-sends. */
  raw: AnyMessage | undefined;
  /** `Date.now()` of the last accepted change. */
  lastUpdatedMs: number | undefined;
  errorState: ResourceErrorState | undefined;
}

function sameBytes(a: AnyMessage | undefined, b: AnyMessage): boolean {
  return a !== undefined && a.type_url === b.type_url && Buffer.from(a.value).equals(Buffer.from(b.value));
}

/** See the module comment. */
export class ResourceCache {
  readonly #byType = new Map<string, Map<string, CachedResource>>();

  /** The entry, if the resource is watched. */
  get(typeUrl: string, name: string): CachedResource | undefined {
    return this.#byType.get(typeUrl)?.get(name);
  }

  /** The entry, created in status REQUESTED if absent. */
  ensure(typeUrl: string, name: string): CachedResource {
    let byName = this.#byType.get(typeUrl);
    if (!byName) this.#byType.set(typeUrl, (byName = new Map()));
    let entry = byName.get(name);
    if (!entry) {
      entry = { typeUrl, name, status: 'REQUESTED', version: undefined, value: undefined, raw: undefined, lastUpdatedMs: undefined, errorState: undefined };
      byName.set(name, entry);
    }
    return entry;
  }

  /** Forgets a resource nobody watches any more. */
  delete(typeUrl: string, name: string): void {
    this.#byType.get(typeUrl)?.delete(name);
  }

  /**
   * Stores a good value; returns false (and only refreshes the version) when the bytes equal
   * the cached ones, so watchers are not told about non-changes.
   */
  accept(entry: CachedResource, value: XdsResourceValue, raw: AnyMessage, version: string): boolean {
    const isSame = entry.status === 'ACKED' && sameBytes(entry.raw, raw);
    entry.version = version;
    entry.status = 'ACKED';
    entry.errorState = undefined;
    if (isSame) return false;
    entry.value = value;
    entry.raw = { type_url: raw.type_url, value: Buffer.from(raw.value) };
    entry.lastUpdatedMs = Date.now();
    return true;
  }

  /** Records a rejected update; the last good value stays. */
  reject(entry: CachedResource, version: string, detail: string): void {
    entry.status = 'NACKED';
    entry.errorState = { failedVersion: version, detail, atMs: Date.now() };
  }

  /** Marks a resource as absent on the server and drops its value. */
  markDoesNotExist(entry: CachedResource): void {
    entry.status = 'DOES_NOT_EXIST';
    entry.value = undefined;
    entry.raw = undefined;
    entry.version = undefined;
  }

  /** Names cached under a type. */
  names(typeUrl: string): string[] {
    return [...(this.#byType.get(typeUrl)?.keys() ?? [])];
  }

  /** Every entry, grouped by type in insertion order. */
  *entries(): IterableIterator<CachedResource> {
    for (const byName of this.#byType.values()) yield* byName.values();
  }
}
