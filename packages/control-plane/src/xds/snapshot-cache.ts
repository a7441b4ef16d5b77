/**
 * Snapshots per (model generation, client profile), built lazily the first time a client of
 * that profile needs one and shared by all such clients. A generation that fails to build (an
 * inconsistent snapshot) is reported and the profile keeps serving its last good snapshot.
 */
import type { MeshModel } from '../model/mesh-model.ts';
import { capabilityProfileKey, type ClientCapabilities } from './client-capabilities.ts';
import { indexModel, type MeshIndex } from './mesh-index.ts';
import { buildSnapshot, type Snapshot } from './snapshot.ts';

/** A snapshot build that failed, as `/debug/syncz` shows it. */
export interface SnapshotFailure {
  generation: number;
  profile: string;
  message: string;
  at: string;
}

/** See the module comment. */
export interface SnapshotCache {
  /**
   * The snapshot of `model` for a client with `caps`, or the profile's last good one when this
   * model fails to build; `undefined` only when no generation ever built for this profile.
   */
  get(model: MeshModel, caps: ClientCapabilities): Snapshot | undefined;
  /** The most recent build failures (bounded). */
  readonly failures: readonly SnapshotFailure[];
}

/** Creates an empty cache. Holds at most the current generation's snapshots plus the last good per profile. */
export function createSnapshotCache(onFailure?: (f: SnapshotFailure) => void): SnapshotCache {
  let indexed: { model: MeshModel; index: MeshIndex } | undefined;
  let built = new Map<string, Snapshot | null>();
  const lastGood = new Map<string, Snapshot>();
  const failures: SnapshotFailure[] = [];
  return {
    failures,
    get(model, caps) {
      if (indexed?.model !== model) {
        indexed = { model, index: indexModel(model) };
        built = new Map();
      }
      const profile = capabilityProfileKey(caps);
      const hit = built.get(profile);
      if (hit !== undefined) return hit ?? lastGood.get(profile);
      try {
        const snap = buildSnapshot(indexed.index, caps, lastGood.get(profile));
        built.set(profile, snap);
        lastGood.set(profile, snap);
        return snap;
      } catch (err) {
        built.set(profile, null);
        const failure = { generation: model.generation, profile: caps.kind, message: err instanceof Error ? err.message : String(err), at: new Date().toISOString() };
        failures.push(failure);
        if (failures.length > 20) failures.shift();
        onFailure?.(failure);
        return lastGood.get(profile);
      }
    },
  };
}
