/**
 * Resource sets shared by streams: every stream that sees the same snapshot view (client
 * profile, namespace, and for assignments its locality) and subscribes to the same names of a
 * type wants the same resources. Such a set is looked up once per snapshot and handed to all of
 * them, with what a SotW response derives from it (the set's version and the encoded response up
 * to its per-stream nonce), so a push round over thousands of streams builds each distinct
 * response once instead of once per stream.
 *
 * The memo lives as long as its snapshot (a WeakMap keyed by it) and holds at most
 * {@link MAX_SHARED_SETS} sets; past that, streams compute their own. What is specific to one
 * stream is never shared: node-specific inbound listeners, and clusters or assignments that
 * stream was sent and that are still inside their removal delay (see `client-connection.ts`).
 */
import type { EncodedResource, Snapshot, SnapshotTypeUrl } from '../snapshot.ts';

/** One shared set; treat every field as immutable once built (streams keep references). */
export interface SharedSet {
  /** The resources by requested name. Never mutated: streams keep it as what they were sent. */
  readonly resources: Map<string, EncodedResource>;
  /** Subscribed names this snapshot does not hold (a stream that was sent one defers its removal itself). */
  readonly missing: readonly string[];
  /** SotW `version_info` of the set, computed on first use. */
  version?: string;
  /** SotW response bytes before the nonce field (version, resources, type URL), built on first use. */
  sotwHead?: Buffer;
  /** Sum of the encoded resources' sizes (the config-size metric). */
  bytes?: number;
}

/** Most shared sets kept per snapshot. */
export const MAX_SHARED_SETS = 10_000;

const memo = new WeakMap<Snapshot, Map<string, SharedSet | null>>();

/**
 * The shared set of `snapshot` under `key` (see {@link subscriptionKey}), computed by `build`
 * the first time (`undefined` from `build`: the set cannot be shared, and is not asked again).
 */
export function sharedSet(snapshot: Snapshot, key: string, build: () => SharedSet | undefined): SharedSet | undefined {
  let sets = memo.get(snapshot);
  if (!sets) {
    sets = new Map();
    memo.set(snapshot, sets);
  }
  const hit = sets.get(key);
  if (hit !== undefined) return hit ?? undefined;
  const built = build();
  if (sets.size < MAX_SHARED_SETS) sets.set(key, built ?? null);
  return built;
}

/**
 * The memo key of a subscription: type, view (namespace and placement) and the sorted names
 * (`*` first for a wildcard). Computed when the subscription changes, not per push.
 */
export function subscriptionKey(typeUrl: SnapshotTypeUrl, view: string, isWildcard: boolean, names: ReadonlySet<string>): string {
  return `${typeUrl}\u0000${view}\u0000${isWildcard ? '*' : ''}\u0000${[...names].sort().join('\u0000')}`;
}
