/**
 * Shared helpers of the per-type decoders: reading plain objects produced by protobufjs
 * (`unpackAny` with proto field names), converting durations, wrappers, structs and matchers,
 * and reporting validation failures with the field path that caused them.
 *
 * Decoders throw {@link InvalidResource} internally; the per-type entry points catch it and
 * return a `DecodeResult`, so nothing escapes to the stream.
 */
import { RE2JS } from 're2js';
import { unpackAny, TypeUrl, type AnyMessage } from '../protos.ts';
import { valueToJson, structToJson } from '../struct.ts';
import type {
  CidrRange,
  FractionalPercent,
  HeaderMatcher,
  HeaderValueOption,
  HeaderMutations,
  Metadata,
  RegexRewrite,
  StringMatcher,
} from './types.ts';

/** A decoded protobuf message as a plain object. */
export type Obj = Record<string, unknown>;

/** Thrown by decoders for one invalid field; caught by the decoder entry points. */
export class InvalidResource extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** Throws an {@link InvalidResource} for `field`. */
export function invalid(field: string, message: string): never {
  throw new InvalidResource(field, message);
}

/** The object at `value`, or an empty object when absent. */
export function obj(value: unknown): Obj {
  return typeof value === 'object' && value !== null ? (value as Obj) : {};
}

/** True when the message field is present (protobufjs omits unset fields with `defaults: false`). */
export function has(o: Obj, key: string): boolean {
  return o[key] !== undefined && o[key] !== null;
}

/** Array field (repeated), empty when absent. */
export function arr(value: unknown): Obj[] {
  return Array.isArray(value) ? (value as Obj[]) : [];
}

/** String field, `''` when absent. */
export function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Number field (longs arrive as numbers), 0 when absent. */
export function num(value: unknown): number {
  return typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : 0;
}

/** A `google.protobuf.*Value` wrapper's value, or undefined when the wrapper is absent. */
export function wrapped(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  // JSON mapping (TypedStruct) carries wrappers as bare values.
  if (typeof value !== 'object') return num(value);
  return num((value as Obj)['value']);
}

/** A `BoolValue` wrapper, or `fallback` when absent. */
export function wrappedBool(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  return (value as Obj)['value'] === true;
}

/** A `google.protobuf.Duration` in milliseconds, or undefined when absent; rejects negatives. */
export function durationMs(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    // JSON mapping (TypedStruct): "1.5s".
    const m = /^(\d+(?:\.\d+)?)s$/.exec(value);
    if (!m) invalid(field, `invalid duration ${JSON.stringify(value)}`);
    return Number(m[1]) * 1000;
  }
  const o = value as Obj;
  const seconds = num(o['seconds']);
  const nanos = num(o['nanos']);
  if (seconds < 0 || nanos < 0 || nanos > 999_999_999 || seconds > 315_576_000_000) {
    invalid(field, `invalid duration (seconds ${seconds}, nanos ${nanos})`);
  }
  return seconds * 1000 + nanos / 1e6;
}

/** `envoy.type.v3.FractionalPercent`, or `fallback` when absent. */
export function fractionalPercent(value: unknown, fallback: FractionalPercent): FractionalPercent;
export function fractionalPercent(value: unknown, fallback?: FractionalPercent): FractionalPercent | undefined;
export function fractionalPercent(value: unknown, fallback?: FractionalPercent): FractionalPercent | undefined {
  if (value === undefined || value === null) return fallback;
  const o = value as Obj;
  const denominator = o['denominator'] === 'MILLION' ? 1000000 : o['denominator'] === 'TEN_THOUSAND' ? 10000 : 100;
  return { numerator: num(o['numerator']), denominator };
}

/** Checks an RE2 regex compiles; returns it. */
export function checkRegex(regex: string, field: string): string {
  try {
    RE2JS.compile(regex);
  } catch (err) {
    invalid(field, `invalid regex ${JSON.stringify(regex)}: ${(err as Error).message}`);
  }
  return regex;
}

/** `envoy.type.matcher.v3.RegexMatcher` → its validated regex string. */
export function regexMatcher(value: unknown, field: string): string {
  return checkRegex(str(obj(value)['regex']), `${field}.regex`);
}

