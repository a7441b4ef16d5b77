/**
 * Retries with Envoy's semantics, protocol-agnostic: a compiled {@link RetryPolicy} (one per
 * route, built when config arrives) hands out a {@link RetryState} per request, and the
 * adapter asks that state after every failed attempt whether, and after how long, to try again.
 *
 * The adapters own the I/O: they send the attempt, classify what happened as an
 * {@link AttemptOutcome}, call `decide()`, wait `delayMs` (cancellably), pick a host (avoiding
 * `previousHosts` when {@link RetryState.shouldAvoidHost} says so), set
 * `x-envoy-attempt-count` to {@link RetryState.attemptCount} and send again.
 */
import type { IBackoff } from 'cockatiel';
import { ErrorCode, MeshError } from '@weft/xds-client';
import type { RandomSource } from './fractional-percent.ts';
import { compileAllHeaders, compileAnyHeader, readHeader } from './header-match.ts';
import type { HeaderCondition, HeaderPredicate, HeaderRecord } from './header-match.ts';
import { createRetryBackoff } from './retry-backoff.ts';
import type { RetryBackoffFormula, RetryBackoffOptions } from './retry-backoff.ts';

/** The retry conditions Weft applies (Envoy `retry_on` / gRPC `retry_on` names). */
export const RETRY_CONDITIONS = [
  '5xx',
  'gateway-error',
  'reset',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'envoy-ratelimited',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;

/** One of {@link RETRY_CONDITIONS}. */
export type RetryCondition = (typeof RETRY_CONDITIONS)[number];

/** Envoy's host predicate that makes retries avoid the hosts already tried. */
export const PREVIOUS_HOSTS_PREDICATE = 'envoy.retry_host_predicates.previous_hosts';

/**
 * Options of {@link compileRetryPolicy}; they map 1:1 from the decoded `RetryPolicy` of
 * `@weft/xds-client` (which may be passed directly).
 */
export interface RetryPolicyOptions {
  /** Conditions, as a list or Envoy's comma-separated string. Unknown names are ignored. */
  readonly retryOn: readonly string[] | string;
  /** Retries after the first attempt (not attempts). Default 1 (Envoy). 0 disables retries. */
  readonly numRetries?: number;
  /** Timeout of each attempt; absent means each attempt may use the whole route timeout. */
  readonly perTryTimeoutMs?: number;
  /** Status codes retried under `retriable-status-codes`. */
  readonly retriableStatusCodes?: readonly number[];
  /** Back-off; default 25 ms base, 250 ms max. */
  readonly retryBackOff?: { readonly baseIntervalMs?: number; readonly maxIntervalMs?: number };
  /** Under `retriable-headers`, a response matching any of these is retried. */
  readonly retriableHeaders?: readonly HeaderCondition[];
  /** Only requests matching all of these are retried (empty: every request). */
  readonly retriableRequestHeaders?: readonly HeaderCondition[];
  /** Host predicates; {@link PREVIOUS_HOSTS_PREDICATE} makes retries prefer new hosts. */
  readonly retryHostPredicates?: readonly string[];
  /** How many times the LB may re-pick to find a host the predicates accept. Default 1. */
  readonly hostSelectionRetryMaxAttempts?: number;
  /** Random source for the back-off jitter; default `Math.random`. */
  readonly random?: RandomSource;
  /** Back-off ceiling formula: `envoy` (HTTP, default) or `grpc` (gRFC A6/A44 for gRPC calls). */
  readonly backoffFormula?: RetryBackoffFormula;
}

/**
 * Istio's retry policy for HTTP routes that set none (istiod's default): 2 retries on
 * `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes` with
 * retriable status 503, retries avoid previous hosts with up to 5 host selection attempts.
 */
export const ISTIO_DEFAULT_RETRY_POLICY: RetryPolicyOptions = Object.freeze({
  retryOn: Object.freeze(['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes']),
  numRetries: 2,
  retriableStatusCodes: Object.freeze([503]),
  retryHostPredicates: Object.freeze([PREVIOUS_HOSTS_PREDICATE]),
  hostSelectionRetryMaxAttempts: 5,
});

/**
 * What one attempt came to, as the adapter observed it.
 * - `response`: the upstream answered; `grpcStatus` is the `grpc-status` of a gRPC response
 *   (trailers-only or trailers), `headers` the response headers (lower-case names).
 * - `reset`: the stream/connection broke after it was established (disconnect, reset, EOF).
 * - `connect-failure`: no connection could be made (refused, connect timeout, TLS failure).
 * - `refused-stream`: HTTP/2 REFUSED_STREAM (the upstream did not process the request).
 * - `timeout`: the per-try timeout fired (Envoy retries it like a reset under `5xx`,
 *   `gateway-error` and `reset`).
 */
export type AttemptOutcome =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly grpcStatus?: number;
      readonly headers?: HeaderRecord;
    }
  | { readonly kind: 'reset' | 'connect-failure' | 'refused-stream' | 'timeout' };

