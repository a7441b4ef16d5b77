/**
 * The meshed grpc-js server (the gRPC analogue of an xDS-enabled server, gRFC A36): a
 * `grpc.Server` whose interceptor applies the inbound HTTP filters in force (fault injection,
 * local rate limiting — the server listener's filter chain) to every call before its handler
 * runs; with `security`, mTLS per PeerAuthentication (see `server-security.ts`) and
 * AuthorizationPolicy (the chain's RBAC filters: a denied call ends PERMISSION_DENIED
 * `RBAC: access denied` before its handler runs, the peer's SPIFFE ID as principal); plus the standard `grpc.health.v1` service reflecting readiness: NOT_SERVING until the
 * server is bound (and whenever the application says it is not ready), SERVING after, and
 * NOT_SERVING again from the moment `close()` starts draining.
 */
import * as grpc from '@grpc/grpc-js';
import type { HttpFilter } from '@weft/xds-client';
import type { MeshTelemetry } from '@weft/core';
import { listenWithMeshSecurity, type MeshSecuredPort, type MeshServerSecurityOptions } from './server-security.ts';
import { compileInbound, createInboundPolicyInterceptor } from './inbound-interceptor.ts';
import { createTelemetryServerInterceptor } from './telemetry-server-interceptor.ts';
import { HealthStatusTable } from './health-service.ts';
import type { ServingStatus } from './health-service.ts';

/** Options of {@link createWeftServer}. */
export interface WeftServerOptions {
  /** Options passed to `new grpc.Server()`; Weft's interceptor runs before any given here. */
  serverOptions?: grpc.ServerOptions;
  /** Inbound HTTP filters (decoded HttpConnectionManager filters of the server listener). */
  inboundFilters?: readonly HttpFilter[];
  /** Add `grpc.health.v1.Health` (default true). */
  isHealthServiceEnabled?: boolean;
  /** Name used in error details (default `grpc-server`). */
  name?: string;
  /**
   * Inbound security from the mesh: the port's policy (e.g. kept current by `Mesh.watchInbound`)
   * and the workload identity. With it, `listen()` without explicit credentials serves mTLS per
   * the policy, and every call is authorized by the chain's RBAC filters; the chain's fault and
   * rate-limit filters replace `inboundFilters` while a policy is in force.
   */
  security?: MeshServerSecurityOptions;
  /**
   * Server telemetry (`reporter="destination"` metrics, SERVER spans, access log, metadata
   * exchange); its interceptor runs first, so calls the policy refuses are recorded too.
   */
  telemetry?: MeshTelemetry;
}

/** A meshed server; the application adds its services to `server` as usual. */
export interface WeftServer {
  readonly server: grpc.Server;
  /** Replaces the inbound filters (a new server listener config); applies to calls from now on. */
  setInboundFilters(filters: readonly HttpFilter[]): void;
  /** Sets a service's health status (`''` is the whole server). */
  setServingStatus(service: string, status: ServingStatus): void;
  /** Marks the server ready or not (the `''` status and every registered service). */
  setReady(isReady: boolean): void;
  /**
   * Binds `address`, then reports SERVING; resolves the port. Without `credentials`: mesh
   * security when `security` was given, else insecure.
   */
  listen(address: string, credentials?: grpc.ServerCredentials): Promise<number>;
  /** NOT_SERVING, then a graceful shutdown bounded by `graceMs` (default 5,000), then forced. Idempotent. */
  close(graceMs?: number): Promise<void>;
}

/** Creates a meshed grpc-js server. Nothing is bound until {@link WeftServer.listen}. */
export function createWeftServer(options: WeftServerOptions = {}): WeftServer {
  const name = options.name ?? 'grpc-server';
  let inbound = compileInbound(options.inboundFilters ?? [], name);
  const security = options.security;
  const interceptor = createInboundPolicyInterceptor({ name, ...(security ? { security } : {}), inbound: () => inbound });
  const server = new grpc.Server({ ...options.serverOptions, interceptors: [...(options.telemetry ? [createTelemetryServerInterceptor(options.telemetry)] : []), interceptor, ...(options.serverOptions?.interceptors ?? [])] });
  const health = new HealthStatusTable();
  health.set('', 'NOT_SERVING');
  if (options.isHealthServiceEnabled !== false) health.addTo(server);
  let isClosing = false;
  let closed: Promise<void> | undefined;
  const securedPorts: MeshSecuredPort[] = [];
  return {
    server,
    setInboundFilters(filters) {
      inbound = compileInbound(filters, name);
    },
    setServingStatus(service, status) {
      health.set(service, status);
    },
    setReady(isReady) {
      if (!isClosing) health.setAll(isReady ? 'SERVING' : 'NOT_SERVING');
    },
    async listen(address, credentials) {
      if (security !== undefined && credentials === undefined) {
        const secured = await listenWithMeshSecurity(server, address, security);
        securedPorts.push(secured);
        if (!isClosing) health.setAll('SERVING');
        return secured.port;
      }
      credentials ??= grpc.ServerCredentials.createInsecure();
      const port = await new Promise<number>((resolve, reject) => server.bindAsync(address, credentials, (err, p) => (err ? reject(err) : resolve(p))));
      if (!isClosing) health.setAll('SERVING');
      return port;
    },
    close(graceMs = 5000) {
      closed ??= new Promise<void>((resolve) => {
        isClosing = true;
        for (const p of securedPorts) p.close();
        health.setAll('NOT_SERVING');
        health.endWatches();
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closed;
    },
  };
}
