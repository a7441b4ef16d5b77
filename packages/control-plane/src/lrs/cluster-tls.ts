/**
 * Whether a node's cluster uses TLS, read from what the xDS server last sent that node: a
 * Cluster with a `transport_socket`, or `transport_socket_matches` (Istio's auto-mTLS shape),
 * whose socket is TLS. Used for the mTLS lock of service-graph edges.
 */
import { TypeUrl } from '@weft/xds-client';
import type { XdsServer } from '../xds/xds-server.ts';

function isTlsSocket(socket: unknown): boolean {
  if (!socket || typeof socket !== 'object') return false;
  const s = socket as { name?: string; typed_config?: { type_url?: string } };
  return /tls/i.test(s.name ?? '') || /TlsContext/.test(s.typed_config?.type_url ?? '');
}

/** True/false once the node was sent `cluster`; undefined when it was not (or is not connected). */
export function clusterTlsOf(xds: Pick<XdsServer, 'connections'>, nodeId: string, cluster: string): boolean | undefined {
  for (const conn of xds.connections()) {
    if (conn.nodeId !== nodeId) continue;
    const sent = conn.types.get(TypeUrl.cluster)?.sent.get(cluster);
    if (!sent) continue;
    const m = sent.message as { transport_socket?: unknown; transport_socket_matches?: { transport_socket?: unknown }[] };
    if (isTlsSocket(m.transport_socket)) return true;
    if ((m.transport_socket_matches ?? []).some((t) => isTlsSocket(t.transport_socket))) return true;
    return false;
  }
  return undefined;
}
