/**
 * The inbound side: a wrapper around an `http`/`https`/`http2` (compat API) server's request
 * listeners that applies server-side policy before the application sees a request:
 * - mTLS per the port's PeerAuthentication (`policy`, see `tls-termination.ts`; plaintext
 *   `http` and `http2` servers — an `https`/secure server terminates its own TLS): STRICT
 *   resets plaintext connections, PERMISSIVE sniffs the ClientHello;
 * - authorization (the inbound listener's RBAC filters, AuthorizationPolicy): a denied request
 *   gets Envoy's `403 RBAC: access denied` with `x-weft-response-flags: RBAC` and
 *   `x-weft-error-code: WEFT_ERR_ACCESS_DENIED`, and the application never sees it;
 * - local rate limiting (Envoy's `local_ratelimit` on the inbound listener — from `policy`, else
 *   the `localRateLimit` option: 429 — or the configured status — with
 *   `x-envoy-ratelimited: true`, the configured response headers, `x-weft-response-flags: RL`
 *   and `x-weft-error-code: WEFT_ERR_RATE_LIMITED`).
 *
 * Wrapping uses only the public EventEmitter API: the server's current `request` listeners
 * are replaced by one listener that calls them in order when the request is admitted;
 * `unwrap()` restores them. Listeners added after wrapping are not covered (add them first).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventEmitter } from 'node:events';
import type { LocalRateLimitFilterConfig, MeshError } from '@weft/xds-client';
import { ErrorCode } from '@weft/xds-client';
import { RBAC_DENIED_BODY, createAccessDeniedError, createMtlsRequiredError, type CertificateProviders, type InboundChain, type InboundPolicy, type RbacRequest } from '@weft/core';
import { TLSSocket } from 'node:tls';
import { Server as HttpServer } from 'node:http';
import { isPlainHttp2Server, peerPrincipalOf, terminateTls } from './tls-termination.ts';
import { RateLimitBuckets } from '../internal/rate-limit-buckets.ts';
import { ERROR_CODE_HEADER, RESPONSE_FLAGS_HEADER } from '../internal/local-reply.ts';
import { markAudited } from '../internal/audit-marks.ts';

/** A request listener of `http.createServer`. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Options of {@link wrapHttpServer} and {@link createInboundListener}. */
export interface InboundOptions {
  /**
   * The inbound local rate limit: a decoded `LocalRateLimit` config, or a function returning the
   * one in force now (read per request, so config updates apply at once); `undefined` = none.
   */
  readonly localRateLimit?: LocalRateLimitFilterConfig | (() => LocalRateLimitFilterConfig | undefined);
  /** Clock for the token bucket; default `Date.now`. */
  readonly now?: () => number;
  /** Uniform [0, 1) source for `filter_enabled`/`filter_enforced` sampling. */
  readonly random?: () => number;
  /**
   * The port's inbound policy now (mTLS mode, RBAC, rate limit), read per connection and per
   * request — e.g. kept current by `Mesh.watchInbound`. Undefined (or returning undefined) =
   * no policy: plaintext, nothing denied, `localRateLimit` only.
   */
  readonly policy?: () => InboundPolicy | undefined;
  /** Where TLS chains get their certificate (`Mesh.certificateProviders`); needed for mTLS. */
  readonly certificateProviders?: CertificateProviders;
  /** The served port (error messages and RBAC `destination_port` when the socket has none). */
  readonly port?: number;
  /** Told about denials, refused plaintext and failed handshakes (for logs). */
  readonly onError?: (error: MeshError) => void;
}

/** Handle of a wrapped server. */
export interface InboundHandle {
  /** Restores the original listeners. Idempotent. */
  unwrap(): void;
}

/** Wraps one request listener with the inbound policy (for servers you build yourself). */
export function createInboundListener(listener: RequestListener, options: InboundOptions = {}): RequestListener {
  return createGate([listener], options);
}

const WRAPPED = Symbol.for('weft.http.inboundWrapped');

/**
 * Wraps every current `request` listener of `server`; see the module comment. Wrapping a server
 * twice returns the first handle's effect (no double policy).
 */
