/**
 * Envoy config as Envoy reads it (proto3 JSON: `"@type"` inside `Any`, `"1s"` durations, plain
 * values for wrappers, a plain object for a `Struct`) checked strictly against Envoy's own
 * protos and encoded. protobufjs' `fromObject` drops unknown fields and unknown enum names
 * without a word; Envoy rejects them. So every key is looked up in the message type, every
 * enum name in its enum, every scalar's JSON type is checked, and a oneof may hold one field:
 * a mistake is a MeshError `WEFT_ERR_XDS_INVALID` naming the field path, never a silently
 * smaller message.
 *
 * Already-encoded `Any`s (`{type_url, value}` from the shared generators) are accepted when
 * their bytes decode as their type. The protobufjs shapes of Duration (`{seconds, nanos}`) and
 * wrappers (`{value}`) are accepted as well, so the same check covers what the generators build.
 */
import { MeshError, messageType, toStruct, xdsRoot, type AnyMessage } from '@weft/xds-client';
import type protobuf from 'protobufjs';

/** Envoy-only messages the shared proto set (xds-client's) does not load; added to the same root once. */
const ENVOY_ONLY_PROTOS = ['envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto'];
let isEnvoyLoaded = false;

/** Loads {@link ENVOY_ONLY_PROTOS} into the shared root (idempotent; synchronous). */
export function loadEnvoyProtos(): void {
  if (isEnvoyLoaded) return;
  const root = xdsRoot();
  root.loadSync(ENVOY_ONLY_PROTOS, { keepCase: true });
  root.resolveAll();
  isEnvoyLoaded = true;
}

/** Type URL of the TLS inspector listener filter (PERMISSIVE chains match on `transport_protocol`). */
export const TLS_INSPECTOR_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';

const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `.google.protobuf.${n}`));
const INTEGER_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function invalid(path: string, message: string): MeshError {
  return new MeshError('WEFT_ERR_XDS_INVALID', `Envoy config ${path || '(root)'}: ${message}`, { details: { path } });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function durationOf(value: unknown, path: string): { seconds: number; nanos: number } {
  if (typeof value === 'string') {
    const m = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(value);
    if (!m) throw invalid(path, `duration "${value}" is not like "1.5s"`);
    const sign = m[1] ? -1 : 1;
    return { seconds: sign * Number(m[2]), nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) };
  }
  if (isPlainObject(value) && Object.keys(value).every((k) => k === 'seconds' || k === 'nanos')) {
    return { seconds: Number(value.seconds ?? 0), nanos: Number(value.nanos ?? 0) };
  }
  throw invalid(path, 'a duration must be a string like "1s"');
}

function scalar(field: protobuf.Field, value: unknown, path: string): unknown {
  const t = field.type;
  if (t === 'string') {
    if (typeof value !== 'string') throw invalid(path, `expected a string, got ${typeof value}`);
    return value;
  }
  if (t === 'bool') {
    if (typeof value !== 'boolean') throw invalid(path, `expected a boolean, got ${typeof value}`);
    return value;
  }
  if (t === 'double' || t === 'float') {
    if (typeof value !== 'number') throw invalid(path, `expected a number, got ${typeof value}`);
    return value;
  }
  if (INTEGER_TYPES.has(t)) {
    const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n)) throw invalid(path, `expected an integer, got ${JSON.stringify(value)}`);
    if (t.startsWith('u') && n < 0) throw invalid(path, `expected an unsigned integer, got ${n}`);
    return n;
  }
  if (t === 'bytes') {
    if (value instanceof Uint8Array) return value;
    if (typeof value === 'string') return Buffer.from(value, 'base64');
    throw invalid(path, 'expected bytes (base64 string)');
  }
  throw invalid(path, `unsupported scalar type ${t}`);
}

function fieldValue(field: protobuf.Field, value: unknown, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved && 'values' in resolved) {
    const e = resolved as protobuf.Enum;
    if (typeof value === 'string' && value in e.values) return value;
    if (typeof value === 'number' && Object.values(e.values).includes(value)) return value;
    throw invalid(path, `${JSON.stringify(value)} is not a value of enum ${e.name}`);
  }
  if (resolved) return messageValue(resolved as protobuf.Type, value, path);
  return scalar(field, value, path);
}

