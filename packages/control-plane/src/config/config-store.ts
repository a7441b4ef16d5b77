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
  /** Quiet time after the last change before rebuilding, in ms; default 100 (like istiod). */
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
  /** Stops watchers and timers; idempotent; resolves when an in-flight rebuild has finished. */
  close(): Promise<void>;
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
  let filesDirty = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const listeners = new Set<(model: MeshModel) => void>();
  const watchers: { close(): void }[] = [];

  const schedule = (): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (running) {
        // A rebuild is in flight: run again once it is done, so no change is lost.
        void running.then(schedule);
        return;
      }
      running = rebuild().finally(() => {
        running = undefined;
      });
    }, debounceMs);
    timer.unref();
  };

  const reject = (findings: Finding[]): void => {
    lastRejected = findings;
    process.stderr.write(
      `weft: config change rejected, generation ${current.generation} keeps serving:\n${findings.slice(0, 20).map((f) => `  ${formatFinding(f)}`).join('\n')}\n`,
    );
  };

  const rebuild = async (): Promise<void> => {
    const readFiles = filesDirty;
    filesDirty = false;
    let nextObjects = objects;
    let nextReadFindings = readFindings;
    if (readFiles) {
      try {
        const read = await readConfig(options.paths, defaultNamespace, cache);
        nextObjects = read.objects;
        nextReadFindings = read.findings;
      } catch (err) {
        const message = isMeshError(err) ? err.message : String(err);
        reject([makeFinding('error', FindingCode.unreadableFile, message)]);
        return;
      }
    }
    if (closed) return;
    const next = buildCandidate(nextObjects, nextReadFindings, registry.list(), settings, registry.endpointHealth());
    if (hasErrors(next.findings)) {
      reject(next.findings.filter((f) => f.level === 'error'));
      return;
    }
    objects = nextObjects;
    readFindings = nextReadFindings;
    // A registry-only rebuild says nothing about the files: a still-broken edit stays reported.
    if (readFiles) lastRejected = [];
    if (next.model.version === current.version) return;
    current = publishModel(next, current.generation + 1);
    const published = current;
    // Ref'd on purpose: an unref'd immediate would wait for the next I/O or timer wake-up.
    setImmediate(() => {
      for (const l of listeners) {
        try {
          l(published);
        } catch (err) {
          process.stderr.write(`weft: config store listener failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        }
      }
    });
  };

  registry.onMutate(() => {
    schedule();
  });

  if (options.watch ?? true) {
    const changed = (): void => {
      filesDirty = true;
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
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const w of watchers) w.close();
      watchers.length = 0;
      listeners.clear();
      if (running) await running;
    },
  };
}
