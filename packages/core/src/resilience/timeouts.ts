/**
 * Route timeout and per-try timeout, composed with the caller's AbortSignal.
 *
 * A {@link RequestDeadline} lives as long as one request (all its attempts); each attempt gets
 * an {@link AttemptDeadline} whose signal aborts when the first of these happens: the caller
 * aborts (reason: the caller's reason, untouched), the route timeout fires, the per-try timeout
 * fires (reason: a MeshError `WEFT_ERR_UPSTREAM_TIMEOUT`, response flag `UT`). Timers are
 * `unref()`'d and every listener is removed by `close()`, so a finished request leaves nothing
 * behind. Adapters answer a `UT` error with 504 (HTTP) or DEADLINE_EXCEEDED (gRPC).
 */
import { ErrorCode, MeshError } from '@weft/xds-client';

/** Options of {@link createRequestDeadline}. */
export interface RequestDeadlineOptions {
  /** Whole-request timeout across all attempts and back-offs; absent or 0 = none (Envoy/Istio). */
  readonly routeTimeoutMs?: number;
  /** Default per-attempt timeout for {@link RequestDeadline.startAttempt}; absent or 0 = none. */
  readonly perTryTimeoutMs?: number;
  /** The caller's signal; its abort ends the request with the caller's own reason. */
  readonly signal?: AbortSignal;
  /** Host or cluster named in the timeout error message. */
  readonly host?: string;
  /** Clock for {@link RequestDeadline.remainingMs}; default `Date.now` (mockable with `mock.timers`). */
  readonly now?: () => number;
}

/** Which timer produced a timeout error (`details.scope` of the MeshError). */
export type TimeoutScope = 'route' | 'per-try';

/**
 * The smallest of the given timeouts, ignoring `undefined`, non-finite and non-positive values
 * (which mean "none"); `undefined` when none is set. Use it to combine a gRPC caller deadline,
 * the route timeout and `max_stream_duration`.
 */
export function minTimeoutMs(...timeoutsMs: ReadonlyArray<number | undefined>): number | undefined {
  let min: number | undefined;
  for (const t of timeoutsMs) {
    if (t === undefined || !Number.isFinite(t) || t <= 0) continue;
    if (min === undefined || t < min) min = t;
  }
  return min;
}

/** Creates the error a timeout aborts with: code `WEFT_ERR_UPSTREAM_TIMEOUT`, flag `UT`. */
export function createTimeoutError(scope: TimeoutScope, timeoutMs: number, host?: string): MeshError {
  const target = host === undefined ? '' : ` to "${host}"`;
  return new MeshError(ErrorCode.upstreamTimeout, `upstream request timeout${target}: ${scope} timeout of ${timeoutMs} ms elapsed`, {
    responseFlag: 'UT',
    details: { scope, timeoutMs, ...(host === undefined ? {} : { host }) },
  });
}

function startTimer(ms: number, fn: () => void): ReturnType<typeof setTimeout> {
  const timer = setTimeout(fn, ms);
  timer.unref?.();
  return timer;
}

/**
 * One attempt's view of the deadline. `close()` (or `using`) when the attempt ends, successful
 * or not; idempotent.
 */
export class AttemptDeadline implements Disposable {
  /** Aborts on caller abort, route timeout or per-try timeout. */
  readonly signal: AbortSignal;
  readonly #controller: AbortController | undefined;
  readonly #parent: AbortSignal;
  readonly #onParentAbort: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #isClosed = false;

  /**
   * Created by {@link RequestDeadline.startAttempt}. Without a per-try timeout the attempt
   * simply shares the request's signal (nothing to allocate or clean up).
   */
  constructor(parent: AbortSignal, perTryTimeoutMs: number | undefined, host: string | undefined) {
    this.#parent = parent;
    if (perTryTimeoutMs === undefined || perTryTimeoutMs <= 0 || parent.aborted) {
      this.signal = parent;
      this.#isClosed = true;
      return;
    }
    const controller = new AbortController();
    this.#controller = controller;
    this.signal = controller.signal;
    const onParentAbort = () => this.#abort(parent.reason);
    this.#onParentAbort = onParentAbort;
    parent.addEventListener('abort', onParentAbort, { once: true });
    this.#timer = startTimer(perTryTimeoutMs, () => this.#abort(createTimeoutError('per-try', perTryTimeoutMs, host)));
  }

  /** True when this attempt ended because its per-try timeout fired. */
  get isPerTryTimeout(): boolean {
    const reason: unknown = this.signal.reason;
    return this.signal.aborted && (reason as MeshError | undefined)?.details?.scope === 'per-try';
  }

