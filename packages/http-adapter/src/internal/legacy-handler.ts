/**
 * Entry adapter for undici's legacy handler API (`onConnect`/`onHeaders`/`onData`/…, used by
 * undici's `request()`/`stream()` and by `fetch`). undici's own adapter re-encodes every
 * response's headers object into raw buffers; this one hands the upstream's raw header
 * buffers through untouched when no mesh stage changed the headers (they arrive as
 * {@link LazyHeaders}) and encodes only when a stage built new headers. New-API callers get
 * plain headers objects.
 */
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { ForwardingHandler } from './forwarding-handler.ts';
import { LazyHeaders, resolveHeaders } from './lazy-headers.ts';

type Controller = Dispatcher.DispatchController;

function encode(headers: IncomingHttpHeaders): Buffer[] {
  const lazy = headers as unknown;
  if (lazy instanceof LazyHeaders) return lazy.raw;
  const out: Buffer[] = [];
  for (const [key, val] of Object.entries(headers)) {
    if (val === undefined) continue;
    if (Array.isArray(val)) for (const v of val) out.push(Buffer.from(key, 'latin1'), Buffer.from(v, 'latin1'));
    else out.push(Buffer.from(key, 'latin1'), Buffer.from(String(val), 'latin1'));
  }
  return out;
}

/** A legacy handler as undici's `request()`/`fetch` pass it. */
interface LegacyHandler {
  onConnect?(abort: (err?: Error) => void, context?: unknown): void;
  onHeaders?(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: Buffer[] | null): void;
  onError?(err: Error): void;
  onUpgrade?(statusCode: number, headers: Buffer[], socket: Duplex): void;
}

/** New-API view of a legacy handler; new-API handlers are returned as they are. */
export function toControllerHandler(handler: Dispatcher.DispatchHandler): Dispatcher.DispatchHandler {
  if (typeof handler.onRequestStart === 'function') return new MaterializingHandler(handler);
  return new LegacyHandlerAdapter(handler as LegacyHandler);
}

/** For new-API callers: turns {@link LazyHeaders} into plain headers objects. */
class MaterializingHandler extends ForwardingHandler {
  override onRequestUpgrade(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    super.onRequestUpgrade(controller, statusCode, resolveHeaders(headers), socket);
  }
  override onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    super.onResponseStart(controller, statusCode, resolveHeaders(headers), statusMessage);
  }
  override onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    super.onResponseEnd(controller, resolveHeaders(trailers));
  }
}

class LegacyHandlerAdapter implements Dispatcher.DispatchHandler {
  readonly #h: LegacyHandler;
  constructor(h: LegacyHandler) {
    this.#h = h;
  }
  onRequestStart(controller: Controller, context: unknown): void {
    this.#h.onConnect?.((reason) => controller.abort(reason ?? new Error('aborted')), context);
  }
  onRequestUpgrade(_controller: Controller, statusCode: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    this.#h.onUpgrade?.(statusCode, encode(headers), socket);
  }
  onResponseStart(controller: Controller, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (this.#h.onHeaders?.(statusCode, encode(headers), () => controller.resume(), statusMessage ?? '') === false) controller.pause();
  }
  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#h.onData?.(chunk) === false) controller.pause();
  }
  onResponseEnd(_controller: Controller, trailers: IncomingHttpHeaders): void {
    this.#h.onComplete?.(trailers === undefined ? [] : encode(trailers));
  }
  onResponseError(_controller: Controller, error: Error): void {
    if (this.#h.onError === undefined) throw error;
    this.#h.onError(error);
  }
}
