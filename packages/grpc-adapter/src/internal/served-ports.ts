/**
 * The inbound side of the ports a workload serves (`WEFT_PORT`), from the Mesh: for each port
 * the inbound listener is watched (`Mesh.watchInbound`: PeerAuthentication mode, RBAC from
 * AuthorizationPolicy, inbound HTTP filters such as an inbound local rate limit) and turned into
 * the {@link MeshServerSecurityOptions} a grpc-js server is served with, including the
 * interceptors (server telemetry first, then the inbound policy) for servers that were
 * constructed without Weft's. Before the first inbound listener arrives (and after the server
 * removes it) a port has no policy — or, with mTLS on, the default PERMISSIVE one.
 */
import * as grpc from '@grpc/grpc-js';
import { defaultInboundPolicy, type InboundPolicy, type MeshTelemetry, type WorkloadIdentity } from '@weft/core';
import type { InboundPolicyWatcher } from '@weft/core';
import type { MeshError } from '@weft/xds-client';
import type { MeshServerSecurityOptions } from './server-security.ts';
import { createInboundPolicyInterceptor } from './inbound-interceptor.ts';
import { createTelemetryServerInterceptor } from './telemetry-server-interceptor.ts';

/** The slice of core's `Mesh` this module reads. */
export interface InboundMesh {
  watchInbound(port: number, watcher: InboundPolicyWatcher): { cancel(): void };
  readonly identity: WorkloadIdentity | undefined;
}

/** Options of {@link watchServedPorts}. */
export interface ServedPortsOptions {
  readonly mesh: InboundMesh;
  readonly ports: readonly number[];
  /** mTLS on for this workload (`WEFT_MTLS=on`): default policy PERMISSIVE instead of none. */
  readonly isMtlsEnabled: boolean;
  /** Server telemetry; none when absent. */
  readonly telemetry?: MeshTelemetry;
  /** Told about invalid inbound updates, denials and refused connections. */
  readonly onError?: (error: MeshError) => void;
}

/** The live inbound side of the served ports. */
export interface ServedPorts {
  /** Port → how a grpc-js server bound on it is served. */
  readonly security: ReadonlyMap<number, MeshServerSecurityOptions>;
  /** Stops watching every port. Idempotent. */
  cancel(): void;
}

/**
 * Starts watching every port of `options.ports`. Throws like `Mesh.watchInbound`
 * (`WEFT_ERR_CLOSED`, `WEFT_ERR_CONFIG_INVALID`), having cancelled the watches it started.
 */
export function watchServedPorts(options: ServedPortsOptions): ServedPorts {
  const fallback = options.isMtlsEnabled ? defaultInboundPolicy('PERMISSIVE') : undefined;
  const telemetryInterceptor = options.telemetry === undefined ? undefined : createTelemetryServerInterceptor(options.telemetry);
  const security = new Map<number, MeshServerSecurityOptions>();
  const handles: { cancel(): void }[] = [];
  for (const port of options.ports) {
    let policy: InboundPolicy | undefined = fallback;
    try {
      handles.push(
        options.mesh.watchInbound(port, {
          onPolicy: (p) => void (policy = p ?? fallback),
          onError: (e) => options.onError?.(e),
        }),
      );
    } catch (err) {
      for (const h of handles) h.cancel();
      throw err;
    }
    const base: MeshServerSecurityOptions = {
      policy: () => policy,
      identity: () => options.mesh.identity,
      ...(options.onError ? { onError: options.onError } : {}),
    };
    const interceptors: grpc.ServerInterceptor[] = [...(telemetryInterceptor ? [telemetryInterceptor] : []), createInboundPolicyInterceptor({ name: `inbound|${port}`, security: base })];
    security.set(port, { ...base, interceptors });
  }
  let isCancelled = false;
  return {
    security,
    cancel() {
      if (isCancelled) return;
      isCancelled = true;
      for (const h of handles) h.cancel();
    },
  };
}