  #abort(reason: unknown): void {
    if (this.#isClosed) return;
    this.close();
    this.#controller?.abort(reason);
  }

  /** Stops the per-try timer and detaches from the request; the signal stays as it is. */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#onParentAbort !== undefined) this.#parent.removeEventListener('abort', this.#onParentAbort);
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The deadline of one request across its attempts. Create with {@link createRequestDeadline};
 * `close()` when the response is complete (or failed) — idempotent — so the route timer and the
 * caller-signal listener are released.
 */
export class RequestDeadline implements Disposable {
  /** Aborts on caller abort (caller's reason) or route timeout (MeshError `UT`, scope `route`). */
  readonly signal: AbortSignal;
  /** The route timeout in force, if any. */
  readonly routeTimeoutMs: number | undefined;
  readonly #controller: AbortController | undefined;
  readonly #perTryTimeoutMs: number | undefined;
  readonly #caller: AbortSignal | undefined;
  readonly #onCallerAbort: () => void;
  readonly #host: string | undefined;
  readonly #now: () => number;
  readonly #expiresAt: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #isClosed = false;

  /**
   * Use {@link createRequestDeadline}. Without a route timeout the request's signal is the
   * caller's own signal (nothing to allocate or clean up).
   */
  constructor(options: RequestDeadlineOptions) {
    this.routeTimeoutMs = minTimeoutMs(options.routeTimeoutMs);
    this.#perTryTimeoutMs = minTimeoutMs(options.perTryTimeoutMs);
    this.#caller = options.signal;
    this.#host = options.host;
    this.#now = options.now ?? Date.now;
    this.#onCallerAbort = () => this.#abort(this.#caller?.reason);
    const routeTimeoutMs = this.routeTimeoutMs;
    this.#expiresAt = routeTimeoutMs === undefined ? undefined : this.#now() + routeTimeoutMs;
    if (routeTimeoutMs === undefined && this.#caller !== undefined) {
      this.signal = this.#caller;
      this.#isClosed = true;
      return;
    }
    this.#controller = new AbortController();
    this.signal = this.#controller.signal;
    if (this.#caller?.aborted) {
      this.#abort(this.#caller.reason);
      return;
    }
    this.#caller?.addEventListener('abort', this.#onCallerAbort, { once: true });
    if (routeTimeoutMs !== undefined) {
      this.#timer = startTimer(routeTimeoutMs, () => this.#abort(createTimeoutError('route', routeTimeoutMs, this.#host)));
    }
  }

  /** True when the request ended because the route timeout fired. */
  get isTimedOut(): boolean {
    return this.signal.aborted && (this.signal.reason as MeshError | undefined)?.details?.scope === 'route';
  }

  /** Milliseconds left before the route timeout (never negative); `undefined` without one. */
  remainingMs(): number | undefined {
    if (this.#expiresAt === undefined) return undefined;
    return Math.max(0, this.#expiresAt - this.#now());
  }

  /**
   * Starts the deadline of one attempt. `perTryTimeoutMs` overrides the request's default (a
   * retry policy's per-try timeout); the attempt also ends with the request. Starting an
   * attempt after the request ended returns an already-aborted attempt.
   */
  startAttempt(perTryTimeoutMs: number | undefined = this.#perTryTimeoutMs): AttemptDeadline {
    return new AttemptDeadline(this.signal, minTimeoutMs(perTryTimeoutMs), this.#host);
  }

  #abort(reason: unknown): void {
    if (this.#isClosed) return;
    this.close();
    this.#controller?.abort(reason);
  }

  /** Stops the route timer and detaches from the caller's signal. The signal stays as it is. */
  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#caller?.removeEventListener('abort', this.#onCallerAbort);
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Starts the deadline of one request; see {@link RequestDeadline}. */
export function createRequestDeadline(options: RequestDeadlineOptions = {}): RequestDeadline {
  return new RequestDeadline(options);
}

const GRPC_TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * Parses a `grpc-timeout` header value (`100m`, `5S`; at most 8 digits and a unit) into
 * milliseconds; `undefined` when malformed (gRPC then ignores it).
 */
export function parseGrpcTimeout(value: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (m === null) return undefined;
  return Number(m[1]) * (GRPC_TIMEOUT_UNIT_MS[m[2] as string] as number);
}

/** Formats milliseconds as a `grpc-timeout` header value (rounded up, in `m` or `S`). */
export function formatGrpcTimeout(timeoutMs: number): string {
  const ms = Math.max(0, Math.ceil(timeoutMs));
  return ms < 100_000_000 ? `${ms}m` : `${Math.ceil(ms / 1000)}S`;
}
