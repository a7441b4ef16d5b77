/**
 * Fault injection decisions (`envoy.extensions.filters.http.fault.v3.HTTPFault`, gRFC A33),
 * protocol-agnostic. A {@link FaultInjector} is compiled once per fault filter config; per
 * request it decides whether to delay (flag `DI`) and/or abort (flag `FI`) — the adapter waits
 * `delayMs` first, then answers the abort without contacting the upstream.
 */
import { ErrorCode, MeshError } from '@weft/xds-client';
import { isSampled } from './fractional-percent.ts';
import type { FractionalPercent, RandomSource } from './fractional-percent.ts';
import { compileAllHeaders, readHeader } from './header-match.ts';
import type { HeaderCondition, HeaderPredicate, HeaderRecord } from './header-match.ts';

/** Header with the delay in milliseconds, honoured when `delay.headerDelay` is set. */
export const FAULT_DELAY_HEADER = 'x-envoy-fault-delay-request';
/** Header with the delay percentage numerator (capped at the configured one). */
export const FAULT_DELAY_PERCENTAGE_HEADER = 'x-envoy-fault-delay-request-percentage';
/** Header with the HTTP abort status in [200, 600), honoured when `abort.headerAbort` is set. */
export const FAULT_ABORT_HEADER = 'x-envoy-fault-abort-request';
/** Header with the gRPC abort status; ignored when {@link FAULT_ABORT_HEADER} is present. */
export const FAULT_ABORT_GRPC_HEADER = 'x-envoy-fault-abort-grpc-request';
/** Header with the abort percentage numerator (capped at the configured one). */
export const FAULT_ABORT_PERCENTAGE_HEADER = 'x-envoy-fault-abort-request-percentage';
/** Header naming the calling node, matched against `downstreamNodes`. */
export const DOWNSTREAM_NODE_HEADER = 'x-envoy-downstream-service-node';

/**
 * Options of {@link createFaultInjector}; they map 1:1 from `FaultFilterConfig` of
 * `@weft/xds-client` (which may be passed directly).
 */
export interface FaultInjectionOptions {
  readonly delay?: {
    /** Fixed delay; ignored when `headerDelay` is true. */
    readonly fixedDelayMs?: number;
    /** Take the delay from {@link FAULT_DELAY_HEADER}. */
    readonly headerDelay?: boolean;
    /** Share of requests delayed. */
    readonly percentage: FractionalPercent;
  };
  readonly abort?: {
    /** HTTP status to answer with (gRPC: mapped with {@link httpStatusToGrpcStatus}). */
    readonly httpStatus?: number;
    /** gRPC status to answer with. */
    readonly grpcStatus?: number;
    /** Take the status from the abort headers. */
    readonly headerAbort?: boolean;
    /** Share of requests aborted. */
    readonly percentage: FractionalPercent;
  };
  /** At most this many requests may be under a fault at once; absent = unlimited. */
  readonly maxActiveFaults?: number;
  /** Faults apply only to requests matching all of these. */
  readonly headers?: readonly HeaderCondition[];
  /** Faults apply only to requests routed to this cluster, when set. */
  readonly upstreamCluster?: string;
  /** Faults apply only to requests from these nodes ({@link DOWNSTREAM_NODE_HEADER}), when non-empty. */
  readonly downstreamNodes?: readonly string[];
  /** Random source for the percentages; default `Math.random`. */
  readonly random?: RandomSource;
}

/** What the request under decision looks like. */
export interface FaultRequest {
  /** Request headers with lower-case names. */
  readonly headers?: HeaderRecord;
  /** The cluster the request is routed to (for `upstreamCluster`). */
  readonly cluster?: string;
}

/** The abort part of a fault. */
export interface FaultAbort {
  /** HTTP status to answer (HTTP adapter). Set unless only a gRPC status was configured. */
  readonly httpStatus?: number;
  /** gRPC status to answer (gRPC adapter; absent: map `httpStatus`). */
  readonly grpcStatus?: number;
}

/** Result of {@link FaultInjector.decide}. */
export type FaultDecision =
  | { readonly isFaulted: false }
  | {
      readonly isFaulted: true;
      /** Wait this long before going on (flag `DI`). */
      readonly delayMs: number | undefined;
      /** Then answer with this instead of forwarding (flag `FI`). */
      readonly abort: FaultAbort | undefined;
      /** Ends the active fault (for `maxActiveFaults`); call when the request ends. Idempotent. */
      readonly release: () => void;
    };

const NO_FAULT: FaultDecision = Object.freeze({ isFaulted: false });

/**
 * Maps an HTTP status to the gRPC status gRPC uses for it (gRFC A33 / http-grpc-status-mapping):
 * 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED,
 * 429/502/503/504 UNAVAILABLE, anything else UNKNOWN.
 */
export function httpStatusToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13;
    case 401:
      return 16;
    case 403:
      return 7;
    case 404:
      return 12;
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;
    default:
      return 2;
  }
}

function intHeader(headers: HeaderRecord | undefined, name: string): number | undefined {
  const raw = readHeader(headers, name);
  if (raw === undefined || !/^\s*\d+\s*$/.test(raw)) return undefined;
  return Number(raw);
}

/** A compiled fault filter; see the module comment. */
export class FaultInjector {
  readonly #options: FaultInjectionOptions;
  readonly #matches: HeaderPredicate;
  readonly #random: RandomSource;
  readonly #downstreamNodes: ReadonlySet<string>;
  #active = 0;
  #overflows = 0;

