/**
 * Snapshots per (model generation, client profile), built lazily the first time a client of
 * that profile needs one and shared by all such clients. A generation that fails to build (an
 * inconsistent snapshot) is reported and the profile keeps serving its last good snapshot.
 * A generation not yet published can be built ahead ({@link SnapshotCache.prepare}); the cache
 * holds the snapshots of the two newest generations it was asked for (the one in force and the
 * one coming).
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
  /**
   * Builds the snapshot of a generation about to be published, so that `get` finds it built;
   * a failure is reported when `get` serves it, and the profile's last good snapshot is not
   * replaced until then.
   */
  prepare(model: MeshModel, caps: ClientCapabilities): void;
  /** The most recent build failures (bounded). */
  readonly failures: readonly SnapshotFailure[];
}

/** Creates an empty cache; see the module comment. */
export function createSnapshotCache(onFailure?: (f: SnapshotFailure) => void): SnapshotCache {
  /** Per generation (at most the two newest): its index and its snapshot (or build error) per profile. */
  const generations = new Map<MeshModel, { index: MeshIndex; built: Map<string, Snapshot | Error> }>();
  /** The snapshot served last per profile: the fallback of a failed build. */
  const lastGood = new Map<string, Snapshot>();
  /** The snapshot built last per profile: the base its successor reuses unchanged encodings from. */
  const lastBuilt = new Map<string, Snapshot>();
  const failures: SnapshotFailure[] = [];
  /** Build failures already reported (each once, when first served). */
  const reported = new WeakSet<Error>();

  function generationOf(model: MeshModel): { index: MeshIndex; built: Map<string, Snapshot | Error> } {
    let g = generations.get(model);
    if (!g) {
      g = { index: indexModel(model), built: new Map() };
      generations.set(model, g);
      if (generations.size > 2) generations.delete(generations.keys().next().value as MeshModel);
    }
    return g;
  }

  function build(model: MeshModel, caps: ClientCapabilities, profile: string): Snapshot | Error {
    const g = generationOf(model);
    let result = g.built.get(profile);
    if (result !== undefined) return result;
    try {
      result = buildSnapshot(g.index, caps, lastBuilt.get(profile));
      lastBuilt.set(profile, result);
    } catch (err) {
      result = err instanceof Error ? err : new Error(String(err));
    }
    g.built.set(profile, result);
    return result;
  }

  return {
    failures,
    get(model, caps) {
      const profile = capabilityProfileKey(caps);
      const result = build(model, caps, profile);
      if (!(result instanceof Error)) {
        lastGood.set(profile, result);
        return result;
      }
      if (!reported.has(result)) {
        reported.add(result);
        const failure = { generation: model.generation, profile: caps.kind, message: result.message, at: new Date().toISOString() };
        failures.push(failure);
        if (failures.length > 20) failures.shift();
        onFailure?.(failure);
      }
      return lastGood.get(profile);
    },
    prepare(model, caps) {
      build(model, caps, capabilityProfileKey(caps));
    },
  };
}