/** Why `decide()` said no. */
export type NoRetryReason =
  /** The outcome is a success or matches no configured condition. */
  | 'not-retriable'
  /** `numRetries` retries have been made already. */
  | 'exhausted'
  /** The cluster's `max_retries` / retry budget refused a retry token (Envoy `retry_overflow`). */
  | 'retry-overflow'
  /** The request does not match `retriableRequestHeaders`, or its body cannot be replayed. */
  | 'not-eligible';

/** Result of {@link RetryState.decide}. */
export type RetryDecision =
  | { readonly retry: false; readonly reason: NoRetryReason }
  | { readonly retry: true; readonly delayMs: number };

/**
 * Grants retries on behalf of a cluster's `max_retries` circuit breaker (see
 * `ClusterCircuitBreaker.retryGate()`). `tryAcquire` returns a release function, or `undefined`
 * when the cluster is at its limit.
 */
export interface RetryGate {
  tryAcquire(): (() => void) | undefined;
}

/** Per-request options of {@link RetryPolicy.createState}. */
export interface RetryStateOptions {
  /** Request headers, checked against `retriableRequestHeaders`. */
  readonly requestHeaders?: HeaderRecord;
  /** False when the request body is a stream that was not buffered: never retried. Default true. */
  readonly isReplayable?: boolean;
  /** The cluster's retry limiter; without one retries are limited only by `numRetries`. */
  readonly gate?: RetryGate;
}

const GRPC_CODE_BY_CONDITION: Readonly<Record<string, number>> = {
  cancelled: 1,
  'deadline-exceeded': 4,
  'resource-exhausted': 8,
  internal: 13,
  unavailable: 14,
};

// Bit flags for the conditions, so the per-attempt check is a few integer tests.
const F_5XX = 1;
const F_GATEWAY = 2;
const F_RESET = 4;
const F_CONNECT = 8;
const F_4XX = 16;
const F_REFUSED = 32;
const F_CODES = 64;
const F_HEADERS = 128;
const F_RATELIMITED = 256;
const FLAG_BY_CONDITION: Readonly<Record<string, number>> = {
  '5xx': F_5XX,
  'gateway-error': F_GATEWAY,
  reset: F_RESET,
  'connect-failure': F_CONNECT,
  'retriable-4xx': F_4XX,
  'refused-stream': F_REFUSED,
  'retriable-status-codes': F_CODES,
  'retriable-headers': F_HEADERS,
  'envoy-ratelimited': F_RATELIMITED,
};

/**
 * A compiled retry policy: immutable, shared by every request of a route. Build it with
 * {@link compileRetryPolicy}.
 */
export class RetryPolicy {
  /** Retries after the first attempt. */
  readonly numRetries: number;
  /** Per-attempt timeout, when configured. */
  readonly perTryTimeoutMs: number | undefined;
  /** The conditions that are applied (unknown names removed), in configured order. */
  readonly retryOn: readonly RetryCondition[];
  /** True when retries should go to hosts not tried yet. */
  readonly isPreviousHostsAvoided: boolean;
  /** How many picks the LB may make to find a host not tried yet. */
  readonly hostSelectionRetryMaxAttempts: number;
  readonly #flags: number;
  readonly #grpcCodes: ReadonlySet<number>;
  readonly #statusCodes: ReadonlySet<number>;
  readonly #retriableHeaders: HeaderPredicate;
  readonly #requestEligible: HeaderPredicate;
  readonly #backoffOptions: RetryBackoffOptions;

