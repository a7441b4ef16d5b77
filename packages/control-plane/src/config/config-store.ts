/**
 * The config store: watches Istio YAML on disk and the registry of self-registered workloads,
 * and publishes one immutable MeshModel generation after each effective change. A change with
 * any error is rejected as a whole (`lastRejected`), and the previous generation keeps serving.
 */
import { watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { MeshError, isMeshError } from '@weft/xds-client';
import type { Finding, MeshModel } from '../model/mesh-model.ts';
import { buildCandidate, publishModel, type ModelSettings } from '../model/build-model.ts';
import { createRegistry, type Registry } from '../registry/registry.ts';
import { FindingCode, formatFinding, hasErrors, makeFinding } from './finding.ts';
import { createReadCache, readConfig } from './read-config.ts';
import type { AnyConfigObject } from './resource-parse.ts';
import { watchTree } from './tree-watcher.ts';

/** Options of {@link createConfigStore}. */
export interface ConfigStoreOptions {
  /** Files or directories (walked recursively for *.yaml / *.yml). */
  paths: string[];
  /** Watch the paths for changes (fs.watch, debounced); default true. */
  watch?: boolean;
  /** Quiet time after the last change before publishing, in ms (the change is read and built during it); default 100 (like istiod). */
  debounceMs?: number;
  /** Namespace of objects without `metadata.namespace`; default `default`. */
  defaultNamespace?: string;
  /** Namespace whose policies apply mesh-wide; default `istio-system`. */
  rootNamespace?: string;
  /** SPIFFE trust domain; default `cluster.local`. */
  trustDomain?: string;
  /** DNS suffix for short host names; default `svc.cluster.local`. */
  domainSuffix?: string;
}

/**
 * A live view of the mesh config. `current` always holds the last good generation; readers keep
 * the reference they got for the whole of their work. The store owns its watchers and timers
 * until `close()`.
 */
export interface ConfigStore {
  /** The last good generation (never undefined after creation). */
  readonly current: MeshModel;
  /** Error findings of the last rejected change; `[]` when the last change applied. */
  readonly lastRejected: readonly Finding[];
  /** Self-registered workloads; each change leads to a new generation (debounced). */
  readonly registry: Registry;
  /**
   * Subscribes to new generations. The listener is called asynchronously after each publish,
   * never from inside `onChange`; errors it throws are logged to stderr and do not stop others.
   */
  onChange(listener: (model: MeshModel) => void): { [Symbol.dispose](): void };
  /**
   * Subscribes to generations being prepared: each is built while the debounce still runs and
   * published (`onChange`, the same object) when it ends with no newer change, else dropped.
   * Lets consumers get ready for it ahead of time (the xDS server builds its snapshots).
   */
  onPending(listener: (model: MeshModel) => void): { [Symbol.dispose](): void };
  /** Stops watchers and timers; idempotent; resolves when an in-flight rebuild has finished. */
  close(): Promise<void>;
}

/** Quiet time after a change before the next generation is prepared (an editor's save is several events). */
const SETTLE_MS = 10;

/** A rebuild prepared for the changes up to `seq`: rejected findings, or what to publish. */
type Prepared =
  | { seq: number; filesAt: number; rejected: readonly Finding[] }
  | { seq: number; filesAt: number; rejected?: undefined; objects: readonly AnyConfigObject[]; readFindings: readonly Finding[]; model: MeshModel | undefined };

/** Calls a listener; what it throws is logged, never propagated. */
function notify(listener: (model: MeshModel) => void, model: MeshModel, what: string): void {
  try {
    listener(model);
  } catch (err) {
    process.stderr.write(`weft: config store ${what} listener failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
}

/**
 * Reads the config, publishes generation 1 and starts watching. Rejects with a MeshError
 * `WEFT_ERR_CONFIG_INVALID` (`details.findings` holds every error) when the initial config has
 * errors, and `WEFT_ERR_CONFIG_IO` when a path is missing or unreadable.
 */
export async function createConfigStore(options: ConfigStoreOptions): Promise<ConfigStore> {
  const settings: ModelSettings = {
    rootNamespace: options.rootNamespace ?? 'istio-system',
    trustDomain: options.trustDomain ?? 'cluster.local',
    domainSuffix: options.domainSuffix ?? 'svc.cluster.local',
  };
  const defaultNamespace = options.defaultNamespace ?? 'default';
  const debounceMs = options.debounceMs ?? 100;
  const registry = createRegistry();

  const cache = createReadCache();
  const first = await readConfig(options.paths, defaultNamespace, cache);
  const candidate = buildCandidate(first.objects, first.findings, registry.list(), settings, registry.endpointHealth());
  if (hasErrors(candidate.findings)) {
    const errors = candidate.findings.filter((f) => f.level === 'error');
    throw new MeshError('WEFT_ERR_CONFIG_INVALID', `config has ${errors.length} error(s):\n${errors.slice(0, 20).map((f) => `  ${formatFinding(f)}`).join('\n')}`, {
      details: { findings: errors },
    });
  }

  let current = publishModel(candidate, 1);
  let lastRejected: readonly Finding[] = [];
  let objects: readonly AnyConfigObject[] = first.objects;
  let readFindings: readonly Finding[] = first.findings;
  let closed = false;
  /** Counts changes (file events, registry mutations); a prepared rebuild is fresh while it has not moved. */
  let changeSeq = 0;
  /** `changeSeq` of the last file event; files are re-read while it is newer than what was committed. */
  let filesChangedAt = 0;
  let filesCommittedAt = 0;
  let settleTimer: NodeJS.Timeout | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let preparing: Promise<void> | undefined;
  let prepared: Prepared | undefined;
  let committing: Promise<void> | undefined;
  const listeners = new Set<(model: MeshModel) => void>();
  const pendingListeners = new Set<(model: MeshModel) => void>();
  const watchers: { close(): void }[] = [];

  /** Reads (if files changed) and builds the next generation without applying anything. */
  const prepare = async (): Promise<Prepared | undefined> => {
    const seq = changeSeq;
    const readFiles = filesChangedAt > filesCommittedAt;
    const filesAt = readFiles ? filesChangedAt : filesCommittedAt;
    let nextObjects = objects;
    let nextReadFindings = readFindings;
    if (readFiles) {
      try {
        const read = await readConfig(options.paths, defaultNamespace, cache);
        nextObjects = read.objects;
        nextReadFindings = read.findings;
      } catch (err) {
        const message = isMeshError(err) ? err.message : String(err);
        return { seq, filesAt, rejected: [makeFinding('error', FindingCode.unreadableFile, message)] };
      }
    }
    if (closed) return undefined;
    const next = buildCandidate(nextObjects, nextReadFindings, registry.list(), settings, registry.endpointHealth());
    if (hasErrors(next.findings)) return { seq, filesAt, rejected: next.findings.filter((f) => f.level === 'error') };
    const isUnchanged = next.model.version === current.version;
    const model = isUnchanged ? undefined : publishModel(next, current.generation + 1);
    if (model) for (const l of pendingListeners) notify(l, model, 'pending');
    return { seq, filesAt, objects: nextObjects, readFindings: nextReadFindings, model };
  };

  /** Prepares now unless a preparation is running (it is then re-run when it ends, if stale). */
  const prepareSoon = (): Promise<void> => {
    if (preparing) return preparing;
    if (closed || prepared?.seq === changeSeq) return Promise.resolve();
    const run = async (): Promise<void> => {
      while (!closed && prepared?.seq !== changeSeq) prepared = await prepare();
    };
    preparing = run().finally(() => {
      preparing = undefined;
    });
    return preparing;
  };

  /** At the end of the debounce: applies the prepared rebuild once it is fresh. */
  const commit = async (): Promise<void> => {
    await prepareSoon();
    const p = prepared;
    if (closed || !p || p.seq !== changeSeq) return;
    prepared = undefined;
    if (p.rejected) {
      filesCommittedAt = p.filesAt;
      reject(p.rejected);
      return;
    }
    objects = p.objects;
    readFindings = p.readFindings;
    // A registry-only rebuild says nothing about the files: a still-broken edit stays reported.
    if (p.filesAt > filesCommittedAt) lastRejected = [];
    filesCommittedAt = p.filesAt;
    // (a commit consumes what was prepared: a preparation always builds on the generation in force)
    if (!p.model) return;
    current = p.model;
    const published = current;
    // Ref'd on purpose: an unref'd immediate would wait for the next I/O or timer wake-up.
    setImmediate(() => {
      for (const l of listeners) notify(l, published, 'change');
    });
  };

  /**
   * A change: the rebuild is prepared once the change settled (read, validated and built while
   * the debounce runs, so publishing at its end costs nothing), and published when the debounce
   * ends with no newer change.
   */
  const schedule = (): void => {
    if (closed) return;
    changeSeq++;
    if (settleTimer) clearTimeout(settleTimer);
    settleTimer = setTimeout(() => {
      settleTimer = undefined;
      void prepareSoon();
    }, Math.min(SETTLE_MS, debounceMs));
    settleTimer.unref();
    if (deadlineTimer) clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(() => {
      deadlineTimer = undefined;
      // one commit at a time; a commit that finds its preparation stale waits for the next deadline
      const run: Promise<void> = (committing ?? Promise.resolve()).then(commit).finally(() => {
        // a commit chained behind this one is still running: it stays the one close() waits for
        if (committing === run) committing = undefined;
      });
      committing = run;
    }, debounceMs);
    deadlineTimer.unref();
  };

  const reject = (findings: readonly Finding[]): void => {
    lastRejected = findings;
    process.stderr.write(
      `weft: config change rejected, generation ${current.generation} keeps serving:\n${findings.slice(0, 20).map((f) => `  ${formatFinding(f)}`).join('\n')}\n`,
    );
  };

  registry.onMutate(() => {
    schedule();
  });

  if (options.watch ?? true) {
    const changed = (): void => {
      filesChangedAt = changeSeq + 1;
      schedule();
    };
    for (const p of options.paths) {
      const full = resolve(p);
      const failed = (err: Error): void => {
        process.stderr.write(`weft: watching ${p} failed: ${err.message}\n`);
      };
      if ((await stat(full)).isDirectory()) {
        // Not fs.watch recursive: see tree-watcher.ts for why (temp-file-then-rename saves).
        watchers.push(await watchTree(full, changed, failed));
        continue;
      }
      // A single file is watched through its directory, so a rename over it is seen too.
      const only = basename(full);
      const w = watch(dirname(full), { persistent: false }, (_event, filename) => {
        if (filename !== null && filename !== only) return;
        changed();
      });
      w.on('error', failed);
      watchers.push(w);
    }
  }

  return {
    get current() {
      return current;
    },
    get lastRejected() {
      return lastRejected;
    },
    registry,
    onChange(listener) {
      listeners.add(listener);
      return {
        [Symbol.dispose]() {
          listeners.delete(listener);
        },
      };
    },
    onPending(listener) {
      pendingListeners.add(listener);
      return {
        [Symbol.dispose]() {
          pendingListeners.delete(listener);
        },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      if (settleTimer) clearTimeout(settleTimer);
      if (deadlineTimer) clearTimeout(deadlineTimer);
      settleTimer = deadlineTimer = undefined;
      for (const w of watchers) w.close();
      watchers.length = 0;
      listeners.clear();
      pendingListeners.clear();
      await preparing;
      await committing;
    },
  };
}
