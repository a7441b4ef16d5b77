/**
 * `createMeshDispatcher(options)`: an undici Dispatcher that applies the mesh to every request
 * made through it — pass it as `dispatcher` to undici/fetch calls, or make it the global
 * dispatcher (the register hook does). It is the endpoint stage composed with the policy
 * interceptors, outermost first:
 *
 *   route [+ telemetry] → local rate limit → fault injection → timeout + retry → [endpoint:
 *   circuit breaker, pick, outlier detection, load stats, trace headers, per-endpoint keep-alive pool]
 *
 * Telemetry (Istio metrics, client spans, access log, LRS load stats) runs only when
 * `telemetry` is given: the routing stage then starts it for every request; without it nothing
 * telemetry-related runs per request.
 *
 * Requests to hosts the mesh does not know follow the outbound traffic policy (pass-through
 * Agent or a `WEFT_ERR_UNKNOWN_HOST` failure). `close()`/`destroy()` release every pool, the
 * pass-through agent and every outlier-detection timer; the dispatcher never keeps a process
 * alive by itself (idle keep-alive sockets are unref'd by undici).
 */
import { Dispatcher } from 'undici';
import type { Agent, Pool } from 'undici';
import type { MeshView } from './mesh-view.ts';
import { EndpointDispatcher, createPassthroughAgent } from './internal/endpoint-dispatcher.ts';
import { toControllerHandler } from './internal/legacy-handler.ts';
import type { LocalReplyMode } from './internal/local-reply.ts';
import { createFaultInterceptor } from './interceptors/fault-interceptor.ts';
import { createRateLimitInterceptor } from './interceptors/rate-limit-interceptor.ts';
import { createRetryInterceptor } from './interceptors/retry-interceptor.ts';
import type { RetryInterceptorOptions } from './interceptors/retry-interceptor.ts';
import { createRouteInterceptor } from './interceptors/route-interceptor.ts';
import type { OutboundTrafficPolicy } from './interceptors/route-interceptor.ts';
import type { MeshTelemetry } from '@weft/core';

/** Options of {@link createMeshDispatcher}. */
export interface MeshDispatcherOptions {
  /** The mesh to route with: core's `Mesh`, or any object of the {@link MeshView} shape. */
  readonly mesh: MeshView;
  /** Istio `outboundTrafficPolicy.mode` for hosts the mesh does not know; default `ALLOW_ANY`. */
  readonly outboundTrafficPolicy?: OutboundTrafficPolicy;
  /** How long the first request to a never-seen host waits for its config; default 5,000 ms. */
  readonly firstConfigTimeoutMs?: number;
  /**
   * What that request does when the wait times out: `fail` (`WEFT_ERR_XDS_UNAVAILABLE`) or
   * `passthrough`. Default: `passthrough` under ALLOW_ANY, `fail` under REGISTRY_ONLY.
   */
  readonly onConfigTimeout?: 'fail' | 'passthrough';
  /**
   * How mesh policies answer (503 `UO`, 429 `RL`, 504 `UT`, 503 `UH`, 404 `NR`, fault aborts):
   * `response` (default) — a synthesized response with Envoy's status, Envoy's headers
   * (`x-envoy-overloaded`, `x-envoy-ratelimited`), `x-weft-response-flags` and
   * `x-weft-error-code`; `error` — the request fails with the MeshError.
   */
  readonly localReplies?: LocalReplyMode;
  /** Retry policy when a route has none; default Istio's (`ISTIO_DEFAULT_RETRY_POLICY`); `null` = none. */
  readonly defaultRetryPolicy?: RetryInterceptorOptions['defaultRetryPolicy'];
  /** Largest buffered request body replayed on retry; default 1 MiB. */
  readonly maxReplayBodyBytes?: number;
  /** Dispatcher for pass-through traffic; default a new `Agent` (owned and closed by this dispatcher). */
  readonly passthrough?: Dispatcher;
  /** Options of the pass-through Agent when none is given. */
  readonly passthroughOptions?: Agent.Options;
  /**
   * Extra undici options of every endpoint's connections (`Client` options such as
   * `keepAliveTimeout`; `connections` caps the connections per endpoint below the cluster's
   * `max_connections`).
   */
  readonly poolOptions?: Pool.Options;
  /** Uniform [0, 1) source for sampling (faults, rate limit fractions, mirrors, jitter). Tests inject one. */
  readonly random?: () => number;
  /**
   * The process's telemetry (core's `meshTelemetryFromEnv()`): Istio `reporter="source"` metrics,
   * a CLIENT span and `traceparent` per request, access log, load stats. Default: none.
   */
  readonly telemetry?: MeshTelemetry;
}

/**
 * The dispatcher returned by {@link createMeshDispatcher}: an undici Dispatcher. `close()` lets
 * in-flight requests finish, `destroy()` fails them; both are idempotent and release every
 * socket and timer the dispatcher owns.
 */
export class MeshDispatcher extends Dispatcher {
  /** The endpoint stage (pools, cluster runtimes) — for diagnostics and tests. */
  readonly endpoints: EndpointDispatcher;
  readonly #dispatch: Dispatcher.Dispatch;

  /** Use {@link createMeshDispatcher}. */
  constructor(endpoints: EndpointDispatcher, dispatch: Dispatcher.Dispatch) {
    super();
    this.endpoints = endpoints;
    this.#dispatch = dispatch;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#dispatch(opts, toControllerHandler(handler));
  }

  override close(callback?: () => void): any {
    return this.endpoints.close(callback);
  }

  override destroy(err?: Error | null | (() => void), callback?: () => void): any {
    return this.endpoints.destroy(err, callback);
  }
}

/** Creates the mesh dispatcher; see the module comment. */
export function createMeshDispatcher(options: MeshDispatcherOptions): MeshDispatcher {
  const policy = options.outboundTrafficPolicy ?? 'ALLOW_ANY';
  const localReplies = options.localReplies ?? 'response';
  const endpoints = new EndpointDispatcher({
    passthrough: options.passthrough ?? createPassthroughAgent(options.passthroughOptions),
    localReplies,
    poolOptions: options.poolOptions,
    telemetry: options.telemetry,
  });
  const shadowDispatch = endpoints.dispatch.bind(endpoints);
  const telemetry = options.telemetry;
  const composed = endpoints.compose(
    createRetryInterceptor({
      localReplies,
      runtimes: endpoints.runtimes,
      defaultRetryPolicy: options.defaultRetryPolicy,
      maxReplayBodyBytes: options.maxReplayBodyBytes,
      random: options.random,
    }),
    createFaultInterceptor({ localReplies, random: options.random }),
    createRateLimitInterceptor({ localReplies, random: options.random }),
    createRouteInterceptor({
      mesh: options.mesh,
      outboundTrafficPolicy: policy,
      firstConfigTimeoutMs: options.firstConfigTimeoutMs ?? 5000,
      onConfigTimeout: options.onConfigTimeout ?? (policy === 'ALLOW_ANY' ? 'passthrough' : 'fail'),
      localReplies,
      shadowDispatch,
      random: options.random,
      telemetry,
    }),
  );
  // compose() returns a Proxy of the endpoint stage; only its composed dispatch function is kept.
  return new MeshDispatcher(endpoints, composed.dispatch);
}
