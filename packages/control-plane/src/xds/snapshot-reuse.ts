/**
 * Whether a freshly generated resource message equals the one the previous snapshot encoded, so
 * its encoding (bytes, version, shared wire fields) is reused. A structural comparison that
 * stops at the first difference and allocates nothing: every generation compares every resource
 * of every view, and most are unchanged. It is at least as strict as comparing the messages'
 * JSON (keys whose value is `undefined` are absent in both; key order does not matter, as it
 * does not for the protobuf encoding); anything but plain objects, arrays, byte arrays and
 * primitives counts as different, which only costs a re-encode (an equal encoding keeps its
 * content-hash version anyway).
 */

/** True when `a` and `b` are the same message as far as their protobuf encoding goes; see the module comment. */
export function isSameMessage(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!isSameMessage(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) return isSameBytes(a, b);
  const protoA: unknown = Object.getPrototypeOf(a);
  const protoB: unknown = Object.getPrototypeOf(b);
  if ((protoA !== Object.prototype && protoA !== null) || (protoB !== Object.prototype && protoB !== null)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let count = 0;
  for (const key in ra) {
    const v = ra[key];
    if (v === undefined) continue;
    if (!Object.hasOwn(rb, key) || !isSameMessage(v, rb[key])) return false;
    count++;
  }
  for (const key in rb) if (rb[key] !== undefined) count--;
  return count === 0;
}

function isSameBytes(a: object, b: object): boolean {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
