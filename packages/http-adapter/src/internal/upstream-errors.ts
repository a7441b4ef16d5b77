/**
 * Classifies what undici reports when an attempt fails, into the outcomes retry policies and
 * outlier detection speak (`connect-failure`, `reset`, `refused-stream`, `timeout`), and wraps
 * a final transport failure into a MeshError with Envoy's flag.
 */
import { ErrorCode, MeshError, isMeshError } from '@weft/xds-client';

/** What a failed attempt came to; `abort` means the caller (or a deadline) ended it. */
export type FailureKind = 'connect-failure' | 'reset' | 'refused-stream' | 'timeout' | 'abort';

const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'EADDRNOTAVAIL']);

/** See the module comment. */
export function classifyError(err: unknown): FailureKind {
  // TLS/mTLS connector failures (handshake, certificate, identity) are connect failures, as in Envoy.
  if (isMeshError(err) && err.responseFlag === 'UF') return 'connect-failure';
  if (isMeshError(err)) return err.responseFlag === 'UT' && err.details?.scope === 'per-try' ? 'timeout' : 'abort';
  const e = err as { code?: string; name?: string; cause?: { code?: string } } | undefined;
  const code = e?.code ?? e?.cause?.code;
  if (code !== undefined && CONNECT_CODES.has(code)) return 'connect-failure';
  if (code === 'UND_ERR_ABORTED' || e?.name === 'AbortError') return 'abort';
  if (code === 'ERR_HTTP2_STREAM_ERROR' && String((err as Error).message).includes('REFUSED_STREAM')) return 'refused-stream';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return 'timeout';
  return 'reset';
}

/** The MeshError a final upstream failure is reported with (`UF` connect failure, `UR`/`UC` reset). */
export function upstreamFailure(err: unknown, host: string, retries: number): Error {
  if (isMeshError(err)) return err;
  const kind = classifyError(err);
  if (kind === 'abort') return err as Error;
  const flag = kind === 'connect-failure' ? 'UF' : kind === 'timeout' ? 'UT' : 'UR';
  const what = kind === 'connect-failure' ? 'upstream connect error' : kind === 'timeout' ? 'upstream timeout' : 'upstream reset';
  const code = kind === 'timeout' ? ErrorCode.upstreamTimeout : ErrorCode.upstreamReset;
  return new MeshError(code, `${what} to ${host}${retries > 0 ? ` after ${retries} retries` : ''}: ${(err as Error)?.message ?? String(err)}`, {
    responseFlag: retries > 0 ? 'URX' : flag,
    cause: err,
    details: { host, kind, retries },
  });
}
