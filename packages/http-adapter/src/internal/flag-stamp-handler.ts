/**
 * Stamps the Envoy response flags a request gathered on its way through the mesh (`DI`, `URX`,
 * …, in `MeshRequestContext.responseFlags`) on the response as `x-weft-response-flags`, unless
 * an inner stage already did. Headers are copied, never mutated.
 */
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { ForwardingHandler } from './forwarding-handler.ts';
import { resolveHeaders } from './lazy-headers.ts';
import { RESPONSE_FLAGS_HEADER } from './local-reply.ts';
import type { MeshRequestContext } from './request-context.ts';

/** The headers with the context's flags stamped (the same object when there is nothing to add). */
export function stampFlags(headers: IncomingHttpHeaders, ctx: MeshRequestContext): IncomingHttpHeaders {
  const flags = ctx.responseFlags;
  if (flags.length === 0) return headers;
  const plain = resolveHeaders(headers);
  if (plain[RESPONSE_FLAGS_HEADER] !== undefined) return plain;
  return { ...plain, [RESPONSE_FLAGS_HEADER]: flags.join(',') };
}

/** See the module comment. */
export class FlagStampHandler extends ForwardingHandler {
  protected readonly ctx: MeshRequestContext;
  constructor(inner: Dispatcher.DispatchHandler, ctx: MeshRequestContext) {
    super(inner);
    this.ctx = ctx;
  }
  override onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    super.onResponseStart(controller, statusCode, stampFlags(headers, this.ctx), statusMessage);
  }
}
