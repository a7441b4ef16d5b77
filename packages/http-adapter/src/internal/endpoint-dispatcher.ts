/**
 * The innermost stage of the mesh dispatcher: for a meshed request (one carrying a
 * {@link MeshRequestContext}) it takes the cluster's circuit-breaker slots, picks an endpoint
 * (avoiding hosts a retry asked to avoid), dispatches to that endpoint's keep-alive pool and
 * reports the outcome to outlier detection. Requests without a context go to the pass-through
 * Agent unchanged.
 */
import { Agent, Dispatcher } from 'undici';
import { ErrorCode, MeshError, isMeshError } from '@weft/xds-client';
import type { IncomingHttpHeaders } from 'node:http';
import type { ClusterView, EndpointView } from '../mesh-view.ts';
import { ClusterRuntimes } from './cluster-runtime.ts';
import type { ClusterRuntime } from './cluster-runtime.ts';
import { EndpointPools } from './endpoint-pools.ts';
import { ForwardingHandler } from './forwarding-handler.ts';
import { rememberRawHeaders } from './legacy-handler.ts';
import { replyWithError } from './local-reply.ts';
import type { LocalReplyMode } from './local-reply.ts';
import { contextOf } from './request-context.ts';
import type { MeshRequestContext } from './request-context.ts';
import { classifyError } from './upstream-errors.ts';

type Controller = Dispatcher.DispatchController;

/** Options of {@link EndpointDispatcher}. */
export interface EndpointDispatcherOptions {
  readonly passthrough: Dispatcher;
  readonly localReplies: LocalReplyMode;
  readonly poolOptions?: import('undici').Pool.Options;
}

/** See the module comment. Owns its pools and the pass-through agent it was given. */
export class EndpointDispatcher extends Dispatcher {
  readonly pools: EndpointPools;
  readonly runtimes = new ClusterRuntimes();
  readonly #passthrough: Dispatcher;
  readonly #mode: LocalReplyMode;

  constructor(options: EndpointDispatcherOptions) {
    super();
    this.#passthrough = options.passthrough;
    this.#mode = options.localReplies;
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
      replyWithError(handler, this.#mode, 503, breaker.createOverflowError('requests'), { 'x-envoy-overloaded': 'true' });
      return true;
    }
    // HTTP/1 requests beyond max_connections wait for a connection: they are pending requests.
    let isPending = false;
    if (!ctx.isShadow && cluster.spec.upstreamProtocol !== 'http2' && breaker.active('requests') > rt.maxConnections) {
      if (!breaker.tryAcquire('pendingRequests')) {
        breaker.release('requests');
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
    const servername = ctx.authority.replace(/:\d+$/, '');
    const pool = this.pools.get(ctx.scheme, endpoint, cluster.spec, servername);
    endpoint.state.activeRequests++;
    const tracked = new EndpointHandler(handler, ctx, rt, endpoint, isPending);
    // undici's Pool reads only the fields it knows; the symbol-keyed context is ignored.
    return pool.dispatch(opts, tracked);
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

/** Releases the cluster's slots and reports the outcome once, whatever way the request ends. */
class EndpointHandler extends ForwardingHandler {
  readonly #ctx: MeshRequestContext;
  readonly #rt: ClusterRuntime;
  readonly #endpoint: EndpointView;
  #isPending: boolean;
  #isDone = false;

  constructor(inner: Dispatcher.DispatchHandler, ctx: MeshRequestContext, rt: ClusterRuntime, endpoint: EndpointView, isPending: boolean) {
    super(inner);
    this.#ctx = ctx;
    this.#rt = rt;
    this.#endpoint = endpoint;
    this.#isPending = isPending;
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode >= 200 && !this.#ctx.isShadow) this.#rt.detector?.record(this.#endpoint.key, { kind: 'response', status: statusCode });
    rememberRawHeaders(headers, controller);
    if (this.#isPending) {
      this.#isPending = false;
      this.#rt.breaker.release('pendingRequests');
    }
    super.onResponseStart(controller, statusCode, headers, statusMessage);
  }

  override onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    this.#finish();
    super.onResponseEnd(controller, trailers);
  }

  override onResponseError(controller: Controller, error: Error): void {
    if (!this.#isDone && !this.#ctx.isShadow) {
      const kind = classifyError(error);
      if (kind === 'connect-failure' || kind === 'reset' || kind === 'timeout') this.#rt.detector?.record(this.#endpoint.key, { kind });
    }
    this.#finish();
    super.onResponseError(controller, error);
  }

  #finish(): void {
    if (this.#isDone) return;
    this.#isDone = true;
    const state = this.#endpoint.state;
    if (state.activeRequests > 0) state.activeRequests--;
    if (this.#ctx.isShadow) return;
    this.#rt.breaker.release('requests');
    if (this.#isPending) this.#rt.breaker.release('pendingRequests');
  }
}
