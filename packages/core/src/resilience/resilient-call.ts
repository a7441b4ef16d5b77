/**
 * Envoy's router loop, protocol-agnostic: one call to {@link runResilientCall} sends a request
 * through the cluster's `requests` circuit breaker, the route and per-try timeouts and the
 * retry policy, calling the adapter's `attempt` function once per try.
 *
 * The adapter's `attempt` does the I/O for one try and classifies it: it resolves with the
 * {@link AttemptOutcome} (and whatever value the adapter wants back, e.g. the response) and
 * should not throw for upstream failures. If it throws, the loop looks at why: a per-try
 * timeout becomes a `timeout` outcome, a route timeout or caller abort ends the call with that
 * reason, anything else is rethrown unchanged.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { ClusterCircuitBreaker, RoutingPriority } from './circuit-breaker.ts';
import type { HeaderRecord } from './header-match.ts';
import type { AttemptOutcome, RetryPolicy, RetryState } from './retry-policy.ts';
import { createRequestDeadline, createTimeoutError } from './timeouts.ts';

/** What one try gets from the loop. */
export interface AttemptContext {
  /** Aborts on caller abort, route timeout or per-try timeout; pass it to the I/O. */
  readonly signal: AbortSignal;
  /** 1 for the first try: the `x-envoy-attempt-count` value. */
  readonly attemptCount: number;
  /** The request's retry state (for `recordHost` / `shouldAvoidHost` when picking a host). */
  readonly retryState: RetryState | undefined;
}

/** What one try came to. */
export interface AttemptResult<T> {
  readonly outcome: AttemptOutcome;
  /** The adapter's value for this try (a response, a call result…). */
  readonly value?: T;
}

/** Options of {@link runResilientCall}. */
export interface ResilientCallOptions<T> {
  /** Sends one try. */
  readonly attempt: (context: AttemptContext) => Promise<AttemptResult<T>>;
  /** Called with the value of a try that is being retried, so its resources can be released. */
  readonly discard?: (result: AttemptResult<T>) => void;
  /** Retry policy of the route; absent means no retries. */
  readonly retryPolicy?: RetryPolicy;
  /** The destination cluster's circuit breakers (`requests`, `retries`). */
  readonly breaker?: ClusterCircuitBreaker;
  /** Routing priority of the request; default `DEFAULT`. */
  readonly priority?: RoutingPriority;
  /** Route timeout (absent or 0: none). */
  readonly routeTimeoutMs?: number;
  /** Caller's signal. */
  readonly signal?: AbortSignal;
  /** Host named in error messages. */
  readonly host?: string;
  /** Request headers for `retriableRequestHeaders`. */
  readonly requestHeaders?: HeaderRecord;
  /** False for a streaming body that cannot be sent twice. */
  readonly isReplayable?: boolean;
  /** Waits between tries; default an unref'd `timers/promises` timeout that honours the signal. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Result of {@link runResilientCall}: the last try's result and how many tries were made. */
export interface ResilientCallResult<T> extends AttemptResult<T> {
  readonly attempts: number;
}

const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  ms <= 0 ? Promise.resolve() : sleepFor(ms, undefined, { signal, ref: false });

/**
 * Runs one request with circuit breaking, timeouts and retries (see the module comment).
 * Rejects with: the breaker's MeshError `WEFT_ERR_CIRCUIT_OPEN`/`UO` when `max_requests` is
 * reached (no try is made); a MeshError `WEFT_ERR_UPSTREAM_TIMEOUT`/`UT` when the route timeout
 * fires or the last try hit its per-try timeout; the caller's abort reason; or whatever
 * `attempt` threw. Otherwise resolves with the last try's result — which may be a failure
 * outcome the policy did not (or could no longer) retry.
 */
export async function runResilientCall<T>(options: ResilientCallOptions<T>): Promise<ResilientCallResult<T>> {
  const { breaker, priority, retryPolicy } = options;
  if (breaker !== undefined && !breaker.tryAcquire('requests', priority)) throw breaker.createOverflowError('requests', priority);
  const deadline = createRequestDeadline({
    routeTimeoutMs: options.routeTimeoutMs,
    perTryTimeoutMs: retryPolicy?.perTryTimeoutMs,
    signal: options.signal,
    host: options.host,
  });
  const state = retryPolicy?.createState({
    requestHeaders: options.requestHeaders,
    isReplayable: options.isReplayable,
    gate: breaker?.retryGate(priority),
  });
  const sleep = options.sleep ?? defaultSleep;
  try {
    for (;;) {
      const attemptCount = state?.attemptCount ?? 1;
      const attempt = deadline.startAttempt();
      let result: AttemptResult<T>;
      try {
        result = await options.attempt({ signal: attempt.signal, attemptCount, retryState: state });
      } catch (err) {
        if (deadline.signal.aborted) throw deadline.signal.reason;
        if (!attempt.isPerTryTimeout) throw err;
        result = { outcome: TIMEOUT };
      } finally {
        attempt.close();
      }
      if (deadline.signal.aborted) throw deadline.signal.reason;
      // An adapter that reports its own aborted I/O as a reset still gets per-try semantics.
      if (result.outcome.kind !== 'response' && attempt.isPerTryTimeout) result = { outcome: TIMEOUT };
      const decision = state?.decide(result.outcome);
      if (decision === undefined || !decision.retry) {
        if (result.outcome.kind === 'timeout') {
          throw createTimeoutError('per-try', retryPolicy?.perTryTimeoutMs ?? 0, options.host);
        }
        return { ...result, attempts: attemptCount };
      }
      options.discard?.(result);
      try {
        await sleep(decision.delayMs, deadline.signal);
      } catch (err) {
        if (deadline.signal.aborted) throw deadline.signal.reason;
        throw err;
      }
    }
  } finally {
    state?.done();
    deadline.close();
    breaker?.release('requests', priority);
  }
}

const TIMEOUT: AttemptOutcome = Object.freeze({ kind: 'timeout' });
