/**
 * How the adapters answer the MeshErrors of the resilience policies, in one place so HTTP and
 * gRPC stay consistent with Envoy: the HTTP status and headers a sidecar would send, and the
 * gRPC status a proxyless gRPC client would see.
 */
import { ErrorCode } from '@weft/xds-client';
import type { MeshError } from '@weft/xds-client';
import { httpStatusToGrpcStatus } from './fault-injection.ts';

/** The local answer to a policy error. */
export interface PolicyErrorResponse {
  /** HTTP status. */
  readonly status: number;
  /** Response headers to set (lower-case names). */
  readonly headers: Readonly<Record<string, string>>;
  /** gRPC status code for gRPC callers. */
  readonly grpcStatus: number;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The answer for a policy error, or `undefined` when `err` is not one of them:
 * circuit open (`UO`) → 503 + `x-envoy-overloaded: true` / UNAVAILABLE;
 * rate limited (`RL`) → the limiter's status (429) + `x-envoy-ratelimited: true` / UNAVAILABLE or
 * RESOURCE_EXHAUSTED as configured; upstream timeout (`UT`) → 504 / DEADLINE_EXCEEDED;
 * fault abort (`FI`) → the injected status (HTTP, gRPC, or the one mapped from the other).
 */
export function policyErrorResponse(err: MeshError): PolicyErrorResponse | undefined {
  const d = err.details;
  switch (err.code) {
    case ErrorCode.circuitOpen:
      return { status: 503, headers: { 'x-envoy-overloaded': 'true' }, grpcStatus: 14 };
    case ErrorCode.rateLimited:
      return {
        status: typeof d.status === 'number' ? d.status : 429,
        headers: { 'x-envoy-ratelimited': 'true' },
        grpcStatus: typeof d.grpcStatus === 'number' ? d.grpcStatus : 14,
      };
    case ErrorCode.upstreamTimeout:
      return { status: 504, headers: NO_HEADERS, grpcStatus: 4 };
    case ErrorCode.faultAbort: {
      const httpStatus = typeof d.httpStatus === 'number' ? d.httpStatus : undefined;
      const grpcStatus = typeof d.grpcStatus === 'number' ? d.grpcStatus : undefined;
      return {
        // Envoy answers a gRPC-only abort to HTTP callers with 200 and the grpc-status.
        status: httpStatus ?? 200,
        headers: NO_HEADERS,
        grpcStatus: grpcStatus ?? httpStatusToGrpcStatus(httpStatus ?? 500),
      };
    }
    default:
      return undefined;
  }
}
