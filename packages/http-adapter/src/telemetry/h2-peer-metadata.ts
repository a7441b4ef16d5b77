/**
 * Istio's metadata exchange on the response side of a `node:http2` stream: the workload's own
 * `x-envoy-peer-metadata` / `x-envoy-peer-metadata-id` go into the response HEADERS frame, as
 * Envoy's inbound sidecar adds them for a caller that sent its own.
 *
 * `node:http2` has no hook between "the handler decided the response headers" and "the HEADERS
 * frame is written", and the `http2.server.stream.start` diagnostics channel fires when the
 * stream is created — synchronously in the session's header callback, before the server emits
 * `stream`/`request`, so before any handler ran. At that moment this module gives that one
 * stream its own `respond` (and `respondWithFD` / `respondWithFile`), which add the two headers
 * and call the stream's regular method. Both APIs go through it: the compatibility API's
 * `Http2ServerResponse` sends its headers with `stream.respond()`. Headers the handler set itself
 * are kept. The server, the session and every other stream are left as they are.
 */
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from '@weft/core';

type RawHeaders = string[];
type Headers = OutgoingHttpHeaders | RawHeaders | undefined | null;

function hasHeader(headers: OutgoingHttpHeaders | RawHeaders, name: string): boolean {
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return true;
    return false;
  }
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return true;
  return false;
}

function withPeerMetadata(headers: Headers, metadata: string, id: string): Headers {
  const base = headers ?? {};
  const add: [string, string][] = [];
  if (!hasHeader(base, PEER_METADATA_HEADER)) add.push([PEER_METADATA_HEADER, metadata]);
  if (!hasHeader(base, PEER_METADATA_ID_HEADER)) add.push([PEER_METADATA_ID_HEADER, id]);
  if (add.length === 0) return headers;
  if (Array.isArray(base)) return [...base, ...add.flat()];
  // A copy: the caller's object (maybe reused across responses) stays untouched; the spread keeps
  // symbol keys such as `http2.sensitiveHeaders`.
  return { ...base, ...Object.fromEntries(add) };
}

/**
 * Makes the response of `stream` carry `metadata` / `id` as Istio's peer-metadata headers (see
 * the module comment). Call it before the handler responds (from `http2.server.stream.start`);
 * a stream whose headers were already sent is left alone.
 */
export function answerPeerMetadata(stream: ServerHttp2Stream, metadata: string, id: string): void {
  if (stream.headersSent) return;
  const respond = stream.respond;
  const respondWithFD = stream.respondWithFD;
  const respondWithFile = stream.respondWithFile;
  Object.defineProperties(stream, {
    respond: { configurable: true, writable: true, value: (headers?: Headers, options?: unknown) => Reflect.apply(respond, stream, [withPeerMetadata(headers, metadata, id), options]) },
    respondWithFD: { configurable: true, writable: true, value: (fd: unknown, headers?: Headers, options?: unknown) => Reflect.apply(respondWithFD, stream, [fd, withPeerMetadata(headers, metadata, id), options]) },
    respondWithFile: { configurable: true, writable: true, value: (path: unknown, headers?: Headers, options?: unknown) => Reflect.apply(respondWithFile, stream, [path, withPeerMetadata(headers, metadata, id), options]) },
  });
}