function anyValue(value: unknown, path: string): AnyMessage {
  if (!isPlainObject(value)) throw invalid(path, 'an Any must be an object');
  if (typeof value['@type'] === 'string') {
    const typeUrl = value['@type'];
    let type: protobuf.Type;
    try {
      type = messageType(typeUrl);
    } catch {
      throw invalid(path, `unknown @type ${typeUrl}`);
    }
    const { '@type': _, ...rest } = value;
    const inner = messageValue(type, rest, `${path}<${type.name}>`);
    return { type_url: typeUrl, value: type.encode(type.fromObject(inner as Record<string, unknown>)).finish() };
  }
  if (typeof value.type_url === 'string' && value.value instanceof Uint8Array) {
    try {
      messageType(value.type_url).decode(value.value);
    } catch (err) {
      throw invalid(path, `packed ${value.type_url} does not decode: ${(err as Error).message}`);
    }
    return { type_url: value.type_url, value: value.value };
  }
  throw invalid(path, 'an Any needs "@type" (or type_url and encoded value)');
}

function messageValue(type: protobuf.Type, value: unknown, path: string): unknown {
  const full = type.fullName;
  if (full === '.google.protobuf.Any') return anyValue(value, path);
  if (full === '.google.protobuf.Duration') return durationOf(value, path);
  if (WRAPPERS.has(full)) {
    const inner = isPlainObject(value) && Object.keys(value).length === 1 && 'value' in value ? value.value : value;
    return { value: scalar(type.fields.value as protobuf.Field, inner, path) };
  }
  if (full === '.google.protobuf.Struct') {
    if (!isPlainObject(value)) throw invalid(path, 'a Struct must be an object');
    return isPlainObject(value.fields) && Object.keys(value).length === 1 ? value : toStruct(value);
  }
  if (!isPlainObject(value)) throw invalid(path, `${type.name} must be an object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key];
    const at = path ? `${path}.${key}` : key;
    if (!field) throw invalid(at, `${type.name} has no field "${key}"`);
    if (v === undefined) continue;
    if (field.map) {
      if (!isPlainObject(v)) throw invalid(at, 'a map must be an object');
      out[key] = Object.fromEntries(Object.entries(v).map(([k, mv]) => [k, fieldValue(field, mv, `${at}["${k}"]`)]));
    } else if (field.repeated) {
      if (!Array.isArray(v)) throw invalid(at, 'a repeated field must be an array');
      out[key] = v.map((item, i) => fieldValue(field, item, `${at}[${i}]`));
    } else {
      out[key] = fieldValue(field, v, at);
    }
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.oneof.filter((name) => out[name] !== undefined);
    if (set.length > 1) throw invalid(path, `oneof ${oneof.name} of ${type.name} holds ${set.join(' and ')}`);
  }
  return out;
}

/**
 * Checks `json` strictly against the message type `typeName` (full name or type URL) and returns
 * it in the shape protobufjs encodes (nested `Any`s packed, durations and wrappers as objects).
 * Throws `WEFT_ERR_XDS_INVALID` naming the first bad field; see the module comment.
 */
export function checkEnvoyJson(typeName: string, json: unknown): Record<string, unknown> {
  loadEnvoyProtos();
  return messageValue(messageType(typeName), json, '') as Record<string, unknown>;
}

/**
 * Checks `json` strictly against the message type `typeName` (full name or type URL) and encodes
 * it. Throws `WEFT_ERR_XDS_INVALID` naming the first bad field; see the module comment.
 */
export function encodeEnvoyJson(typeName: string, json: unknown): Uint8Array {
  loadEnvoyProtos();
  const type = messageType(typeName);
  const checked = messageValue(type, json, '') as Record<string, unknown>;
  return type.encode(type.fromObject(checked)).finish();
}

/** {@link encodeEnvoyJson} as a protobuf `Any` (what ADS carries). */
export function packEnvoyJson(typeUrl: string, json: unknown): AnyMessage {
  return { type_url: typeUrl, value: encodeEnvoyJson(typeUrl, json) };
}

/**
 * Decodes `bytes` of `typeName` back to JSON with every nested `Any` expanded under its
 * `"@type"` (for golden files and config dumps); throws on bytes that do not decode.
 */
export function decodeEnvoyJson(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  loadEnvoyProtos(); // the Any wrapper looks nested types up in the loaded root
  const type = messageType(typeName);
  return type.toObject(type.decode(bytes), { json: true, enums: String, longs: Number, bytes: String, defaults: false, oneofs: false }) as Record<string, unknown>;
}
