/**
 * `google.protobuf.Struct` ⇄ plain JSON. protobufjs has no JSON mapping for Struct (its
 * `fromObject` silently drops a plain object given for a Struct field), so every Struct that goes
 * on the wire — node metadata, endpoint metadata, typed configs — is built here. protobufjs
 * defines Struct/Value itself in camelCase (its bundled common types ignore `keepCase`) while
 * decoded Envoy messages use snake_case, so values are written in both spellings (`fromObject`
 * reads the one it knows) and read in either.
 */

/** `google.protobuf.Struct` from a JSON-able object (strings, numbers, booleans, null, arrays, objects). */
export function toStruct(value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) fields[k] = toValue(v);
  return { fields };
}

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

/** True when `value` already has the shape of a Struct message (`{ fields: {…} }`). */
export function isStructShaped(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { fields?: unknown }).fields === 'object';
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** `google.protobuf.Value` (camelCase or snake_case field names) → JSON value. */
export function valueToJson(value: unknown): unknown {
  const o = record(value);
  const pick = (camel: string, snake: string): unknown => (camel in o ? o[camel] : o[snake]);
  if ('stringValue' in o || 'string_value' in o) return pick('stringValue', 'string_value');
  if ('numberValue' in o || 'number_value' in o) return pick('numberValue', 'number_value');
  if ('boolValue' in o || 'bool_value' in o) return pick('boolValue', 'bool_value');
  if ('structValue' in o || 'struct_value' in o) return structToJson(pick('structValue', 'struct_value'));
  if ('listValue' in o || 'list_value' in o) {
    const values = record(pick('listValue', 'list_value'))['values'];
    return Array.isArray(values) ? values.map(valueToJson) : [];
  }
  return null;
}

/** `google.protobuf.Struct` → plain JSON object. */
export function structToJson(value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record(record(value)['fields']))) out[k] = valueToJson(v);
  return out;
}
