/**
 * The per-client, per-type sync view that `/debug/syncz` serves and `weft status` prints, and
 * the per-client config dump of `/debug/config_dump`.
 */
import { unpackAny } from '@weft/xds-client';
import type { Omission } from './client-capabilities.ts';
import { typeLabel } from './metrics.ts';
import type { ClientConnection, NackRecord } from './server/client-connection.ts';
import type { SnapshotFailure } from './snapshot-cache.ts';

/** Sync state of one type, as `istioctl proxy-status` shows it. */
export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT SENT';

/** One type of one client in `/debug/syncz`. */
export interface TypeSync {
  state: SyncState;
  subscribed: number;
  isWildcard: boolean;
  sentVersion: string;
  sentNonce: string;
  sentAt: string;
  ackedVersion: string;
  resourcesSent: number;
  acks: number;
  nacks: number;
  lastNack?: NackRecord;
}

/** One client in `/debug/syncz`. */
export interface ClientSync {
  nodeId: string;
  connectionId: string;
  protocol: 'sotw' | 'delta';
  kind: string;
  namespace: string;
  connectedAt: string;
  generation: number | undefined;
  /** Keyed by `cds`, `eds`, `lds`, `rds`. */
  types: Record<string, TypeSync>;
  omissions: readonly Omission[];
  unknownTypes: string[];
}

/** The whole `/debug/syncz` document. */
export interface SyncReport {
  generation: number;
  version: string;
  clients: ClientSync[];
  snapshotFailures: readonly SnapshotFailure[];
}

/** The sync view of one connection. */
export function clientSync(conn: ClientConnection): ClientSync {
  const types: Record<string, TypeSync> = {};
  for (const st of conn.types.values()) {
    let state: SyncState = 'NOT SENT';
    if (st.hasResponded) {
      if (st.lastNack && st.lastNack.nonce === st.sentNonce) state = 'NACKED';
      else if (st.ackedNonce === st.sentNonce) state = 'SYNCED';
      else state = 'STALE';
    }
    types[typeLabel(st.typeUrl)] = {
      state, subscribed: st.subscribed.size, isWildcard: st.isWildcard, sentVersion: st.sentVersion, sentNonce: st.sentNonce,
      sentAt: st.sentAt ? new Date(st.sentAt).toISOString() : '', ackedVersion: st.ackedVersion, resourcesSent: st.sent.size, acks: st.ackCount, nacks: st.nackCount,
      ...(st.lastNack ? { lastNack: st.lastNack } : {}),
    };
  }
  return {
    nodeId: conn.nodeId, connectionId: conn.connectionId, protocol: conn.protocol, kind: conn.kind, namespace: conn.namespace,
    connectedAt: conn.connectedAt, generation: conn.snapshot?.generation, types, omissions: conn.omissions,
    unknownTypes: [...conn.unknownTypes],
  };
}

/** Decodes nested `Any` fields (`typed_config`, `api_listener`) for human-readable dumps. */
export function expandAnys(value: unknown, depth = 0): unknown {
  if (depth > 20 || value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map((v) => expandAnys(v, depth + 1));
  const obj = value as Record<string, unknown>;
  if (typeof obj.type_url === 'string' && obj.value instanceof Uint8Array) {
    try {
      return { '@type': obj.type_url, ...(expandAnys(unpackAny({ type_url: obj.type_url, value: obj.value }), depth + 1) as object) };
    } catch {
      return { '@type': obj.type_url, value: Buffer.from(obj.value).toString('base64') };
    }
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, expandAnys(v, depth + 1)]));
}

/** What one connection was last sent, per type, decoded. */
export function configDump(conn: ClientConnection): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const st of conn.types.values()) {
    out[typeLabel(st.typeUrl)] = {
      version: st.sentVersion,
      resources: [...st.sent.values()].map((r) => (r.any.value.length ? expandAnys(unpackAny(r.any)) : { name: r.name, version: r.version })),
    };
  }
  return { nodeId: conn.nodeId, connectionId: conn.connectionId, protocol: conn.protocol, kind: conn.kind, config: out };
}