  /** Use {@link createFaultInjector}. */
  constructor(options: FaultInjectionOptions, where: string) {
    const abort = options.abort;
    if (abort !== undefined && abort.httpStatus !== undefined && !(abort.httpStatus >= 200 && abort.httpStatus < 600)) {
      throw new MeshError(ErrorCode.configInvalid, `${where}.abort.httpStatus: expected a status in [200, 600), got ${abort.httpStatus}`, {
        details: { field: `${where}.abort.httpStatus` },
      });
    }
    if (options.delay?.fixedDelayMs !== undefined && !(options.delay.fixedDelayMs >= 0)) {
      throw new MeshError(ErrorCode.configInvalid, `${where}.delay.fixedDelayMs: expected a non-negative duration`, {
        details: { field: `${where}.delay.fixedDelayMs` },
      });
    }
    this.#options = options;
    this.#matches = compileAllHeaders(options.headers, `${where}.headers`);
    this.#random = options.random ?? Math.random;
    this.#downstreamNodes = new Set(options.downstreamNodes ?? []);
  }

  /** Requests currently under a fault. */
  get activeFaults(): number {
    return this.#active;
  }

  /** Faults skipped because `maxActiveFaults` was reached (Envoy `faults_overflow`). */
  get overflowCount(): number {
    return this.#overflows;
  }

  /**
   * Decides for one request. Each of delay and abort is an independent draw on its percentage
   * (a header may lower it, never raise it). A faulted decision holds one active-fault slot
   * until `release()`.
   */
  decide(request: FaultRequest = {}): FaultDecision {
    const o = this.#options;
    const headers = request.headers;
    if (o.upstreamCluster !== undefined && o.upstreamCluster !== '' && request.cluster !== o.upstreamCluster) return NO_FAULT;
    if (this.#downstreamNodes.size > 0) {
      const node = readHeader(headers, DOWNSTREAM_NODE_HEADER);
      if (node === undefined || !this.#downstreamNodes.has(node)) return NO_FAULT;
    }
    if (!this.#matches(headers)) return NO_FAULT;
    if (o.maxActiveFaults !== undefined && this.#active >= o.maxActiveFaults) {
      this.#overflows++;
      return NO_FAULT;
    }
    const delayMs = this.#delayFor(headers);
    const abort = this.#abortFor(headers);
    if (delayMs === undefined && abort === undefined) return NO_FAULT;
    this.#active++;
    let isReleased = false;
    return {
      isFaulted: true,
      delayMs,
      abort,
      release: () => {
        if (isReleased) return;
        isReleased = true;
        this.#active--;
      },
    };
  }

  #percentage(configured: FractionalPercent, headers: HeaderRecord | undefined, header: string): FractionalPercent {
    const fromHeader = intHeader(headers, header);
    if (fromHeader === undefined || fromHeader >= configured.numerator) return configured;
    return { numerator: fromHeader, denominator: configured.denominator };
  }

  #delayFor(headers: HeaderRecord | undefined): number | undefined {
    const delay = this.#options.delay;
    if (delay === undefined) return undefined;
    let ms: number | undefined;
    if (delay.headerDelay === true) {
      ms = intHeader(headers, FAULT_DELAY_HEADER);
      if (ms === undefined) return undefined;
    } else {
      ms = delay.fixedDelayMs;
      if (ms === undefined) return undefined;
    }
    const percentage = this.#percentage(delay.percentage, headers, FAULT_DELAY_PERCENTAGE_HEADER);
    return isSampled(percentage, this.#random) ? ms : undefined;
  }

  #abortFor(headers: HeaderRecord | undefined): FaultAbort | undefined {
    const abort = this.#options.abort;
    if (abort === undefined) return undefined;
    let result: FaultAbort;
    if (abort.headerAbort === true) {
      const http = intHeader(headers, FAULT_ABORT_HEADER);
      const grpc = intHeader(headers, FAULT_ABORT_GRPC_HEADER);
      if (http !== undefined && http >= 200 && http < 600) result = { httpStatus: http };
      else if (http === undefined && grpc !== undefined && grpc <= 16) result = { grpcStatus: grpc };
      else return undefined;
    } else if (abort.httpStatus !== undefined) {
      result = { httpStatus: abort.httpStatus };
    } else if (abort.grpcStatus !== undefined) {
      result = { grpcStatus: abort.grpcStatus };
    } else {
      return undefined;
    }
    const percentage = this.#percentage(abort.percentage, headers, FAULT_ABORT_PERCENTAGE_HEADER);
    return isSampled(percentage, this.#random) ? result : undefined;
  }
}

/**
 * The MeshError of an injected abort: `WEFT_ERR_FAULT_ABORT`, flag `FI`, with the status in
 * `details` (`httpStatus` / `grpcStatus`).
 */
export function createFaultAbortError(abort: FaultAbort, host?: string): MeshError {
  const status = abort.httpStatus !== undefined ? `HTTP ${abort.httpStatus}` : `gRPC status ${abort.grpcStatus}`;
  const target = host === undefined ? '' : ` for "${host}"`;
  return new MeshError(ErrorCode.faultAbort, `fault injection aborted the request${target} with ${status}`, {
    responseFlag: 'FI',
    details: { ...abort, ...(host === undefined ? {} : { host }) },
  });
}

/**
 * Compiles a fault filter config. Throws MeshError `WEFT_ERR_CONFIG_INVALID` (naming `where`)
 * for an abort status outside [200, 600), a negative delay or a bad header regex.
 */
export function createFaultInjector(options: FaultInjectionOptions, where = 'fault'): FaultInjector {
  return new FaultInjector(options, where);
}
