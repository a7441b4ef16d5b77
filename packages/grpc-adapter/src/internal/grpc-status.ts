/**
 * How Weft's errors become gRPC statuses: the details carry the stable Weft code and the Envoy
 * response flag (`WEFT_ERR_CIRCUIT_OPEN (UO): …`), so a caller can test for them in
 * `err.details`; the same code is also sent as `weft-error-code` status metadata.
 */
import { Metadata, status as Status } from '@grpc/grpc-js';
import type { StatusObject } from '@grpc/grpc-js';
import type { MeshError } from '@weft/xds-client';

/** Metadata key carrying the Weft error code on a status produced by the adapter. */
export const WEFT_ERROR_CODE_KEY = 'weft-error-code';

/** A gRPC status for `error` with `code` (UNAVAILABLE unless told otherwise). */
export function statusFromMeshError(error: MeshError, code: Status = Status.UNAVAILABLE): StatusObject {
  const metadata = new Metadata();
  metadata.set(WEFT_ERROR_CODE_KEY, error.code);
  const flag = error.responseFlag === undefined ? '' : ` (${error.responseFlag})`;
  return { code, details: `${error.code}${flag}: ${error.message}`, metadata };
}

/** Envoy's HTTP → gRPC status mapping, for HTTP-status faults applied to gRPC calls. */
export function grpcStatusFromHttp(httpStatus: number): Status {
  switch (httpStatus) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}
