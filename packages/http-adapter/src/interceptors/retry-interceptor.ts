/**
 * Route timeout, per-try timeout and retries as one undici interceptor (they share the attempt
 * loop). Per meshed request: a route timer, a per-try timer per attempt (core's
 * `createTimeoutError`, flag `UT`), the caller's abort, and a core `RetryState` (Envoy
 * `retry_on`, jittered back-off, the cluster's `max_retries` gate, retry to a different host). Each attempt carries `x-envoy-attempt-count`. A response that
 * will be retried is drained, never shown to the caller; once response headers reach the caller
 * nothing is retried. Bodies are replayed only when buffered (string/bytes, bounded): a
 * streaming body is sent once and never retried.
 *
 * Failures: route timeout → 504 `UT` (or the MeshError in `error` mode); per-try timeout
 * when no retry is left → 504 `UT`; a connect failure flagged `UF` (refused without retries, or a
 * TLS handshake/certificate failure of the connector) → 503 `UF` like Envoy (the MeshError in
 * `error` mode); reset, or connect failure after retries → MeshError `WEFT_ERR_UPSTREAM_RESET`
 * (`UR`, `URX` after retries); caller abort → the caller's reason.
 */
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import type { RetryPolicy as RetryPolicySpec } from '@weft/xds-client';
import { isMeshError } from '@weft/xds-client';
import { compileRetryPolicy, ISTIO_DEFAULT_RETRY_POLICY } from '@weft/core';
import type { RetryPolicy, RetryPolicyOptions, RetryState } from '@weft/core';
import { createTimeoutError } from '@weft/core';
import type { ClusterView } from '../mesh-view.ts';
import type { ClusterRuntimes } from '../internal/cluster-runtime.ts';
import { replyWithError, failLocally } from '../internal/local-reply.ts';
import type { LocalReplyMode } from '../internal/local-reply.ts';
import { contextOf } from '../internal/request-context.ts';
import type { MeshRequestContext } from '../internal/request-context.ts';
import { classifyError, upstreamFailure } from '../internal/upstream-errors.ts';
import { resolveHeaders } from '../internal/lazy-headers.ts';
import { stampFlags } from '../internal/flag-stamp-handler.ts';
import { Deadline, requestDeadlines } from '../internal/deadline-queue.ts';

type Controller = Dispatcher.DispatchController;
type Handler = Dispatcher.DispatchHandler;

/** Envoy's route timeout when the route sets none. */
export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;

/** Options of {@link createRetryInterceptor}. */
export interface RetryInterceptorOptions {
  readonly localReplies: LocalReplyMode;
  /** Cluster runtimes (for the `max_retries` gate). */
  readonly runtimes: ClusterRuntimes;
  /** Used when neither route nor virtual host has a policy; default Istio's; `null` = no retries. */
  readonly defaultRetryPolicy?: RetryPolicyOptions | null;
  /** Largest request body kept for replay; bigger bodies are not retried. Default 1 MiB. */
  readonly maxReplayBodyBytes?: number;
  /** Uniform [0, 1) source for back-off jitter. */
  readonly random?: () => number;
}

