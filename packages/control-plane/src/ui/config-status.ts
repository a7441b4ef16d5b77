/**
 * `/debug/config_status`: what is wrong with the mesh config and how clients took it — the
 * error findings of the last rejected change (the previous generation keeps serving), the
 * warnings of the generation in force, and the recent NACKs, newest first. NACKs come from each
 * connected client's latest NACK per type; a {@link NackLog} keeps the ones it has seen (up to a
 * cap) after the client moved on or disconnected.
 */
import type { Finding, MeshModel } from '../model/mesh-model.ts';
import type { SyncReport } from '../xds/sync-report.ts';

/** One NACK of `/debug/config_status`. */
export interface NackView {
  nodeId: string;
  type: string;
  /** Version the client still runs. */
  version: string;
  nonce: string;
  message: string;
  at: string;
  /** False once the client has no stream any more (kept by the log). */
  isConnected: boolean;
}

/** Remembers the NACKs it is shown, newest first, at most `max` (default 100). */
export interface NackLog {
  /** Merges the latest NACKs of the connected clients and returns the log. */
  update(sync: SyncReport): NackView[];
}

/** Creates an empty log. */
export function createNackLog(max = 100): NackLog {
  const seen = new Map<string, NackView>();
  return {
    update(sync) {
      const connected = new Set(sync.clients.map((c) => c.nodeId));
      for (const c of sync.clients) {
        for (const [type, t] of Object.entries(c.types)) {
          const n = t.lastNack;
          if (!n) continue;
          const key = `${c.connectionId}\u0000${type}\u0000${n.nonce}`;
          if (!seen.has(key)) seen.set(key, { nodeId: c.nodeId, type, version: n.version, nonce: n.nonce, message: n.message, at: n.at, isConnected: true });
        }
      }
      const all = [...seen.entries()].sort(([, x], [, y]) => (x.at < y.at ? 1 : x.at > y.at ? -1 : 0));
      for (const [key] of all.slice(max)) seen.delete(key);
      return all.slice(0, max).map(([, v]) => ({ ...v, isConnected: connected.has(v.nodeId) }));
    },
  };
}

/** The `/debug/config_status` document. */
export interface ConfigStatusDocument {
  generation: number;
  version: string;
  /** Errors of the last rejected change; empty when the last change applied. */
  rejected: readonly Finding[];
  /** Warnings and infos of the generation in force. */
  findings: readonly Finding[];
  nacks: NackView[];
  /** Snapshots that failed to build (their generation was never sent). */
  snapshotFailures: unknown[];
}

/** Builds the document; `log` keeps NACKs across calls (a fresh one shows only the current ones). */
export function configStatusDocument(model: MeshModel, rejected: readonly Finding[], sync: SyncReport, log: NackLog = createNackLog()): ConfigStatusDocument {
  return { generation: model.generation, version: model.version, rejected, findings: model.findings, nacks: log.update(sync), snapshotFailures: [...sync.snapshotFailures] };
}
