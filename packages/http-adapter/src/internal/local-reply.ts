/**
 * Answers a request from inside the mesh, without an upstream: synthesized responses (Envoy's
 * local replies: 503 `UO`, 429 `RL`, fault aborts, redirects, direct responses) and errors.
 * Every local reply carries `x-weft-response-flags` when a flag applies. Delivery is deferred to
 * a microtask so a handler is never called back from inside `dispatch()`.
 */
import type { Dispatcher } from 'undici';
import type { MeshError } from '@weft/xds-client';

type Handler = Dispatcher.DispatchHandler;
type Controller = Dispatcher.DispatchController;

/** Header stamped on every response a mesh policy touched, with Envoy's response flags (`UO,URX`). */
export const RESPONSE_FLAGS_HEADER = 'x-weft-response-flags';

/** Header carrying the stable `WEFT_ERR_*` code of a local reply that answers an error. */
export const ERROR_CODE_HEADER = 'x-weft-error-code';

/** A controller for a reply that has no connection: abort only records the reason. */
export class LocalController implements Controller {
  #aborted = false;
  #paused = false;
  #reason: Error | null = null;
  get aborted(): boolean {
    return this.#aborted;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get reason(): Error | null {
    return this.#reason;
  }
  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
  }
  pause(): void {
    this.#paused = true;
  }
  resume(): void {
    this.#paused = false;
  }
}

/** A local response: status, headers (lower-case names) and an optional body. */
export interface LocalResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly flag?: string;
}

/** Delivers `response` to `handler` as if an upstream had answered. */
export function replyLocally(handler: Handler, response: LocalResponse, isStarted = false): void {
  queueMicrotask(() => {
    const ctrl = new LocalController();
    try {
      if (!isStarted) handler.onRequestStart?.(ctrl, {});
      if (ctrl.aborted) return handler.onResponseError?.(ctrl, ctrl.reason!);
      const body = response.body === undefined ? undefined : Buffer.from(response.body, 'utf8');
      const headers: Record<string, string> = { ...response.headers };
      if (response.flag !== undefined) headers[RESPONSE_FLAGS_HEADER] = response.flag;
      headers['content-length'] = String(body?.length ?? 0);
      if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'text/plain';
      handler.onResponseStart?.(ctrl, response.status, headers, STATUS_TEXT[response.status] ?? '');
      if (ctrl.aborted) return handler.onResponseError?.(ctrl, ctrl.reason!);
      if (body !== undefined && body.length > 0) handler.onResponseData?.(ctrl, body);
      if (ctrl.aborted) return handler.onResponseError?.(ctrl, ctrl.reason!);
      handler.onResponseEnd?.(ctrl, {});
    } catch (err) {
      handler.onResponseError?.(ctrl, err as Error);
    }
  });
}

/** Delivers `error` to `handler` (a request that never reached an upstream). */
export function failLocally(handler: Handler, error: Error, isStarted = false): void {
  queueMicrotask(() => {
    const ctrl = new LocalController();
    if (!isStarted) {
      try {
        handler.onRequestStart?.(ctrl, {});
      } catch {
        // the error below is what the caller needs to see
      }
    }
    handler.onResponseError?.(ctrl, error);
  });
}

/** How a MeshError with a local reply status is answered: a response or the error itself. */
export type LocalReplyMode = 'response' | 'error';

/** Answers `error` as Envoy would (status + flag + `headers`) or, in `error` mode, as the error. */
export function replyWithError(handler: Handler, mode: LocalReplyMode, status: number, error: MeshError, headers?: Record<string, string>, isStarted = false): void {
  if (mode === 'error') return failLocally(handler, error, isStarted);
  replyLocally(
    handler,
    { status, headers: { [ERROR_CODE_HEADER]: error.code, ...headers }, body: `${error.message}\n`, flag: error.responseFlag },
    isStarted,
  );
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  404: 'Not Found',
  429: 'Too Many Requests',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
