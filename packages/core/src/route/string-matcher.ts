/**
 * Compiled `StringMatcher`s and header / query-parameter matchers with Envoy's semantics.
 * Compilation lower-cases `ignoreCase` operands and compiles regexes once; matching allocates
 * only when a case-insensitive comparison lower-cases the input.
 */
import type { HeaderMatcher, QueryParameterMatcher, StringMatcher } from '@weft/xds-client';
import { compileRegex } from './regex.ts';
import { headerValue, queryParam } from './request-facts.ts';
import type { RequestFacts } from './request-facts.ts';

/** A compiled predicate over one string. */
export type StringPredicate = (value: string) => boolean;

/** Compiles a `StringMatcher`; `where` names the config field for regex errors. */
export function compileStringMatcher(m: StringMatcher, where: string): StringPredicate {
  if (m.type === 'safeRegex') {
    const re = compileRegex(m.regex, `${where}.safe_regex`);
    return (v) => re.test(v);
  }
  const ignoreCase = m.ignoreCase;
  const want = ignoreCase ? m.value.toLowerCase() : m.value;
  const norm = ignoreCase ? (v: string) => v.toLowerCase() : (v: string) => v;
  switch (m.type) {
    case 'exact':
      return (v) => norm(v) === want;
    case 'prefix':
      return (v) => norm(v).startsWith(want);
    case 'suffix':
      return (v) => norm(v).endsWith(want);
    case 'contains':
      return (v) => norm(v).includes(want);
  }
}

/** A compiled request predicate. */
export type RequestPredicate = (req: RequestFacts) => boolean;

const INTEGER = /^[+-]?\d+$/;

/**
 * Compiles a `HeaderMatcher`. Semantics: repeated headers are joined with `,`; a missing header
 * is the empty string when `treatMissingHeaderAsEmpty`, otherwise it fails every value test and
 * satisfies only `present: false`; `range` matches integers in `[start, end)`; `invertMatch`
 * negates the outcome in every case.
 */
export function compileHeaderMatcher(h: HeaderMatcher, where: string): RequestPredicate {
  const name = h.name.toLowerCase();
  const invert = h.invertMatch;
  const m = h.match;
  let test: (value: string | undefined) => boolean;
  if (m.type === 'present') {
    const want = m.present;
    test = (v) => (v !== undefined) === want;
  } else if (m.type === 'range') {
    const { start, end } = m;
    test = (v) => v !== undefined && INTEGER.test(v) && Number(v) >= start && Number(v) < end;
  } else {
    const p = compileStringMatcher(m, `${where}.string_match`);
    test = (v) => v !== undefined && p(v);
  }
  const missingAsEmpty = h.treatMissingHeaderAsEmpty;
  return (req) => {
    let v = headerValue(req, name);
    if (v === undefined && missingAsEmpty) v = '';
    return test(v) !== invert;
  };
}

/** Compiles a `QueryParameterMatcher` (the first value of the parameter is tested). */
export function compileQueryParameterMatcher(q: QueryParameterMatcher, where: string): RequestPredicate {
  const name = q.name;
  const m = q.match;
  if (m.type === 'present') return (req) => queryParam(req.path, name) !== undefined;
  const p = compileStringMatcher(m, `${where}.string_match`);
  return (req) => {
    const v = queryParam(req.path, name);
    return v !== undefined && p(v);
  };
}
