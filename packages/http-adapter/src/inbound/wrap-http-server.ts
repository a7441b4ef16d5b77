/**
 * The inbound side: a wrapper around an `http`/`https`/`http2` (compat API) server's request
 * listeners that applies server-side policy before the application sees a request. Today:
 * local rate limiting (Envoy's `local_ratelimit` on the inbound listener: 429 — or the
 * configured status — with `x-envoy-ratelimited: true`, the configured response headers and
 * `x-weft-response-flags: RL`, answered without calling the application). mTLS, authorization
 * and server metrics plug into the same path later.
 *
 * Wrapping uses only the public EventEmitter API: the server's current `request` listeners
 * are replaced by one listener that calls them in order when the request is admitted;
 * `unwrap()` restores them. Listeners added after wrapping are not covered (add them first).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventEmitter } from 'node:events';
import type { LocalRateLimitFilterConfig } from '@weft/xds-client';
import { RateLimitBuckets } from '../internal/rate-limit-buckets.ts';
import { RESPONSE_FLAGS_HEADER } from '../internal/local-reply.ts';

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
  let isWrapped = true;
  const handle: InboundHandle = {
    unwrap() {
      if (!isWrapped) return;
      isWrapped = false;
      server.removeListener('request', gate);
      for (const l of originals) server.on('request', l);
      delete marked[WRAPPED];
    },
  };
  marked[WRAPPED] = handle;
  return handle;
}

function createGate(listeners: readonly RequestListener[], options: InboundOptions): RequestListener {
  const buckets = new RateLimitBuckets(options.now);
  const source = options.localRateLimit;
  return function weftInbound(this: unknown, req, res) {
    const cfg = typeof source === 'function' ? source() : source;
    if (cfg !== undefined) {
      const verdict = buckets.check('inbound', cfg, options.random);
      if (verdict === 'reject') {
        const headers: Record<string, string> = { 'x-envoy-ratelimited': 'true', [RESPONSE_FLAGS_HEADER]: 'RL', 'content-type': 'text/plain' };
        for (const h of cfg.responseHeadersToAdd) headers[h.key.toLowerCase()] = h.value;
        res.writeHead(cfg.statusCode, headers);
        res.end('local_rate_limited\n');
        req.resume();
        return;
      }
      if (verdict === 'over-limit-not-enforced') {
        for (const h of cfg.requestHeadersToAddWhenNotEnforced) req.headers[h.key.toLowerCase()] = h.value;
      }
    }
    for (const l of listeners) l.call(this, req, res);
  };
}
