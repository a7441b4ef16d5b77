/**
 * RE2 regexes (Envoy `safe_regex`), compiled once when config arrives with re2js, which
 * implements RE2's syntax and linear-time guarantee in JavaScript. A pattern that RE2 rejects is
 * a `MeshError` `WEFT_ERR_XDS_INVALID` naming where it came from; nothing is compiled per request.
 */
import { RE2JS } from 're2js';
import { MeshError, ErrorCode } from '@weft/xds-client';

/** A compiled whole-string matcher. */
export interface CompiledRegex {
  readonly source: string;
  /** True when the regex matches the whole of `input` (Envoy's `safe_regex` semantics). */
  test(input: string): boolean;
}

/**
 * Compiles `pattern` as RE2. `where` names the config location for the error message
 * (e.g. `route_config reviews, virtual_host vh0, route[2].match.safe_regex`).
 */
export function compileRegex(pattern: string, where: string): CompiledRegex {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new MeshError(ErrorCode.xdsInvalid, `${where}: invalid RE2 regex ${JSON.stringify(pattern)}: ${why}`, {
      cause,
      details: { field: where, regex: pattern },
    });
  }
  const prefix = literalPrefix(pattern);
  if (prefix === '') return { source: pattern, test: (input: string) => re.matches(input) };
  return { source: pattern, test: (input: string) => input.startsWith(prefix) && re.matches(input) };
}

const META = new Set(['\\', '.', '[', ']', '(', ')', '{', '}', '*', '+', '?', '|', '^', '$']);

/**
 * The literal text every whole-string match of `pattern` must start with, used to skip the RE2
 * engine for inputs that cannot match (most routes of a table). Conservative: '' whenever the
 * pattern has an alternation anywhere, starts with a group or flag, or is otherwise unclear.
 */
export function literalPrefix(pattern: string): string {
  if (pattern.includes('|')) return '';
  let i = pattern.startsWith('^') ? 1 : 0;
  let out = '';
  for (; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (META.has(ch)) break;
    out += ch;
  }
  const next = pattern[i];
  // A quantifier makes the last literal optional or repeatable: drop it.
  if (next === '*' || next === '?' || next === '{' || next === '+') out = out.slice(0, -1);
  return out;
}

/** A compiled `RegexMatchAndSubstitute`: replaces every match (Envoy `\1` references). */
export interface CompiledRewrite {
  apply(input: string): string;
}

/** Compiles a regex rewrite; errors as in {@link compileRegex}. */
export function compileRewrite(pattern: string, substitution: string, where: string): CompiledRewrite {
  compileRegex(pattern, where);
  const re = RE2JS.compile(pattern);
  // Envoy writes capture references as \1; re2js (JS mode) expects $1. A literal $ is $$.
  const replacement = substitution.replace(/\$/g, '$$$$').replace(/\\(\d)/g, '$$$1');
  return { apply: (input: string) => re.matcher(input).replaceAll(replacement) };
}
