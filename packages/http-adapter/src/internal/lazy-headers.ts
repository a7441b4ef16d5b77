/**
 * Response headers as the upstream sent them (undici's raw `[name, value, …]` buffers), parsed
 * only when a mesh stage needs them. The endpoint stage hands a `LazyHeaders` up the chain in
 * place of a headers object; stages that read or copy headers call {@link resolveHeaders};
 * the legacy-API entry adapter passes the raw buffers straight to undici's `request()`/`fetch`
 * handlers, so a response nobody inspects is never parsed by the mesh.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** See the module comment. */
export class LazyHeaders {
  readonly raw: Buffer[];
  #parsed: IncomingHttpHeaders | undefined;

  constructor(raw: Buffer[]) {
    this.raw = raw;
  }

  /** The parsed headers (lower-case names, repeated names as arrays), parsed once. */
  get parsed(): IncomingHttpHeaders {
    if (this.#parsed === undefined) {
      const out: Record<string, string | string[]> = Object.create(null);
      const raw = this.raw;
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const key = raw[i]!.toString('latin1').toLowerCase();
        const value = raw[i + 1]!.toString('latin1');
        const prev = out[key];
        if (prev === undefined) out[key] = value;
        else if (typeof prev === 'string') out[key] = [prev, value];
        else prev.push(value);
      }
      this.#parsed = { ...out } as IncomingHttpHeaders;
    }
    return this.#parsed;
  }
}

/** A headers object for `headers`, parsing a {@link LazyHeaders} if that is what it is. */
export function resolveHeaders(headers: IncomingHttpHeaders | LazyHeaders): IncomingHttpHeaders {
  return headers instanceof LazyHeaders ? headers.parsed : headers;
}

/** Casts a {@link LazyHeaders} to the type the handler API declares (see the module comment). */
export function asHeaders(lazy: LazyHeaders): IncomingHttpHeaders {
  return lazy as unknown as IncomingHttpHeaders;
}
