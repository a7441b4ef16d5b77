/**
 * Translation of Istio `HTTPMatchRequest` to Envoy `RouteMatch`: uri exact/prefix/regex,
 * `ignoreUriCase`, headers (exact/prefix/regex/present, `withoutHeaders` inverted), method and
 * authority as the `:method` / `:authority` pseudo-headers, and query parameters.
 */
import type { HttpMatchView, StringMatchView } from './istio-views.ts';

function stringMatcher(sm: StringMatchView): Record<string, unknown> | undefined {
  if (sm.exact !== undefined) return { exact: sm.exact };
  if (sm.prefix !== undefined) return { prefix: sm.prefix };
  if (sm.regex !== undefined) return { safe_regex: { regex: sm.regex } };
  return undefined;
}

function headerMatcher(name: string, sm: StringMatchView, isInverted: boolean): Record<string, unknown> {
  const matcher = stringMatcher(sm);
  const out: Record<string, unknown> = matcher ? { name, string_match: matcher } : { name, present_match: true };
  if (isInverted) out.invert_match = true;
  return out;
}

/**
 * The Envoy `RouteMatch` for one Istio match (or the catch-all `prefix: /` when `match` is
 * undefined). Returns `undefined` when the match is bound to another port than `port`.
 */
export function routeMatch(match: HttpMatchView | undefined, port: number): Record<string, unknown> | undefined {
  if (!match) return { prefix: '/' };
  if (match.port !== undefined && match.port !== port) return undefined;
  const out: Record<string, unknown> = {};
  const uri = match.uri;
  if (uri?.exact !== undefined) out.path = uri.exact;
  else if (uri?.prefix !== undefined) out.prefix = uri.prefix;
  else if (uri?.regex !== undefined) out.safe_regex = { regex: uri.regex };
  else out.prefix = '/';
  if (match.ignoreUriCase) out.case_sensitive = { value: false };
  const headers: Record<string, unknown>[] = [];
  for (const [name, sm] of Object.entries(match.headers ?? {})) headers.push(headerMatcher(name.toLowerCase(), sm, false));
  for (const [name, sm] of Object.entries(match.withoutHeaders ?? {})) headers.push(headerMatcher(name.toLowerCase(), sm, true));
  if (match.method) headers.push(headerMatcher(':method', match.method, false));
  if (match.authority) headers.push(headerMatcher(':authority', match.authority, false));
  if (headers.length) out.headers = headers;
  const params: Record<string, unknown>[] = [];
  for (const [name, sm] of Object.entries(match.queryParams ?? {})) {
    const matcher = stringMatcher(sm);
    params.push(matcher ? { name, string_match: matcher } : { name, present_match: true });
  }
  if (params.length) out.query_parameters = params;
  return out;
}