export function wrapHttpServer(server: EventEmitter, options: InboundOptions = {}): InboundHandle {
  const marked = server as EventEmitter & { [WRAPPED]?: InboundHandle };
  if (marked[WRAPPED] !== undefined) return marked[WRAPPED];
  const originals = server.listeners('request') as RequestListener[];
  const gate = createGate(originals, options);
  for (const l of originals) server.removeListener('request', l);
  server.on('request', gate);
  const tls = options.policy !== undefined && options.certificateProviders !== undefined && (server instanceof HttpServer || isPlainHttp2Server(server))
    ? terminateTls(server, { policy: options.policy, certificateProviders: options.certificateProviders, port: options.port ?? 0, onError: options.onError })
    : undefined;
  let isWrapped = true;
  const handle: InboundHandle = {
    unwrap() {
      if (!isWrapped) return;
      isWrapped = false;
      tls?.unwrap();
      server.removeListener('request', gate);
      for (const l of originals) server.on('request', l);
      delete marked[WRAPPED];
    },
  };
  marked[WRAPPED] = handle;
  return handle;
}

const bucketKeys = new WeakMap<object, string>();
let bucketSerial = 0;

/** The RBAC view of one request. */
function rbacRequest(req: IncomingMessage, principal: string | undefined, port: number | undefined): RbacRequest {
  const socket = req.socket;
  return {
    method: req.method,
    path: req.url ?? '/',
    headers: req.headers as RbacRequest['headers'],
    authority: req.headers.host ?? (req.headers[':authority'] as string | undefined),
    principal,
    sourceIp: socket.remoteAddress,
    destinationIp: socket.localAddress,
    destinationPort: socket.localPort ?? port,
  };
}

/**
 * Sends a local reply. Headers go through `setHeader` (not `writeHead(status, headers)`) so
 * `getHeader` sees them when the response finishes: server-side telemetry reads the flag there.
 */
function localReply(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  for (const name in headers) res.setHeader(name, headers[name]!);
  res.setHeader('content-length', String(Buffer.byteLength(body)));
  res.writeHead(status);
  res.end(body);
  req.resume();
}

const DENY_HEADERS: Record<string, string> = { 'content-type': 'text/plain', [RESPONSE_FLAGS_HEADER]: 'RBAC', [ERROR_CODE_HEADER]: ErrorCode.accessDenied };

function createGate(listeners: readonly RequestListener[], options: InboundOptions): RequestListener {
  const buckets = new RateLimitBuckets(options.now);
  const source = options.localRateLimit;
  const policyOf = options.policy;
  return function weftInbound(this: unknown, req, res) {
    const policy = policyOf?.();
    let chain: InboundChain | undefined;
    if (policy !== undefined) {
      const isTls = req.socket instanceof TLSSocket;
      chain = isTls ? policy.tlsChain : policy.plaintextChain;
      if (chain === undefined) {
        // The mode changed under an open connection (e.g. PERMISSIVE → STRICT): close it.
        options.onError?.(createMtlsRequiredError(options.port ?? req.socket.localPort ?? 0, req.socket.remoteAddress));
        req.socket.destroy();
        return;
      }
      if (!chain.rbac.isPermissive || chain.rbac.hasAudit) {
        const facts = rbacRequest(req, isTls ? peerPrincipalOf(req.socket) : undefined, options.port);
        const audit = chain.rbac.hasAudit ? chain.rbac.audit(facts) : undefined;
        if (audit !== undefined) markAudited(req, audit);
        const denial = chain.rbac.authorize(facts);
        if (denial !== undefined) {
          options.onError?.(createAccessDeniedError(denial, facts));
          localReply(req, res, 403, DENY_HEADERS, RBAC_DENIED_BODY);
          return;
        }
      }
    }
    const cfg = chain?.localRateLimit ?? (typeof source === 'function' ? source() : source);
    if (cfg !== undefined) {
      let key = chain?.localRateLimit === undefined ? 'inbound' : bucketKeys.get(cfg);
      if (key === undefined) bucketKeys.set(cfg, (key = `inbound#${++bucketSerial}`));
      const verdict = buckets.check(key, cfg, options.random);
      if (verdict === 'reject') {
        const headers: Record<string, string> = { 'x-envoy-ratelimited': 'true', [RESPONSE_FLAGS_HEADER]: 'RL', [ERROR_CODE_HEADER]: ErrorCode.rateLimited, 'content-type': 'text/plain' };
        for (const h of cfg.responseHeadersToAdd) headers[h.key.toLowerCase()] = h.value;
        localReply(req, res, cfg.statusCode, headers, 'local_rate_limited\n');
        return;
      }
      if (verdict === 'over-limit-not-enforced') {
        for (const h of cfg.requestHeadersToAddWhenNotEnforced) req.headers[h.key.toLowerCase()] = h.value;
      }
    }
    for (const l of listeners) l.call(this, req, res);
  };
}
