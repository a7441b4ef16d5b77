/** Shapes shared by the per-type generators. */
import type { ClientCapabilities, Omission } from '../client-capabilities.ts';
import type { MeshIndex } from '../mesh-index.ts';

/** One generated resource: its xDS name and the plain object of its message (proto field names). */
export interface GeneratedResource {
  name: string;
  message: Record<string, unknown>;
}

/** What a generator reads: the indexed model, the client's capabilities, and a sink for omissions. */
export interface GeneratorContext {
  index: MeshIndex;
  caps: ClientCapabilities;
  /** Records a feature left out for this client kind (shown in `/debug/syncz`). */
  omit(omission: Omission): void;
}

/** `google.protobuf.Struct` from a flat JSON-able object (strings, numbers, booleans, nested objects). */
export function toStruct(value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) fields[k] = toValue(v);
  return { fields };
}

// protobufjs defines google.protobuf.Struct/Value itself in camelCase (its bundled "common"
// types ignore keepCase), so both spellings are written and read; fromObject ignores the other.
function toValue(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return { null_value: 'NULL_VALUE', nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { string_value: v, stringValue: v };
  if (typeof v === 'number') return { number_value: v, numberValue: v };
  if (typeof v === 'boolean') return { bool_value: v, boolValue: v };
  if (Array.isArray(v)) {
    const list = { values: v.map(toValue) };
    return { list_value: list, listValue: list };
  }
  const struct = toStruct(v as Record<string, unknown>);
  return { struct_value: struct, structValue: struct };
}

/** Plain JSON from a decoded `google.protobuf.Struct` (as grpc-js hands node metadata over). */
export function fromStruct(struct: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = (struct as { fields?: Record<string, unknown> } | undefined)?.fields;
  if (!fields || typeof fields !== 'object') return out;
  for (const [k, v] of Object.entries(fields)) out[k] = fromValue(v);
  return out;
}

function fromValue(v: unknown): unknown {
  if (!v || typeof v !== 'object') return undefined;
  const value = v as Record<string, unknown>;
  const pick = (snake: string, camel: string) => (snake in value ? value[snake] : value[camel]);
  if ('string_value' in value || 'stringValue' in value) return pick('string_value', 'stringValue');
  if ('number_value' in value || 'numberValue' in value) return pick('number_value', 'numberValue');
  if ('bool_value' in value || 'boolValue' in value) return pick('bool_value', 'boolValue');
  if ('struct_value' in value || 'structValue' in value) return fromStruct(pick('struct_value', 'structValue'));
  if ('list_value' in value || 'listValue' in value) return ((pick('list_value', 'listValue') as { values?: unknown[] }).values ?? []).map(fromValue);
  return null;
}