/** Creates the timeout + retry interceptor; see the module comment. */
export function createRetryInterceptor(options: RetryInterceptorOptions): Dispatcher.DispatcherComposeInterceptor {
  const compiled = new WeakMap<RetryPolicySpec, RetryPolicy>();
  const defaultSpec = options.defaultRetryPolicy === undefined ? ISTIO_DEFAULT_RETRY_POLICY : options.defaultRetryPolicy;
  const defaultPolicy = defaultSpec === null ? undefined : compileRetryPolicy({ ...defaultSpec, random: options.random } as RetryPolicyOptions, 'defaultRetryPolicy');
  if (defaultPolicy !== undefined) noteSuccessRetry(defaultPolicy, defaultSpec?.retriableStatusCodes);
  const maxBody = options.maxReplayBodyBytes ?? 1024 * 1024;
  const policyOf = (spec: RetryPolicySpec | undefined): RetryPolicy | undefined => {
    if (spec === undefined) return defaultPolicy;
    let p = compiled.get(spec);
    if (p === undefined) {
      compiled.set(spec, (p = compileRetryPolicy({ ...spec, random: options.random } as RetryPolicyOptions, 'route.retryPolicy')));
      noteSuccessRetry(p, spec.retriableStatusCodes);
    }
    return p;
  };
  return (dispatch) => (opts, handler) => {
    const ctx = contextOf(opts);
    if (ctx === undefined || ctx.isShadow || ctx.route.spec.action.type !== 'route') return dispatch(opts, handler);
    const ra = ctx.route.spec.action.route;
    const policy = policyOf(ra.retryPolicy ?? ctx.route.virtualHost.spec.retryPolicy);
    const routeTimeoutMs = ra.timeoutMs ?? DEFAULT_ROUTE_TIMEOUT_MS;
    const body = opts.body;
    const isReplayable =
      body === undefined || body === null || (typeof body === 'string' && body.length <= maxBody) || (body instanceof Uint8Array && body.byteLength <= maxBody);
    const view = ctx.host.clusters.get(ctx.clusterName);
    const gate = view === undefined || isMeshError(view) ? undefined : options.runtimes.of(view as ClusterView).breaker.retryGate();
    const state = policy?.createState({ requestHeaders: ctx.facts.headers, isReplayable, gate });
    const request = new RetryingRequest(dispatch, opts, handler, ctx, state, routeTimeoutMs, options.localReplies, policy?.hostSelectionRetryMaxAttempts ?? 1, policy !== undefined && mayRetrySuccessOf(policy));
    // Only a policy that avoids previous hosts needs the endpoint stage to record and re-pick.
    if (policy?.isPreviousHostsAvoided === true) ctx.retry = request;
    request.start();
    return true;
  };
}

const successRetry = new WeakMap<RetryPolicy, boolean>();

/**
 * Records, once per compiled policy, whether a 2xx/3xx response could ever be retried under it:
 * only `retriable-headers`, `envoy-ratelimited`, or `retriable-status-codes` listing a code
 * below 400 can match one. Otherwise such responses are forwarded without reading their headers
 * (Istio's default policy lists only 503, so a 200 is never parsed for it).
 */
function noteSuccessRetry(policy: RetryPolicy, statusCodes: readonly number[] | undefined): void {
  const on = policy.retryOn;
  const v = on.includes('retriable-headers') || on.includes('envoy-ratelimited') || (on.includes('retriable-status-codes') && (statusCodes ?? []).some((c) => c < 400));
  successRetry.set(policy, v);
}

/** True when a 2xx/3xx response could be retried under `policy` (so its headers must be read). */
function mayRetrySuccessOf(policy: RetryPolicy): boolean {
  return successRetry.get(policy) ?? true;
}

/**
 * One meshed request across its attempts. It is also the caller's stable controller (abort,
 * pause and resume act on whichever attempt is current), so a request costs one object less.
 * The route timeout is an entry of the process's deadline queue (no Node timer per request),
 * as is each attempt's per-try timeout — no AbortController per request on the hot path; the
 * errors are core's (`createTimeoutError`, flag `UT`).
 */
class RetryingRequest extends Deadline implements Controller {
  current: AttemptHandler | undefined;
  readonly hostSelectionAttempts: number;
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #outer: Handler;
  readonly #ctx: MeshRequestContext;
  readonly #state: RetryState | undefined;
  readonly #mode: LocalReplyMode;
  readonly #perTryTimeoutMs: number | undefined;
  readonly #routeTimeoutMs: number;
  #backoffTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set once the request is over for the mesh (route timeout, caller abort): no more attempts. */
  #endReason: Error | undefined;
  #isDone = false;
  #delayMs = 0;
  readonly #mayRetrySuccess: boolean;
  #isPaused = false;
  #callerReason: Error | null = null;

