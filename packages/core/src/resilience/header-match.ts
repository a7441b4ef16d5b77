/**
 * Header access and header matching for the resilience policies, protocol-agnostic.
 *
 * Both adapters hand headers over as a plain record with lower-case names (undici's response
 * headers object, grpc-js `Metadata.getMap()`); repeated headers are arrays and are joined with
 * `,` before matching, as Envoy does.
 */
import { ErrorCode, MeshError } from '@weft/xds-client';

/** Headers of a request or response: lower-case name → value(s). Buffers are read as UTF-8. */
export type HeaderRecord = Readonly<Record<string, string | readonly string[] | Uint8Array | undefined>>;

/**
 * How one header value is tested. Structurally the same as `HeaderValueMatch` of
 * `@weft/xds-client` (a decoded `envoy.config.route.v3.HeaderMatcher`), so decoded values pass
 * straight in. `safeRegex` must match the whole value.
 */
export type HeaderValueMatcher =
  | { readonly type: 'exact' | 'prefix' | 'suffix' | 'contains'; readonly value: string; readonly ignoreCase?: boolean }
  | { readonly type: 'safeRegex'; readonly regex: string }
  | { readonly type: 'present'; readonly present: boolean }
  | { readonly type: 'range'; readonly start: number; readonly end: number };

/** One header condition; see `HeaderMatcher` in `@weft/xds-client`. */
export interface HeaderCondition {
  /** Lower-case header name. */
  readonly name: string;
  readonly match: HeaderValueMatcher;
  /** Inverts the result. */
  readonly invertMatch?: boolean;
  /** A missing header is matched as the empty string instead of failing. */
  readonly treatMissingHeaderAsEmpty?: boolean;
}

/** A compiled condition: true when the headers satisfy it. */
export type HeaderPredicate = (headers: HeaderRecord | undefined) => boolean;

/**
 * Reads one header as a string (repeated values joined with `,`), or `undefined` when absent.
 */
export function readHeader(headers: HeaderRecord | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  const value = headers[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  return (value as readonly string[]).join(',');
}

/**
 * Compiles one condition. A `safeRegex` that JavaScript cannot compile throws a MeshError
 * `WEFT_ERR_CONFIG_INVALID` naming `where` (the config field) and the header.
 */
export function compileHeaderCondition(condition: HeaderCondition, where: string): HeaderPredicate {
  const name = condition.name.toLowerCase();
  const invert = condition.invertMatch === true;
  const missingAsEmpty = condition.treatMissingHeaderAsEmpty === true;
  const test = compileValueTest(condition.match, name, where);
  const isPresenceTest = condition.match.type === 'present';
  return (headers) => {
    let value = readHeader(headers, name);
    if (value === undefined && missingAsEmpty && !isPresenceTest) value = '';
    return test(value) !== invert;
  };
}

/** Compiles a list of conditions that must all hold (an empty list always holds). */
export function compileAllHeaders(conditions: readonly HeaderCondition[] | undefined, where: string): HeaderPredicate {
  if (conditions === undefined || conditions.length === 0) return () => true;
  const predicates = conditions.map((c, i) => compileHeaderCondition(c, `${where}[${i}]`));
  return (headers) => predicates.every((p) => p(headers));
}

/** Compiles a list of conditions of which at least one must hold (an empty list never holds). */
export function compileAnyHeader(conditions: readonly HeaderCondition[] | undefined, where: string): HeaderPredicate {
  if (conditions === undefined || conditions.length === 0) return () => false;
  const predicates = conditions.map((c, i) => compileHeaderCondition(c, `${where}[${i}]`));
  return (headers) => predicates.some((p) => p(headers));
}

function compileValueTest(match: HeaderValueMatcher, name: string, where: string): (value: string | undefined) => boolean {
  switch (match.type) {
    case 'present':
      return (v) => (v !== undefined) === match.present;
    case 'range':
      return (v) => {
        if (v === undefined || !/^[+-]?\d+$/.test(v)) return false;
        const n = Number(v);
        return n >= match.start && n < match.end;
      };
    case 'safeRegex': {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${match.regex})$`, 'u');
      } catch (cause) {
        throw new MeshError(ErrorCode.configInvalid, `${where}: invalid safe_regex ${JSON.stringify(match.regex)} for header "${name}"`, {
          cause,
          details: { field: where, header: name },
        });
      }
      return (v) => v !== undefined && re.test(v);
    }
    default: {
      const ignoreCase = match.ignoreCase === true;
      const expected = ignoreCase ? match.value.toLowerCase() : match.value;
      const kind = match.type;
      return (v) => {
        if (v === undefined) return false;
        const actual = ignoreCase ? v.toLowerCase() : v;
        if (kind === 'exact') return actual === expected;
        if (kind === 'prefix') return actual.startsWith(expected);
        if (kind === 'suffix') return actual.endsWith(expected);
        return actual.includes(expected);
      };
    }
  }
}
