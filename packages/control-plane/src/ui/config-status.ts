/**
 * `/debug/config_status`: what is wrong with the mesh config and how clients took it — the
 * error findings of the last rejected change (the previous generation keeps serving), the
 * warnings of the generation in force, and every client's latest NACK per type (newest first).
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

/** Builds the document. */
export function configStatusDocument(model: MeshModel, rejected: readonly Finding[], sync: SyncReport): ConfigStatusDocument {
  const nacks: NackView[] = [];
  for (const c of sync.clients) {
    for (const [type, t] of Object.entries(c.types)) {
      if (t.lastNack) nacks.push({ nodeId: c.nodeId, type, version: t.lastNack.version, nonce: t.lastNack.nonce, message: t.lastNack.message, at: t.lastNack.at });
    }
  }
  nacks.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  return { generation: model.generation, version: model.version, rejected, findings: model.findings, nacks, snapshotFailures: [...sync.snapshotFailures] };
}
