/**
 * The innermost stage of the mesh dispatcher: for a meshed request (one carrying a
 * {@link MeshRequestContext}) it takes the cluster's circuit-breaker slots, picks an endpoint
 * (avoiding hosts a retry asked to avoid), dispatches to that endpoint's keep-alive pool and
 * reports the outcome to outlier detection. Requests without a context go to the pass-through
 * Agent unchanged.
 */
import { Agent, Dispatcher } from 'undici';
import type { Client } from 'undici';
import { ErrorCode, MeshError, isMeshError } from '@weft/xds-client';
import type { Duplex } from 'node:stream';
import type { ClusterView, EndpointView } from '../mesh-view.ts';
import { ClusterRuntimes } from './cluster-runtime.ts';
import type { ClusterRuntime } from './cluster-runtime.ts';
import { EndpointPools } from './endpoint-pools.ts';
import { ConnectionPool } from './connection-pool.ts';
import type { PooledRequest } from './connection-pool.ts';
import { LazyHeaders, asHeaders } from './lazy-headers.ts';
import { replyWithError } from './local-reply.ts';
import { normalizeHeaders } from './headers.ts';
import type { LocalReplyMode } from './local-reply.ts';
import { contextOf } from './request-context.ts';
import type { MeshRequestContext, OutboundRecord } from './request-context.ts';
import { classifyError } from './upstream-errors.ts';
import { takesPeerMetadataOncePerConnection, PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from '@weft/core';
import type { LoadAttempt, MeshTelemetry } from '@weft/core';

type Controller = Dispatcher.DispatchController;

/** Options of {@link EndpointDispatcher}. */
export interface EndpointDispatcherOptions {
  readonly passthrough: Dispatcher;
  readonly localReplies: LocalReplyMode;
  readonly poolOptions?: import('undici').Pool.Options;
  /** When set: load stats per attempt, trace and peer-metadata headers on every meshed attempt. */
  readonly telemetry?: MeshTelemetry;
}

/** See the module comment. Owns its pools and the pass-through agent it was given. */
export class EndpointDispatcher extends Dispatcher {
  readonly pools: EndpointPools;
  readonly runtimes = new ClusterRuntimes();
  readonly #passthrough: Dispatcher;
  readonly #mode: LocalReplyMode;
  readonly #telemetry: MeshTelemetry | undefined;
  /** This workload's metadata-exchange headers, for endpoints that take them once per connection. */
  readonly #introduction: Readonly<Record<string, string>> | undefined;

  constructor(options: EndpointDispatcherOptions) {
    super();
    this.#passthrough = options.passthrough;
    this.#mode = options.localReplies;
    const telemetry = options.telemetry;
    this.#telemetry = telemetry;
    this.#introduction = telemetry === undefined ? undefined : Object.freeze({ [PEER_METADATA_HEADER]: telemetry.peerMetadataHeader, [PEER_METADATA_ID_HEADER]: telemetry.peerMetadataId });
    this.pools = new EndpointPools(options.poolOptions);
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const ctx = contextOf(opts);
    if (ctx === undefined) return this.#passthrough.dispatch(opts, handler);
    const entry = ctx.host.clusters.get(ctx.clusterName);
    if (entry === undefined || isMeshError(entry)) {
      const err = new MeshError(ErrorCode.noHealthyUpstream, `cluster ${ctx.clusterName} of ${ctx.authority} is ${entry === undefined ? 'not known' : `unusable: ${entry.message}`}`, {
        responseFlag: 'UH',
        cause: entry,
        details: { host: ctx.authority, cluster: ctx.clusterName },
      });
      replyWithError(handler, this.#mode, 503, err);
      return true;
    }
    const cluster = entry as ClusterView;
    const rt = this.runtimes.of(cluster);
    const breaker = rt.breaker;
    if (!ctx.isShadow && !breaker.tryAcquire('requests')) {
      this.#telemetry?.loadStats.recordDrop(ctx.clusterName, 'circuit_breaker');
      replyWithError(handler, this.#mode, 503, breaker.createOverflowError('requests'), { 'x-envoy-overloaded': 'true' });
      return true;
    }
    // HTTP/1 requests beyond max_connections wait for a connection: they are pending requests.
    let isPending = false;
    if (!ctx.isShadow && cluster.spec.upstreamProtocol !== 'http2' && breaker.active('requests') > rt.maxConnections) {
      if (!breaker.tryAcquire('pendingRequests')) {
        breaker.release('requests');
        this.#telemetry?.loadStats.recordDrop(ctx.clusterName, 'circuit_breaker');
        replyWithError(handler, this.#mode, 503, breaker.createOverflowError('pendingRequests'), { 'x-envoy-overloaded': 'true' });
        return true;
      }
      isPending = true;
    }
    let endpoint: EndpointView;
    try {
      endpoint = pick(ctx);
    } catch (err) {
      if (!ctx.isShadow) breaker.release('requests');
      if (isPending) breaker.release('pendingRequests');
      replyWithError(handler, this.#mode, 503, toMeshError(err, ctx));
      return true;
    }
    ctx.retry?.recordHost(endpoint.key);
    const pool = this.pools.get(ctx.scheme, endpoint, cluster.spec, ctx.authority);
    endpoint.state.activeRequests++;
    const telemetry = this.#telemetry;
    let load: LoadAttempt | undefined;
    let record: OutboundRecord | undefined;
    let introduction: Readonly<Record<string, string>> | undefined;
    if (telemetry !== undefined) {
      record = ctx.record;
      if (record !== undefined) {
        record.endpoint = endpoint;
        // Upstream timing is read only by the access log: no clock reads per attempt without it.
        if (telemetry.accessLog !== undefined) record.upstreamStartMs = performance.now();
        record.isHttp2 = cluster.spec.upstreamProtocol === 'http2';
      }
      if (!ctx.isShadow) {
        const discovery = cluster.spec.discovery;
        const edsName = discovery.type === 'eds' && discovery.serviceName !== ctx.clusterName ? discovery.serviceName : undefined;
        load = telemetry.loadStats.startAttempt(ctx.clusterName, localityOf(endpoint), endpoint.key, edsName);
      }
      const isOncePerConnection = pool instanceof ConnectionPool && takesPeerMetadataOncePerConnection(endpoint.metadata);
      opts = withTelemetryHeaders(opts, telemetry, record, !isOncePerConnection);
      if (isOncePerConnection) introduction = this.#introduction;
    }
    const tracked = new EndpointHandler(handler, ctx, rt, endpoint, isPending, load, record);
    tracked.introduction = introduction;
    // undici reads only the fields it knows; the symbol-keyed context is ignored.
    return pool.dispatch(opts, tracked as unknown as Dispatcher.DispatchHandler & PooledRequest);
  }

  /** Closes gracefully (in-flight requests finish); idempotent. Callback form supported like undici's. */
  override close(callback?: () => void): any {
    this.runtimes.close();
    const done = Promise.all([this.pools.close(), this.#passthrough.close()]).then(() => undefined);
    if (typeof callback === 'function') return void done.then(callback);
    return done;
  }

  /** Destroys every pool and the pass-through agent, failing in-flight requests; idempotent. */
  override destroy(err?: Error | null | (() => void), callback?: () => void): any {
    if (typeof err === 'function') return this.destroy(null, err);
    this.runtimes.close();
    const done = Promise.all([this.pools.destroy(err ?? undefined), this.#passthrough.destroy(err ?? null)]).then(() => undefined);
    if (typeof callback === 'function') return void done.then(callback);
    return done;
  }
}

/** A pass-through Agent with the given options. */
export function createPassthroughAgent(options?: Agent.Options): Agent {
  return new Agent(options);
}

function localityOf(endpoint: EndpointView): { region?: string; zone?: string; subZone?: string } | undefined {
  return (endpoint as EndpointView & { readonly locality?: { region?: string; zone?: string; subZone?: string } }).locality;
}

/**
 * The attempt's options with the trace headers of the request's client span (`traceparent`,
 * and `tracestate`/`baggage` when there are any) and, with `isExchangingPeerMetadata`, this
 * workload's metadata-exchange headers (else the connection pool adds them, once per
 * connection). The routing stage hands a fresh plain header object per request, which is
 * updated in place (a retry sets the same values again); any other shape is copied, so the
 * headers are always a plain record.
 */
function withTelemetryHeaders(opts: Dispatcher.DispatchOptions, telemetry: MeshTelemetry, record: OutboundRecord | undefined, isExchangingPeerMetadata: boolean): Dispatcher.DispatchOptions {
  const given = opts.headers;
  const isPlain = given !== null && given !== undefined && typeof given === 'object' && !Array.isArray(given) && typeof (given as Iterable<unknown>)[Symbol.iterator] !== 'function';
  const headers = (isPlain ? given : normalizeHeaders(given)) as Record<string, string | string[] | undefined>;
  if (isExchangingPeerMetadata) {
    headers[PEER_METADATA_HEADER] = telemetry.peerMetadataHeader;
    headers[PEER_METADATA_ID_HEADER] = telemetry.peerMetadataId;
  }
  if (record !== undefined) {
    const span = record.span;
    headers['traceparent'] = span.traceparent;
    if (span.traceState !== undefined) headers['tracestate'] = span.traceState;
    if (span.baggage !== undefined && headers['baggage'] === undefined) headers['baggage'] = span.baggage;
  }
  return isPlain ? opts : { ...opts, headers: headers as Record<string, string> };
}

function pick(ctx: MeshRequestContext): EndpointView {
  let endpoint = ctx.host.pickEndpoint(ctx.clusterName, ctx.facts, ctx.route);
  const retry = ctx.retry;
  if (retry !== undefined) {
    for (let i = 1; i < retry.hostSelectionAttempts && retry.shouldAvoidHost(endpoint.key); i++) {
      endpoint = ctx.host.pickEndpoint(ctx.clusterName, ctx.facts, ctx.route);
    }
  }
  return endpoint;
}

function toMeshError(err: unknown, ctx: MeshRequestContext): MeshError {
  if (isMeshError(err)) return err;
  return new MeshError(ErrorCode.noHealthyUpstream, `no endpoint for cluster ${ctx.clusterName} (${ctx.authority}): ${String(err)}`, {
    responseFlag: 'UH',
    cause: err,
    details: { host: ctx.authority, cluster: ctx.clusterName },
  });
}

const NO_TRAILERS = new LazyHeaders([]);

/**
 * Speaks undici's legacy handler API to the endpoint's Pool (so undici hands raw header buffers
 * over without parsing them) and the controller API to the chain above, with the headers as
 * {@link LazyHeaders}; it is itself the controller the chain sees (`abort` calls the
 * connection's abort, `pause` makes the next `onHeaders`/`onData` return false, `resume` calls
 * the resume function undici handed over). Releases the cluster's slots and reports the outcome
 * to outlier detection once, whatever way the attempt ends.
 */
class EndpointHandler implements Controller, PooledRequest {
  /** Set by a {@link ConnectionPool}: the connection carrying the attempt, released when it ends. */
  connectionPool: ConnectionPool | undefined = undefined;
  connection: Client | undefined = undefined;
  /** This workload's metadata-exchange headers when the endpoint takes them once per connection. */
  introduction: Readonly<Record<string, string>> | undefined = undefined;
  isIntroducing = false;
  readonly #inner: Dispatcher.DispatchHandler;
  readonly #ctx: MeshRequestContext;
  readonly #rt: ClusterRuntime;
  readonly #endpoint: EndpointView;
  readonly #load: LoadAttempt | undefined;
  readonly #record: OutboundRecord | undefined;
  #isPending: boolean;
  #isDone = false;
  #status = 0;
  #abortFn: ((err?: Error) => void) | undefined;
  #resumeFn: (() => void) | undefined;
  #isPaused = false;
  #reason: Error | null = null;

  constructor(inner: Dispatcher.DispatchHandler, ctx: MeshRequestContext, rt: ClusterRuntime, endpoint: EndpointView, isPending: boolean, load?: LoadAttempt, record?: OutboundRecord) {
    this.#inner = inner;
    this.#ctx = ctx;
    this.#rt = rt;
    this.#endpoint = endpoint;
    this.#isPending = isPending;
    this.#load = load;
    this.#record = record;
  }

  get aborted(): boolean {
    return this.#reason !== null;
  }
  get paused(): boolean {
    return this.#isPaused;
  }
  get reason(): Error | null {
    return this.#reason;
  }
  abort(reason: Error): void {
    if (this.#reason !== null) return;
    this.#reason = reason;
    this.#abortFn?.(reason);
  }
  pause(): void {
    this.#isPaused = true;
  }
  resume(): void {
    if (!this.#isPaused) return;
    this.#isPaused = false;
    this.#resumeFn?.();
  }

  onConnect(abort: (err?: Error) => void, context?: unknown): void {
    this.#abortFn = abort;
    this.#inner.onRequestStart?.(this, context);
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[], socket: Duplex): void {
    this.#releaseConnection(true); // the socket now belongs to the caller; undici's client opens a new one
    this.#inner.onRequestUpgrade?.(this, statusCode, asHeaders(new LazyHeaders(rawHeaders)), socket);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusMessage: string): boolean {
    this.#resumeFn = resume;
    if (this.isIntroducing) this.connectionPool?.introduced(this.connection!);
    if (statusCode >= 200) {
      this.#status = statusCode;
      const record = this.#record;
      if (record !== undefined && record.endpoint === this.#endpoint && record.upstreamStartMs > 0) record.upstreamServiceMs = performance.now() - record.upstreamStartMs;
    }
    if (statusCode >= 200 && !this.#ctx.isShadow) this.#rt.detector?.record(this.#endpoint.key, { kind: 'response', status: statusCode });
    if (this.#isPending) {
      this.#isPending = false;
      this.#rt.breaker.release('pendingRequests');
    }
    this.#inner.onResponseStart?.(this, statusCode, asHeaders(new LazyHeaders(rawHeaders)), statusMessage);
    return !this.#isPaused;
  }

  onData(chunk: Buffer): boolean {
    this.#inner.onResponseData?.(this, chunk);
    return !this.#isPaused;
  }

  onComplete(rawTrailers: Buffer[] | null): void {
    this.#finish();
    try {
      this.#inner.onResponseEnd?.(this, asHeaders(rawTrailers === null || rawTrailers.length === 0 ? NO_TRAILERS : new LazyHeaders(rawTrailers)));
    } finally {
      // Released after the chain above: a request it dispatches at once must not get this
      // connection, whose socket undici may close when this completion returns.
      this.#releaseConnection();
    }
  }

  onError(error: Error): void {
    if (!this.#isDone) this.#status = 0; // a failed body is a failed attempt for load reports
    if (!this.#isDone && !this.#ctx.isShadow) {
      const kind = classifyError(error);
      if (kind === 'connect-failure' || kind === 'reset' || kind === 'timeout') this.#rt.detector?.record(this.#endpoint.key, { kind });
    }
    this.#finish();
    try {
      this.#inner.onResponseError?.(this, error);
    } finally {
      this.#releaseConnection();
    }
  }

  #releaseConnection(isSocketTaken = false): void {
    const pool = this.connectionPool;
    if (pool === undefined) return;
    this.connectionPool = undefined;
    pool.release(this.connection!, isSocketTaken);
  }

  #finish(): void {
    if (this.#isDone) return;
    this.#isDone = true;
    this.#load?.end(this.#status === 0 || this.#status >= 500);
    const state = this.#endpoint.state;
    if (state.activeRequests > 0) state.activeRequests--;
    if (this.#ctx.isShadow) return;
    this.#rt.breaker.release('requests');
    if (this.#isPending) this.#rt.breaker.release('pendingRequests');
  }
}