  constructor(dispatch: Dispatcher.Dispatch, opts: Dispatcher.DispatchOptions, outer: Handler, ctx: MeshRequestContext, state: RetryState | undefined, routeTimeoutMs: number, mode: LocalReplyMode, hostSelectionAttempts: number, mayRetrySuccess: boolean) {
    super();
    this.#dispatch = dispatch;
    this.#opts = opts;
    this.#outer = outer;
    this.#ctx = ctx;
    this.#state = state;
    this.#mode = mode;
    this.#perTryTimeoutMs = state?.perTryTimeoutMs;
    this.hostSelectionAttempts = hostSelectionAttempts;
    this.#mayRetrySuccess = mayRetrySuccess;
    this.#routeTimeoutMs = routeTimeoutMs;
    if (routeTimeoutMs > 0) requestDeadlines.schedule(this, routeTimeoutMs);
  }

  /** The route timeout passed. */
  onDeadline(): void {
    this.end(createTimeoutError('route', this.#routeTimeoutMs, this.#ctx.authority), true);
  }

  /** The caller's view (as its controller). */
  get controller(): Controller {
    return this;
  }
  get aborted(): boolean {
    return this.#callerReason !== null;
  }
  get paused(): boolean {
    return this.#isPaused;
  }
  get reason(): Error | null {
    return this.#callerReason;
  }
  abort(reason: Error): void {
    if (this.#callerReason !== null) return;
    this.#callerReason = reason ?? new Error('aborted');
    this.end(this.#callerReason, false);
  }
  pause(): void {
    this.#isPaused = true;
    this.current?.controller?.pause();
  }
  resume(): void {
    this.#isPaused = false;
    this.current?.controller?.resume();
  }

  shouldAvoidHost(key: string): boolean {
    return this.#state!.shouldAvoidHost(key);
  }

  recordHost(key: string): void {
    this.#state!.recordHost(key);
  }

  start(): void {
    try {
      this.#outer.onRequestStart?.(this, {});
    } catch (err) {
      this.end(err as Error, false);
    }
    if (this.#endReason === undefined) this.#attempt();
  }

  #attempt(): void {
    const attempt = new AttemptHandler(this, this.#perTryTimeoutMs, this.#ctx.authority);
    this.current = attempt;
    (this.#opts.headers as Record<string, string>)['x-envoy-attempt-count'] = String(this.#state?.attemptCount ?? 1);
    try {
      this.#dispatch(this.#opts, attempt);
    } catch (err) {
      attempt.onResponseError(undefined, err as Error);
    }
  }

  /** Route timeout (`isTimeout`) or caller abort: stop the current attempt or answer now. */
  end(reason: Error, isTimeout: boolean): void {
    if (this.#isDone || this.#endReason !== undefined) return;
    this.#endReason = reason;
    void isTimeout;
    const attempt = this.current;
    if (attempt !== undefined && !attempt.isFinished) {
      attempt.abort(reason);
      return; // its onResponseError finishes the request
    }
    this.#fail(reason);
  }

  /** An attempt got response headers: retry (drain it) or show it to the caller. */
  onAttemptResponse(statusCode: number, headers: IncomingHttpHeaders): 'retry' | 'forward' {
    const state = this.#state;
    if (state === undefined) return 'forward';
    // 2xx/3xx can only be retried under header- or status-list conditions: skip parsing otherwise.
    if (statusCode < 400 && !this.#mayRetrySuccess) return 'forward';
    const decision = state.decide({ kind: 'response', status: statusCode, headers: resolveHeaders(headers) as Record<string, string> });
    if (decision.retry && this.#endReason === undefined) {
      this.#delayMs = decision.delayMs;
      return 'retry';
    }
    if (!decision.retry && decision.reason === 'exhausted' && state.retriesMade > 0) this.#ctx.responseFlags.push('URX');
    return 'forward';
  }

  forwardStart(statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    this.#outer.onResponseStart?.(this, statusCode, stampFlags(headers, this.#ctx), statusMessage);
  }

  forwardData(chunk: Buffer): void {
    this.#outer.onResponseData?.(this, chunk);
  }

  forwardEnd(trailers: IncomingHttpHeaders): void {
    if (this.#isDone) return;
    this.#finish();
    this.#outer.onResponseEnd?.(this, trailers);
  }

  /** An attempt failed after its response reached the caller. */
  forwardError(err: Error): void {
    if (this.#isDone) return;
    this.#finish();
    this.#outer.onResponseError?.(this, this.#endReason ?? err);
  }

  /** The drained attempt is over: wait the back-off, then try again. */
  retryAfterDrain(): void {
    if (this.#isDone) return;
    if (this.#endReason !== undefined) return this.#fail(this.#endReason);
    this.current = undefined;
    this.#backoffTimer = setTimeout(() => {
      this.#backoffTimer = undefined;
      if (!this.#isDone && this.#endReason === undefined) this.#attempt();
    }, this.#delayMs);
    this.#backoffTimer.unref();
  }

  /** An attempt failed before any response reached the caller. */
  onAttemptError(err: Error, isPerTryTimeout: boolean): void {
    if (this.#isDone) return;
    if (this.#endReason !== undefined) return this.#fail(this.#endReason);
    const kind = isPerTryTimeout ? 'timeout' : classifyError(err);
    if (kind !== 'abort' && this.#state !== undefined) {
      const decision = this.#state.decide({ kind });
      if (decision.retry) {
        this.#delayMs = decision.delayMs;
        return this.retryAfterDrain();
      }
    }
    const retries = this.#state?.retriesMade ?? 0;
    this.#fail(isPerTryTimeout ? err : upstreamFailure(err, this.#ctx.authority, retries));
  }

  #fail(err: Error): void {
    if (this.#isDone) return;
    this.#finish();
    if (isMeshError(err) && this.#callerReason === null && (err.responseFlag === 'UT' || err.responseFlag === 'UF')) {
      replyWithError(this.#outer, this.#mode, err.responseFlag === 'UT' ? 504 : 503, err, undefined, true);
      return;
    }
    failLocally(this.#outer, err, true);
  }

  #finish(): void {
    this.#isDone = true;
    requestDeadlines.cancel(this);
    if (this.#backoffTimer !== undefined) clearTimeout(this.#backoffTimer);
    this.#backoffTimer = undefined;
    this.#state?.done();
  }
}

/** One attempt's handler. */
class AttemptHandler extends Deadline implements Handler {
  controller: Controller | undefined;
  isFinished = false;
  readonly #req: RetryingRequest;
  readonly #perTryTimeoutMs: number | undefined;
  readonly #host: string;
  #perTryError: Error | undefined;
  #isDraining = false;
  #isForwarding = false;
  #pendingAbort: Error | undefined;

  constructor(req: RetryingRequest, perTryTimeoutMs: number | undefined, host: string) {
    super();
    this.#req = req;
    this.#perTryTimeoutMs = perTryTimeoutMs;
    this.#host = host;
    if (perTryTimeoutMs !== undefined && perTryTimeoutMs > 0) requestDeadlines.schedule(this, perTryTimeoutMs);
  }

  /** The per-try timeout passed. */
  onDeadline(): void {
    if (this.#isForwarding) return; // Envoy: the per-try timeout stops once the response started
    this.#perTryError = createTimeoutError('per-try', this.#perTryTimeoutMs ?? 0, this.#host);
    this.abort(this.#perTryError);
  }

  abort(reason: Error): void {
    if (this.isFinished) return;
    if (this.controller === undefined) this.#pendingAbort = reason;
    else this.controller.abort(reason);
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.#pendingAbort !== undefined) controller.abort(this.#pendingAbort);
    else if (this.#req.paused) controller.pause();
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode < 200) return;
    if (this.#req.onAttemptResponse(statusCode, headers) === 'retry') {
      this.#isDraining = true;
      return;
    }
    this.#isForwarding = true;
    this.#req.forwardStart(statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (this.#isForwarding) this.#req.forwardData(chunk);
  }

  onResponseEnd(_controller: Controller, trailers: IncomingHttpHeaders): void {
    this.#end();
    if (this.#isDraining) this.#req.retryAfterDrain();
    else this.#req.forwardEnd(trailers);
  }

  onResponseError(_controller: Controller | undefined, error: Error): void {
    const perTry = this.#perTryError;
    this.#end();
    if (this.#isDraining) this.#req.retryAfterDrain();
    else if (this.#isForwarding) this.#req.forwardError(error);
    else this.#req.onAttemptError(perTry ?? error, perTry !== undefined);
  }

  #end(): void {
    this.isFinished = true;
    requestDeadlines.cancel(this);
  }
}