/** `envoy.type.matcher.v3.StringMatcher`. */
export function stringMatcher(value: unknown, field: string): StringMatcher {
  const o = obj(value);
  const ignoreCase = o['ignore_case'] === true;
  switch (o['match_pattern']) {
    case 'exact':
      return { type: 'exact', value: str(o['exact']), ignoreCase };
    case 'prefix':
      if (str(o['prefix']) === '') invalid(`${field}.prefix`, 'must not be empty');
      return { type: 'prefix', value: str(o['prefix']), ignoreCase };
    case 'suffix':
      if (str(o['suffix']) === '') invalid(`${field}.suffix`, 'must not be empty');
      return { type: 'suffix', value: str(o['suffix']), ignoreCase };
    case 'contains':
      if (str(o['contains']) === '') invalid(`${field}.contains`, 'must not be empty');
      return { type: 'contains', value: str(o['contains']), ignoreCase };
    case 'safe_regex':
      return { type: 'safeRegex', regex: regexMatcher(o['safe_regex'], `${field}.safe_regex`) };
    default:
      return invalid(field, 'no match pattern set (exact, prefix, suffix, contains or safe_regex)');
  }
}

/** `envoy.config.route.v3.HeaderMatcher`, folding the deprecated direct fields into StringMatcher. */
export function headerMatcher(value: unknown, field: string): HeaderMatcher {
  const o = obj(value);
  const name = str(o['name']).toLowerCase();
  if (name === '') invalid(`${field}.name`, 'must not be empty');
  const base = { name, invertMatch: o['invert_match'] === true, treatMissingHeaderAsEmpty: o['treat_missing_header_as_empty'] === true };
  switch (o['header_match_specifier']) {
    case 'exact_match':
      return { ...base, match: { type: 'exact', value: str(o['exact_match']), ignoreCase: false } };
    case 'prefix_match':
      return { ...base, match: { type: 'prefix', value: str(o['prefix_match']), ignoreCase: false } };
    case 'suffix_match':
      return { ...base, match: { type: 'suffix', value: str(o['suffix_match']), ignoreCase: false } };
    case 'contains_match':
      return { ...base, match: { type: 'contains', value: str(o['contains_match']), ignoreCase: false } };
    case 'safe_regex_match':
      return { ...base, match: { type: 'safeRegex', regex: regexMatcher(o['safe_regex_match'], `${field}.safe_regex_match`) } };
    case 'present_match':
      return { ...base, match: { type: 'present', present: o['present_match'] === true } };
    case 'range_match': {
      const r = obj(o['range_match']);
      const start = num(r['start']);
      const end = num(r['end']);
      if (end <= start) invalid(`${field}.range_match`, `end ${end} must be greater than start ${start}`);
      return { ...base, match: { type: 'range', start, end } };
    }
    case 'string_match':
      return { ...base, match: stringMatcher(o['string_match'], `${field}.string_match`) };
    default:
      // No specifier: Envoy treats it as "header present".
      return { ...base, match: { type: 'present', present: true } };
  }
}

/** `envoy.type.matcher.v3.RegexMatchAndSubstitute`. */
export function regexRewrite(value: unknown, field: string): RegexRewrite | undefined {
  if (value === undefined || value === null) return undefined;
  const o = obj(value);
  return { pattern: regexMatcher(o['pattern'], `${field}.pattern`), substitution: str(o['substitution']) };
}

/** `envoy.config.core.v3.HeaderValueOption` list. */
export function headerValueOptions(value: unknown, field: string): HeaderValueOption[] {
  return arr(value).map((option, i) => {
    const header = obj(option['header']);
    const key = str(header['key']).toLowerCase();
    if (key === '') invalid(`${field}[${i}].header.key`, 'must not be empty');
    const raw = str(header['value']) || (Buffer.isBuffer(header['raw_value']) ? (header['raw_value'] as Buffer).toString('latin1') : '');
    let appendAction = (str(option['append_action']) || 'APPEND_IF_EXISTS_OR_ADD') as HeaderValueOption['appendAction'];
    if (has(option, 'append') && !wrappedBool(option['append'], true)) appendAction = 'OVERWRITE_IF_EXISTS_OR_ADD';
    return { key, value: raw, appendAction, keepEmptyValue: option['keep_empty_value'] === true };
  });
}

