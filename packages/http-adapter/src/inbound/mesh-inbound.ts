/**
 * Keeps the inbound policy of one served port current from the Mesh (`Mesh.watchInbound`) and
 * hands out the {@link InboundOptions} that `wrapHttpServer` / `wrapServersListeningOn` need.
 * Before the first inbound listener arrives (and after the server removes it) the port has no
 * policy — or, with mTLS on, the default PERMISSIVE policy (mTLS and plaintext both accepted).
 */
import { defaultInboundPolicy, type InboundPolicy, type Mesh } from '@weft/core';
import type { MeshError } from '@weft/xds-client';
import type { InboundOptions } from './wrap-http-server.ts';

/** Options of {@link watchMeshInbound}. */
export interface MeshInboundOptions {
  /** mTLS on for this workload (`WEFT_MTLS=on`): default policy PERMISSIVE instead of none. */
  readonly isMtlsEnabled: boolean;
  /** Told about invalid inbound updates, denials, refused connections. */
  readonly onError?: (error: MeshError) => void;
}

/** A live inbound policy for one port. */
export interface MeshInbound {
  /** Options for `wrapHttpServer` that read the current policy. */
  readonly options: InboundOptions;
  /** The policy in force now. */
  current(): InboundPolicy | undefined;
  /** Stops watching. Idempotent. */
  cancel(): void;
}

/** Starts watching `port`'s inbound listener on `mesh`. Throws like `Mesh.watchInbound`. */
export function watchMeshInbound(mesh: Mesh, port: number, options: MeshInboundOptions): MeshInbound {
  const fallback = options.isMtlsEnabled ? defaultInboundPolicy('PERMISSIVE') : undefined;
  let policy: InboundPolicy | undefined = fallback;
  const handle = mesh.watchInbound(port, {
    onPolicy: (p) => void (policy = p ?? fallback),
    onError: (e) => options.onError?.(e),
  });
  const current = (): InboundPolicy | undefined => policy;
  return {
    options: { policy: current, certificateProviders: mesh.certificateProviders, port, ...(options.onError ? { onError: options.onError } : {}) },
    current,
    cancel: () => handle.cancel(),
  };
}
