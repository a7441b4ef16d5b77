/**
 * The one error type of Weft. Every failure a user can cause or observe is a `MeshError` with a
 * stable `code`; where Envoy has a response flag for the situation, `responseFlag` carries it.
 * Test `err.code`, never `instanceof` (several copies of a package may be loaded).
 *
 * It lives in the lowest package (`@weft/xds-client`) so that every package can throw it;
 * `@weft/core` and the adapters re-export it.
 */

/** Stable error codes. New codes may be added; existing ones never change meaning. */
export const ErrorCode = {
  configInvalid: 'WEFT_ERR_CONFIG_INVALID',
  configIo: 'WEFT_ERR_CONFIG_IO',
  usage: 'WEFT_ERR_USAGE',
  noRoute: 'WEFT_ERR_NO_ROUTE',
  unknownHost: 'WEFT_ERR_UNKNOWN_HOST',
  circuitOpen: 'WEFT_ERR_CIRCUIT_OPEN',
  rateLimited: 'WEFT_ERR_RATE_LIMITED',
  noHealthyUpstream: 'WEFT_ERR_NO_HEALTHY_UPSTREAM',
  upstreamTimeout: 'WEFT_ERR_UPSTREAM_TIMEOUT',
  upstreamReset: 'WEFT_ERR_UPSTREAM_RESET',
  faultAbort: 'WEFT_ERR_FAULT_ABORT',
  xdsUnavailable: 'WEFT_ERR_XDS_UNAVAILABLE',
  xdsInvalid: 'WEFT_ERR_XDS_INVALID',
  /** An xDS resource the config needs does not exist on the server (removed, or never sent within 15 s). */
  xdsNotFound: 'WEFT_ERR_XDS_NOT_FOUND',
  bootstrapInvalid: 'WEFT_ERR_BOOTSTRAP_INVALID',
  certInvalid: 'WEFT_ERR_CERT_INVALID',
  certUnavailable: 'WEFT_ERR_CERT_UNAVAILABLE',
  unauthorized: 'WEFT_ERR_UNAUTHORIZED',
  /** An inbound request was denied by an authorization (RBAC) policy: HTTP 403, gRPC PERMISSION_DENIED. */
  accessDenied: 'WEFT_ERR_ACCESS_DENIED',
  /** A plaintext connection reached a port whose PeerAuthentication is STRICT; it was reset. */
  mtlsRequired: 'WEFT_ERR_MTLS_REQUIRED',
  closed: 'WEFT_ERR_CLOSED',
} as const;

/** One of the stable codes in {@link ErrorCode}. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Envoy response flags that Weft sets (see Envoy's access-log documentation). */
export type ResponseFlag = 'UO' | 'UH' | 'RL' | 'NR' | 'UT' | 'URX' | 'UF' | 'UC' | 'UR' | 'DI' | 'FI' | 'RLSE' | 'DC';

/** Options of {@link MeshError} besides code and message. */
export interface MeshErrorOptions {
  /** The Envoy response flag that describes the failure, when one applies. */
  responseFlag?: ResponseFlag;
  /** The underlying error. */
  cause?: unknown;
  /** Structured facts about the failure (file, field, host, …) for logs and JSON output. */
  details?: Record<string, unknown>;
}

/** The base error of every Weft package; see the module comment. */
export class MeshError extends Error {
  /** Stable, machine-readable code such as `WEFT_ERR_CONFIG_INVALID`. */
  readonly code: ErrorCodeValue;
  /** Envoy response flag (`UO`, `UH`, `RL`, …) when one applies. */
  readonly responseFlag: ResponseFlag | undefined;
  /** Structured facts about the failure. */
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCodeValue, message: string, options: MeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MeshError';
    this.code = code;
    this.responseFlag = options.responseFlag;
    this.details = options.details ?? {};
  }
}

/** True when `err` is a MeshError from any copy of Weft (checks the code, not the class). */
export function isMeshError(err: unknown): err is MeshError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    (err as { code: string }).code.startsWith('WEFT_ERR_')
  );
}