  /** Use {@link compileRetryPolicy}; the constructor trusts already-normalised fields. */
  constructor(options: RetryPolicyOptions, where: string) {
    const names = typeof options.retryOn === 'string' ? options.retryOn.split(',') : options.retryOn;
    const known = new Set<string>(RETRY_CONDITIONS);
    const retryOn: RetryCondition[] = [];
    let flags = 0;
    const grpcCodes = new Set<number>();
    for (const raw of names) {
      const name = raw.trim().toLowerCase();
      if (!known.has(name) || retryOn.includes(name as RetryCondition)) continue;
      retryOn.push(name as RetryCondition);
      flags |= FLAG_BY_CONDITION[name] ?? 0;
      const code = GRPC_CODE_BY_CONDITION[name];
      if (code !== undefined) grpcCodes.add(code);
    }
    const numRetries = options.numRetries ?? 1;
    if (!Number.isInteger(numRetries) || numRetries < 0) {
      throw new MeshError(ErrorCode.configInvalid, `${where}.numRetries: expected a non-negative integer, got ${String(numRetries)}`, {
        details: { field: `${where}.numRetries` },
      });
    }
    if (options.perTryTimeoutMs !== undefined && !(options.perTryTimeoutMs >= 0)) {
      throw new MeshError(ErrorCode.configInvalid, `${where}.perTryTimeoutMs: expected a non-negative duration`, {
        details: { field: `${where}.perTryTimeoutMs` },
      });
    }
    this.numRetries = numRetries;
    this.perTryTimeoutMs = options.perTryTimeoutMs || undefined;
    this.retryOn = Object.freeze(retryOn);
    this.isPreviousHostsAvoided = (options.retryHostPredicates ?? []).includes(PREVIOUS_HOSTS_PREDICATE);
    this.hostSelectionRetryMaxAttempts = Math.max(1, options.hostSelectionRetryMaxAttempts ?? 1);
    this.#flags = flags;
    this.#grpcCodes = grpcCodes;
    this.#statusCodes = new Set(options.retriableStatusCodes ?? []);
    this.#retriableHeaders = compileAnyHeader(options.retriableHeaders, `${where}.retriableHeaders`);
    this.#requestEligible = compileAllHeaders(options.retriableRequestHeaders, `${where}.retriableRequestHeaders`);
    this.#backoffOptions = Object.freeze({
      ...options.retryBackOff,
      ...(options.random === undefined ? {} : { random: options.random }),
      ...(options.backoffFormula === undefined ? {} : { formula: options.backoffFormula }),
    });
  }

  /**
   * True when `outcome` matches one of the policy's conditions (ignoring how many retries are
   * left). A 2xx/3xx/4xx response without a matching condition, or any response carrying
   * `x-envoy-overloaded`, is not retriable.
   */
  isRetriable(outcome: AttemptOutcome): boolean {
    const flags = this.#flags;
    if (outcome.kind !== 'response') {
      if (flags & (F_5XX | F_GATEWAY | F_RESET)) return true;
      if (outcome.kind === 'connect-failure') return (flags & F_CONNECT) !== 0;
      if (outcome.kind === 'refused-stream') return (flags & F_REFUSED) !== 0;
      return false;
    }
    const headers = outcome.headers;
    if (headers !== undefined && readHeader(headers, 'x-envoy-overloaded') !== undefined) return false;
    if (outcome.grpcStatus !== undefined && this.#grpcCodes.has(outcome.grpcStatus)) return true;
    const status = outcome.status;
    if (flags & F_5XX && status >= 500 && status <= 599) return true;
    if (flags & F_GATEWAY && (status === 502 || status === 503 || status === 504)) return true;
    if (flags & F_4XX && status === 409) return true;
    if (flags & F_CODES && this.#statusCodes.has(status)) return true;
    if (flags & F_RATELIMITED && readHeader(headers, 'x-envoy-ratelimited') !== undefined) return true;
    if (flags & F_HEADERS && this.#retriableHeaders(headers)) return true;
    return false;
  }

  /** Starts the retry bookkeeping of one request. Cheap; allocate one per request. */
  createState(options: RetryStateOptions = {}): RetryState {
    const isEligible =
      this.numRetries > 0 && options.isReplayable !== false && this.#requestEligible(options.requestHeaders);
    return new RetryState(this, isEligible, options.gate);
  }

  /** The first step of this policy's back-off (each request iterates its own sequence). */
  createBackoff(): IBackoff<unknown> {
    return createRetryBackoff(this.#backoffOptions);
  }
}

/**
 * The retry bookkeeping of one request. Not shared between requests; call {@link done} when the
 * request has finished, whatever the outcome, so a held retry token is returned to the cluster.
 */
export class RetryState {
  readonly #policy: RetryPolicy;
  readonly #isEligible: boolean;
  readonly #gate: RetryGate | undefined;
  #backoff: IBackoff<unknown> | undefined;
  #retriesMade = 0;
  #releaseToken: (() => void) | undefined;
  #previousHosts: Set<string> | undefined;

  /** Created by {@link RetryPolicy.createState}. */
  constructor(policy: RetryPolicy, isEligible: boolean, gate: RetryGate | undefined) {
    this.#policy = policy;
    this.#isEligible = isEligible;
    this.#gate = gate;
  }

  /** 1 for the first attempt, 2 for the first retry…: the value of `x-envoy-attempt-count`. */
  get attemptCount(): number {
    return this.#retriesMade + 1;
  }

  /** Retries granted so far. */
  get retriesMade(): number {
    return this.#retriesMade;
  }

  /** Per-attempt timeout of the policy, if any. */
  get perTryTimeoutMs(): number | undefined {
    return this.#policy.perTryTimeoutMs;
  }

  /** Hosts (adapter-chosen keys such as `ip:port`) that attempts have gone to. */
  get previousHosts(): ReadonlySet<string> {
    return this.#previousHosts ?? EMPTY_SET;
  }

  /** Records the host the current attempt goes to (call before sending each attempt). */
  recordHost(hostKey: string): void {
    (this.#previousHosts ??= new Set()).add(hostKey);
  }

  /**
   * True when the LB should re-pick instead of using `hostKey` (the previous-hosts predicate is
   * configured and the host has been tried). The LB re-picks at most
   * {@link RetryPolicy.hostSelectionRetryMaxAttempts} times, then takes what it got.
   */
  shouldAvoidHost(hostKey: string): boolean {
    return this.#policy.isPreviousHostsAvoided && this.#previousHosts !== undefined && this.#previousHosts.has(hostKey);
  }

  /**
   * Decides after a failed (or any) attempt. A retry is granted when the outcome matches a
   * condition, retries remain, the request is eligible and the gate grants a token; the token
   * is held until the next `decide()` or {@link done}. `delayMs` is the jittered back-off to
   * wait before the next attempt.
   */
  decide(outcome: AttemptOutcome): RetryDecision {
    this.#releaseHeldToken();
    if (!this.#policy.isRetriable(outcome)) return NOT_RETRIABLE;
    if (!this.#isEligible) return NOT_ELIGIBLE;
    if (this.#retriesMade >= this.#policy.numRetries) return EXHAUSTED;
    if (this.#gate !== undefined) {
      const release = this.#gate.tryAcquire();
      if (release === undefined) return OVERFLOW;
      this.#releaseToken = release;
    }
    this.#backoff = this.#backoff === undefined ? this.#policy.createBackoff() : this.#backoff.next(undefined);
    this.#retriesMade++;
    return { retry: true, delayMs: this.#backoff.duration };
  }

  /** Ends the request: returns a held retry token. Idempotent. */
  done(): void {
    this.#releaseHeldToken();
  }

  #releaseHeldToken(): void {
    const release = this.#releaseToken;
    if (release !== undefined) {
      this.#releaseToken = undefined;
      release();
    }
  }
}

const EMPTY_SET: ReadonlySet<string> = new Set();
const NOT_RETRIABLE: RetryDecision = Object.freeze({ retry: false, reason: 'not-retriable' });
const NOT_ELIGIBLE: RetryDecision = Object.freeze({ retry: false, reason: 'not-eligible' });
const EXHAUSTED: RetryDecision = Object.freeze({ retry: false, reason: 'exhausted' });
const OVERFLOW: RetryDecision = Object.freeze({ retry: false, reason: 'retry-overflow' });

/**
 * Compiles retry options into a {@link RetryPolicy}. `where` names the config location for
 * errors (e.g. `route "reviews-v2".retryPolicy`). Throws MeshError `WEFT_ERR_CONFIG_INVALID`
 * for a negative or fractional `numRetries`, a negative per-try timeout or an invalid header
 * regex; unknown `retryOn` names are ignored like gRPC does.
 */
export function compileRetryPolicy(options: RetryPolicyOptions, where = 'retryPolicy'): RetryPolicy {
  return new RetryPolicy(options, where);
}
