/**
 * Header plumbing between undici and the mesh: undici's several header shapes normalised to one
 * lower-case record, Envoy header mutations (`request_headers_to_add/remove`,
 * `response_headers_to_add/remove`) and path/host rewrites.
 */
import type { HeaderMutations, HeaderValueOption, RegexRewrite } from '@weft/xds-client';

/** Lower-case header name → value(s). */
export type HeaderRecord = Record<string, string | string[]>;

/**
 * Normalises undici's `opts.headers` (record, flat `[k, v, …]` array, array or iterable of
 * pairs) into a fresh lower-case record; repeated names become arrays. Never mutates the input.
 */
export function normalizeHeaders(input: unknown): HeaderRecord {
  const out: HeaderRecord = {};
  if (input === null || input === undefined) return out;
  if (Array.isArray(input)) {
    if (input.length > 0 && Array.isArray(input[0])) for (const [k, v] of input as unknown[][]) addHeader(out, k, v);
    else for (let i = 0; i + 1 < input.length; i += 2) addHeader(out, input[i], input[i + 1]);
  } else if (typeof (input as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of input as Iterable<[unknown, unknown]>) addHeader(out, pair[0], pair[1]);
  } else if (typeof input === 'object') {
    const record = input as Record<string, unknown>;
    for (const k in record) if (Object.hasOwn(record, k)) addHeader(out, k, record[k]);
  }
  return out;
}

/** Adds one header to `out` (lower-cased name; a repeated name becomes an array). */
function addHeader(out: HeaderRecord, k: unknown, v: unknown): void {
  if (v === undefined || v === null) return;
  const name = (typeof k === 'string' ? k : String(k)).toLowerCase();
  const prev = out[name];
  if (!Array.isArray(v)) {
    // The common case: one scalar value, no intermediate array.
    const value = typeof v === 'string' ? v : String(v);
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    return;
  }
  const values = v.map(String);
  if (prev === undefined) out[name] = values.length === 1 ? values[0]! : values;
  else out[name] = [...(Array.isArray(prev) ? prev : [prev]), ...values];
}

/** Applies Envoy header value options to `headers` in place (`%…%` variables are not expanded). */
export function applyHeadersToAdd(headers: HeaderRecord, options: readonly HeaderValueOption[]): void {
  for (const o of options) {
    const name = o.key.toLowerCase();
    if (o.value === '' && !o.keepEmptyValue) continue;
    const prev = headers[name];
    switch (o.appendAction) {
      case 'APPEND_IF_EXISTS_OR_ADD':
        headers[name] = prev === undefined ? o.value : [...(Array.isArray(prev) ? prev : [prev]), o.value];
        break;
      case 'ADD_IF_ABSENT':
        if (prev === undefined) headers[name] = o.value;
        break;
      case 'OVERWRITE_IF_EXISTS_OR_ADD':
        headers[name] = o.value;
        break;
      case 'OVERWRITE_IF_EXISTS':
        if (prev !== undefined) headers[name] = o.value;
        break;
    }
  }
}

/** Removes the named headers in place. */
export function removeHeaders(headers: HeaderRecord, names: readonly string[]): void {
  for (const n of names) delete headers[n.toLowerCase()];
}

/** True when any level carries a mutation of the given direction (fast path check). */
export function hasMutations(levels: readonly (HeaderMutations | undefined)[], direction: 'request' | 'response'): boolean {
  for (const l of levels) {
    if (l === undefined) continue;
    if (direction === 'request' ? l.requestHeadersToAdd.length + l.requestHeadersToRemove.length > 0 : l.responseHeadersToAdd.length + l.responseHeadersToRemove.length > 0) return true;
  }
  return false;
}

/**
 * Applies the mutations of every level, most specific first as Envoy does by default
 * (weighted cluster, route, virtual host, route configuration): removals, then additions.
 */
export function applyMutations(headers: HeaderRecord, levels: readonly (HeaderMutations | undefined)[], direction: 'request' | 'response'): void {
  for (const l of levels) {
    if (l === undefined) continue;
    if (direction === 'request') {
      removeHeaders(headers, l.requestHeadersToRemove);
      applyHeadersToAdd(headers, l.requestHeadersToAdd);
    } else {
      removeHeaders(headers, l.responseHeadersToRemove);
      applyHeadersToAdd(headers, l.responseHeadersToAdd);
    }
  }
}

const rewriteCache = new WeakMap<RegexRewrite, { re: RegExp; replacement: string }>();

/**
 * Applies an Envoy `RegexMatchAndSubstitute` to every match in `input`. RE2 patterns are run
 * with the JavaScript engine (RE2 syntax is accepted by it save `(?P<…>)` groups, rewritten
 * here); compiled once per decoded rewrite object.
 * TODO(core): use core's RE2 `compileRewrite` once `@weft/core` exports it.
 */
export function applyRegexRewrite(rewrite: RegexRewrite, input: string): string {
  let c = rewriteCache.get(rewrite);
  if (c === undefined) {
    c = {
      re: new RegExp(rewrite.pattern.replace(/\(\?P</g, '(?<'), 'g'),
      replacement: rewrite.substitution.replace(/\$/g, '$$$$').replace(/\\(\d)/g, '$$$1'),
    };
    rewriteCache.set(rewrite, c);
  }
  c.re.lastIndex = 0;
  return input.replace(c.re, c.replacement);
}

/** Splits a request target into path and `?query` (query keeps its `?`). */
export function splitPath(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q) };
}