/** The four header mutation lists shared by several messages. */
export function headerMutations(o: Obj, field: string): HeaderMutations {
  return {
    requestHeadersToAdd: headerValueOptions(o['request_headers_to_add'], `${field}.request_headers_to_add`),
    requestHeadersToRemove: arr(o['request_headers_to_remove']).map((h) => String(h).toLowerCase()),
    responseHeadersToAdd: headerValueOptions(o['response_headers_to_add'], `${field}.response_headers_to_add`),
    responseHeadersToRemove: arr(o['response_headers_to_remove']).map((h) => String(h).toLowerCase()),
  };
}

/** `envoy.config.core.v3.CidrRange`. */
export function cidrRange(value: unknown, field: string): CidrRange {
  const o = obj(value);
  const addressPrefix = str(o['address_prefix']);
  const prefixLen = wrapped(o['prefix_len']) ?? 0;
  const max = addressPrefix.includes(':') ? 128 : 32;
  if (addressPrefix === '') invalid(`${field}.address_prefix`, 'must not be empty');
  if (prefixLen > max) invalid(`${field}.prefix_len`, `${prefixLen} exceeds ${max}`);
  return { addressPrefix, prefixLen };
}

export { valueToJson, structToJson };

/** `envoy.config.core.v3.Metadata` → filter name → JSON struct (typed metadata is ignored). */
export function metadata(value: unknown): Metadata {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [k, v] of Object.entries(obj(obj(value)['filter_metadata']))) out[k] = structToJson(v);
  return out;
}

/**
 * Unwraps a typed config: a plain `Any`, or a `TypedStruct` (udpa or xds) whose `value` Struct
 * is converted back to the proto object of its inner type URL. Returns the inner type URL and
 * the decoded message as a plain object.
 */
export function unwrapTypedConfig(any: unknown, field: string): { typeUrl: string; message: Obj } {
  const a = obj(any) as unknown as AnyMessage;
  const typeUrl = str(a.type_url);
  if (typeUrl === '') invalid(field, 'typed_config is missing');
  let message: Obj;
  try {
    message = typeUrl === TypeUrl.typedStructUdpa || typeUrl === TypeUrl.typedStructXds || isKnownType(typeUrl) ? unpackAny(a) : {};
  } catch (err) {
    return invalid(field, `cannot decode ${typeUrl}: ${(err as Error).message}`);
  }
  if (typeUrl === TypeUrl.typedStructUdpa || typeUrl === TypeUrl.typedStructXds) {
    const innerUrl = str(message['type_url']);
    return { typeUrl: innerUrl, message: snakeKeys(structToJson(message['value'])) as Obj };
  }
  return { typeUrl, message };
}

/** Proto3 JSON may use lowerCamelCase names; decoders read proto (snake_case) names. */
function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) out[k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())] = snakeKeys(v);
  return out;
}

const KNOWN_TYPES = new Set<string>(Object.values(TypeUrl));
/** Type URLs whose protos are loaded and that decoders may unpack. */
export function isKnownType(typeUrl: string): boolean {
  return KNOWN_TYPES.has(typeUrl) || typeUrl.startsWith('type.googleapis.com/envoy.extensions.load_balancing_policies.') || typeUrl === UPSTREAM_HTTP_PROTOCOL_OPTIONS;
}

/** Type URL of the upstream HTTP protocol options extension. */
export const UPSTREAM_HTTP_PROTOCOL_OPTIONS = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** Runs a decoder, turning an {@link InvalidResource} (or any throw) into a failed result. */
export function decodeSafely<T>(run: () => T): { ok: true; value: T } | { ok: false; error: string } {
  try {
    return { ok: true, value: run() };
  } catch (err) {
    return { ok: false, error: err instanceof InvalidResource ? err.message : `decode failed: ${(err as Error).message}` };
  }
}
