/**
 * The inbound policy of a meshed grpc-js server as one grpc-js server interceptor: before a
 * call's handler runs, its RBAC (the port's AuthorizationPolicy; a denial ends the call
 * PERMISSION_DENIED `RBAC: access denied`), then the inbound HTTP filters of the connection's
 * filter chain (fault injection, local rate limiting — UNAVAILABLE, or RESOURCE_EXHAUSTED with
 * `rate_limited_as_resource_exhausted`, as Envoy maps its 429). The policy is read per call, so
 * a new inbound listener applies to the next call; the filter factories of a chain are compiled
 * once per chain and method path.
 *
 * Shared by `createWeftServer` (constructor interceptor) and the register hook's bind hook
 * (interceptor attached to the connection injectors' credentials).
 */
import * as grpc from '@grpc/grpc-js';
import type { HttpFilter } from '@weft/xds-client';
import { createAccessDeniedError, createMtlsRequiredError, RBAC_DENIED_BODY, spiffeUrisOf, type InboundChain, type RbacRequest } from '@weft/core';
import type { MeshServerSecurityOptions } from './server-security.ts';
import { faultFilterFactory, rateLimitFilterFactory } from './call-filters.ts';
import { markAudited } from './audit-marks.ts';

type FilterFactory = grpc.experimental.FilterFactory<grpc.experimental.Filter>;

/** Inbound HTTP filters compiled per method path (memoised). */
export interface CompiledInbound {
  /** Per method path: the filter factories to run. */
  readonly forPath: (path: string) => FilterFactory[];
}

/** Compiles inbound HTTP filters (fault, local rate limit; others are ignored) for `authority`. */
export function compileInbound(filters: readonly HttpFilter[], authority: string): CompiledInbound {
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

/** Options of {@link createInboundPolicyInterceptor}. */
export interface InboundPolicyInterceptorOptions {
  /** Name used in error details. */
  readonly name: string;
  /** Mesh security (policy per call); without it, or while it has no policy, `inbound()` applies. */
  readonly security?: MeshServerSecurityOptions;
  /** The filters in force when no mesh policy is (e.g. `createWeftServer`'s `inboundFilters`). */
  readonly inbound?: () => CompiledInbound;
}

/** Creates the interceptor; see the module comment. */
export function createInboundPolicyInterceptor(options: InboundPolicyInterceptorOptions): grpc.ServerInterceptor {
  const { name, security } = options;
  const chainInbound = new WeakMap<InboundChain, CompiledInbound>();
  const runFilters = (self: () => grpc.ServerInterceptingCall, factories: FilterFactory[], metadata: grpc.Metadata, next: (m: grpc.Metadata) => void): void => {
    let p: Promise<grpc.Metadata> = Promise.resolve(metadata);
    for (const f of factories) p = f.createFilter().sendMetadata(p);
    p.then(next, (status: grpc.StatusObject) => self().sendStatus(status));
  };
  return (descriptor, call) => {
    const policy = security?.policy();
    let factories: FilterFactory[];
    if (policy !== undefined) {
      const isTls = call.getAuthContext().transportSecurityType === 'ssl';
      const chain = isTls ? policy.tlsChain : policy.plaintextChain;
      let compiled = chain && chainInbound.get(chain);
      if (chain !== undefined && compiled === undefined) chainInbound.set(chain, (compiled = compileInbound(chain.httpFilters, name)));
      factories = compiled?.forPath(descriptor.path) ?? [];
      if (chain === undefined || !chain.rbac.isPermissive || chain.rbac.hasAudit) {
        const rbac = chain?.rbac;
        let self: grpc.ServerInterceptingCall;
        const listener = new grpc.ServerListenerBuilder()
          .withOnReceiveMetadata((metadata, next) => {
            if (rbac === undefined) {
              // The mode changed under an open plaintext connection (e.g. PERMISSIVE → STRICT).
              const info = call.getConnectionInfo();
              security?.onError?.(createMtlsRequiredError(info.localPort ?? 0, info.remoteAddress));
              self.sendStatus({ code: grpc.status.UNAVAILABLE, details: 'mTLS required (PeerAuthentication STRICT)', metadata: new grpc.Metadata() });
              return;
            }
            const facts = rbacFacts(descriptor.path, metadata, call, isTls);
            const audit = rbac.hasAudit ? rbac.audit(facts) : undefined;
            if (audit !== undefined) markAudited(metadata, audit);
            const verdict = rbac.authorize(facts);
            const denial = verdict === undefined ? undefined : createAccessDeniedError(verdict, facts);
            if (denial !== undefined) {
              self.sendStatus({ code: grpc.status.PERMISSION_DENIED, details: RBAC_DENIED_BODY, metadata: new grpc.Metadata() });
              security?.onError?.(denial);
              return;
            }
            runFilters(() => self, factories, metadata, next);
          })
          .build();
        self = new grpc.ServerInterceptingCall(call, new grpc.ResponderBuilder().withStart((next) => next(listener)).build());
        return self;
      }
    } else {
      factories = options.inbound?.().forPath(descriptor.path) ?? [];
    }
    if (factories.length === 0) return new grpc.ServerInterceptingCall(call);
    let self: grpc.ServerInterceptingCall;
    const listener = new grpc.ServerListenerBuilder().withOnReceiveMetadata((metadata, next) => runFilters(() => self, factories, metadata, next)).build();
    self = new grpc.ServerInterceptingCall(call, new grpc.ResponderBuilder().withStart((next) => next(listener)).build());
    return self;
  };
}

/** The RBAC facts of one call; the principal is the SPIFFE ID of the verified client certificate (TLS only). */
function rbacFacts(path: string, metadata: grpc.Metadata, call: grpc.ServerInterceptingCallInterface, isTls: boolean): RbacRequest {
  const cert = isTls ? call.getAuthContext().sslPeerCertificate : undefined;
  const info = call.getConnectionInfo();
  return {
    method: 'POST',
    path,
    headers: metadata.getMap() as RbacRequest['headers'],
    authority: call.getHost(),
    principal: cert !== undefined ? spiffeUrisOf(cert)[0] : undefined,
    sourceIp: info.remoteAddress,
    destinationIp: info.localAddress,
    destinationPort: info.localPort,
  };
}
