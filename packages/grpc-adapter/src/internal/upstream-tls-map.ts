/**
 * The TLS requirement of every endpoint address of a gRPC client snapshot, from core's compiled
 * upstream TLS of each cluster (cluster `transport_socket`, or per endpoint through
 * `transport_socket_matches` and the endpoint's `envoy.transport_socket_match` metadata).
 * Compiled once per cluster version (cached by the immutable decoded `Cluster`).
 */
import { compileUpstreamTls, type CompiledUpstreamTls, type UpstreamTlsRequirement } from '@weft/core';
import type { Cluster } from '@weft/xds-client';
import type { ClientSnapshot } from './client-snapshot.ts';

const compiled = new WeakMap<Cluster, CompiledUpstreamTls | Error>();

function tlsOf(spec: Cluster): CompiledUpstreamTls | undefined {
  let c = compiled.get(spec);
  if (c === undefined) {
    try {
      c = compileUpstreamTls(spec, undefined);
    } catch (err) {
      c = err as Error;
    }
    compiled.set(spec, c);
  }
  return c instanceof Error ? undefined : c;
}

/**
 * Address key → requirement, only for addresses that need TLS (absent = plaintext). An address
 * in several clusters takes the first TLS requirement found.
 */
export function upstreamTlsByAddress(snapshot: ClientSnapshot): ReadonlyMap<string, UpstreamTlsRequirement> {
  const out = new Map<string, UpstreamTlsRequirement>();
  for (const cluster of snapshot.clusters.values()) {
    if (cluster.spec === undefined) continue;
    const tls = tlsOf(cluster.spec);
    if (tls === undefined || !tls.isTlsPossible) continue;
    for (const e of cluster.endpoints) {
      if (out.has(e.key)) continue;
      const req = tls.forEndpoint(e.metadata);
      if (req.mode !== 'none') out.set(e.key, req);
    }
  }
  return out;
}
