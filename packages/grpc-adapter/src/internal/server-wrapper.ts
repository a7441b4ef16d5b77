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
import { createAccessDeniedError, createMtlsRequiredError, RBAC_DENIED_BODY, spiffeUrisOf, type InboundChain, type RbacRequest } from '@weft/core';
import { listenWithMeshSecurity, type MeshSecuredPort, type MeshServerSecurityOptions } from './server-security.ts';
import { faultFilterFactory, rateLimitFilterFactory } from './call-filters.ts';
import { HealthStatusTable } from './health-service.ts';
import type { ServingStatus } from './health-service.ts';

type FilterFactory = grpc.experimental.FilterFactory<grpc.experimental.Filter>;

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

interface CompiledInbound {
  /** Per method path: the filter factories to run. */
  readonly forPath: (path: string) => FilterFactory[];
}

function compileInbound(filters: readonly HttpFilter[], authority: string): CompiledInbound {
  const cache = new Map<string, FilterFactory[]>();
  return {
    forPath(path) {
      let list = cache.get(path);
      if (list === undefined) {
        list = [];
        filters.forEach((f, i) => {
          const where = `inbound http_filters[${i}] (${f.name})`;
          const ff = f.config.type === 'fault' ? faultFilterFactory(f.config.fault, where, path, authority, '') : f.config.type === 'localRateLimit' ? rateLimitFilterFactory(f.config.localRateLimit, path, authority) : undefined;
          if (ff !== undefined) list!.push(ff);
        });
        cache.set(path, list);
      }
      return list;
    },
  };
}

/** Creates a meshed grpc-js server. Nothing is bound until {@link WeftServer.listen}. */
export function createWeftServer(options: WeftServerOptions = {}): WeftServer {
  const name = options.name ?? 'grpc-server';
  let inbound = compileInbound(options.inboundFilters ?? [], name);
  const security = options.security;
  const chainInbound = new WeakMap<InboundChain, CompiledInbound>();
  const interceptor: grpc.ServerInterceptor = (descriptor, call) => {
    const policy = security?.policy();
    let chain: InboundChain | undefined;
    let factories: FilterFactory[];
    if (policy !== undefined) {
      const auth = call.getAuthContext();
      const isTls = auth.transportSecurityType === 'ssl';
      chain = isTls ? policy.tlsChain : policy.plaintextChain;
      let compiled = chain && chainInbound.get(chain);
      if (chain !== undefined && compiled === undefined) chainInbound.set(chain, (compiled = compileInbound(chain.httpFilters, name)));
      factories = compiled?.forPath(descriptor.path) ?? [];
      if (chain === undefined || !chain.rbac.isPermissive) {
        const rbacChain = chain?.rbac;
        let self: grpc.ServerInterceptingCall;
        const listener = new grpc.ServerListenerBuilder()
          .withOnReceiveMetadata((metadata, next) => {
            const denial = rbacChain === undefined ? 'no-chain' : authorizeCall(rbacChain, descriptor.path, metadata, call, isTls);
            if (denial === 'no-chain') {
              // The mode changed under an open plaintext connection (e.g. PERMISSIVE → STRICT).
              const info = call.getConnectionInfo();
              security?.onError?.(createMtlsRequiredError(info.localPort ?? 0, info.remoteAddress));
              self.sendStatus({ code: grpc.status.UNAVAILABLE, details: 'mTLS required (PeerAuthentication STRICT)', metadata: new grpc.Metadata() });
              return;
            }
            if (denial !== undefined) {
              self.sendStatus({ code: grpc.status.PERMISSION_DENIED, details: RBAC_DENIED_BODY, metadata: new grpc.Metadata() });
              security?.onError?.(denial);
              return;
            }
            let p: Promise<grpc.Metadata> = Promise.resolve(metadata);
            for (const f of factories) p = f.createFilter().sendMetadata(p);
            p.then(next, (status: grpc.StatusObject) => self.sendStatus(status));
          })
          .build();
        const responder = new grpc.ResponderBuilder().withStart((next) => next(listener)).build();
        self = new grpc.ServerInterceptingCall(call, responder);
        return self;
      }
    } else {
      factories = inbound.forPath(descriptor.path);
    }
    if (factories.length === 0) return new grpc.ServerInterceptingCall(call);
    let self: grpc.ServerInterceptingCall;
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        let p: Promise<grpc.Metadata> = Promise.resolve(metadata);
        for (const f of factories) p = f.createFilter().sendMetadata(p);
        p.then(next, (status: grpc.StatusObject) => self.sendStatus(status));
      })
      .build();
    const responder = new grpc.ResponderBuilder().withStart((next) => next(listener)).build();
    self = new grpc.ServerInterceptingCall(call, responder);
    return self;
  };
  const server = new grpc.Server({ ...options.serverOptions, interceptors: [interceptor, ...(options.serverOptions?.interceptors ?? [])] });
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

/**
 * RBAC of one call: the `MeshError` of a denial (for logs), or undefined when allowed. The
 * principal is the SPIFFE ID of the verified client certificate (TLS connections only).
 */
function authorizeCall(rbac: InboundChain['rbac'], path: string, metadata: grpc.Metadata, call: grpc.ServerInterceptingCallInterface, isTls: boolean): ReturnType<typeof createAccessDeniedError> | undefined {
  const cert = isTls ? call.getAuthContext().sslPeerCertificate : undefined;
  const info = call.getConnectionInfo();
  const facts: RbacRequest = {
    method: 'POST',
    path,
    headers: metadata.getMap() as RbacRequest['headers'],
    authority: call.getHost(),
    principal: cert !== undefined ? spiffeUrisOf(cert)[0] : undefined,
    sourceIp: info.remoteAddress,
    destinationIp: info.localAddress,
    destinationPort: info.localPort,
  };
  const denial = rbac.authorize(facts);
  return denial === undefined ? undefined : createAccessDeniedError(denial, facts);
}
