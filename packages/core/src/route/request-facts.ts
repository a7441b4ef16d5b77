/**
 * The facts about one outgoing request that routing and hash-based load balancing read. The
 * adapters build one per request from what they already hold; nothing here is copied or
 * normalised by core (header names must already be lower-case, as Node and undici give them).
 */

/** Header values by lower-case name; a repeated header is an array. */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | undefined>>;

/** One request as routing sees it. */
export interface RequestFacts {
  /** Upper-case method (`GET`); matched by `:method` header matchers. */
  method?: string;
  /** The request target: path plus optional `?query` (a fragment, if any, is ignored). */
  path: string;
  /** Request headers, lower-case names. `:authority`, `:method`, `:path` are synthesised. */
  headers: HeaderMap;
  /** The authority (`host:port`) when header matchers ask for `:authority`/`host`. */
  authority?: string;
  /** Downstream (this process's caller) IP for `source_ip` hash policies, if known. */
  sourceIp?: string;
}

/**
 * The value of header `name` (lower-case) as Envoy's matchers see it: repeated values are joined
 * with `,`; pseudo-headers come from the request facts. `undefined` when absent.
 */
export function headerValue(req: RequestFacts, name: string): string | undefined {
  if (name.charCodeAt(0) === 58 /* ':' */) {
    if (name === ':method') return req.method;
    if (name === ':path') return req.path;
    if (name === ':authority') return req.authority ?? headerValue(req, 'host');
    if (name === ':scheme') return undefined;
  }
  const v = req.headers[name];
  if (v === undefined || typeof v === 'string') return v;
  return v.length === 0 ? undefined : v.join(',');
}

/** The path without query string or fragment. */
export function pathOnly(path: string): string {
  const q = path.indexOf('?');
  const f = path.indexOf('#');
  const end = q < 0 ? f : f < 0 ? q : Math.min(q, f);
  return end < 0 ? path : path.slice(0, end);
}

/**
 * The first value of query parameter `name` in `path` (percent-decoding `+` and `%XX`), `''` for
 * a bare `?name`, `undefined` when absent.
 */
export function queryParam(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  const f = path.indexOf('#', q);
  const query = f < 0 ? path.slice(q + 1) : path.slice(q + 1, f);
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (key !== name) continue;
    if (eq < 0) return '';
    const raw = part.slice(eq + 1).replace(/\+/g, ' ');
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return undefined;
}

/** The value of cookie `name` from the `cookie` header(s), `undefined` when absent. */
export function cookieValue(req: RequestFacts, name: string): string | undefined {
  const raw = req.headers.cookie;
  if (raw === undefined) return undefined;
  const lines = typeof raw === 'string' ? [raw] : raw;
  for (const line of lines) {
    for (const pair of line.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      if (pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
    }
  }
  return undefined;
}
