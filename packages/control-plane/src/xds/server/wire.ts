/**
 * Hand-built protobuf encoding of ADS responses, so that each resource's bytes are produced
 * once per generation and only concatenated per client (the per-client part is the version,
 * type URL and nonce). Field numbers are those of `envoy.service.discovery.v3`:
 * DiscoveryResponse {version_info 1, resources 2 (Any), type_url 4, nonce 5};
 * DeltaDiscoveryResponse {system_version_info 1, resources 2 (Resource), type_url 4, nonce 5,
 * removed_resources 6}; Resource {version 1, resource 2 (Any), name 3};
 * Any {type_url 1, value 2}. The ads-definition's serializer passes these buffers through.
 */
import type { AnyMessage } from '@weft/xds-client';

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** A length-delimited field (wire type 2). */
export function lengthDelimited(field: number, payload: Uint8Array): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);
}

/** A string field; empty strings are omitted as proto3 does. */
export function stringField(field: number, value: string): Buffer {
  return value ? lengthDelimited(field, Buffer.from(value, 'utf8')) : Buffer.alloc(0);
}

/** The encoded `google.protobuf.Any`. */
export function anyBytes(any: AnyMessage): Buffer {
  return Buffer.concat([stringField(1, any.type_url), lengthDelimited(2, any.value)]);
}

function varintLength(n: number): number {
  let len = 1;
  let v = n;
  while (v > 0x7f) {
    len++;
    v = Math.floor(v / 128);
  }
  return len;
}

function writeVarint(buf: Buffer, offset: number, n: number): number {
  let v = n;
  let o = offset;
  while (v > 0x7f) {
    buf[o++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[o++] = v;
  return o;
}

function stringFieldLength(value: string): number {
  if (!value) return 0;
  const n = Buffer.byteLength(value, 'utf8');
  return 1 + varintLength(n) + n;
}

function writeStringField(buf: Buffer, offset: number, field: number, value: string): number {
  if (!value) return offset;
  buf[offset] = (field << 3) | 2;
  const n = Buffer.byteLength(value, 'utf8');
  const o = writeVarint(buf, offset + 1, n);
  buf.write(value, o, 'utf8');
  return o + n;
}

/**
 * A SotW DiscoveryResponse without its nonce, from pre-encoded `resources` fields (see
 * {@link sotwResourceField}): version, resources and type URL, the fields before the nonce in
 * field order, so streams sharing a response share these bytes (see {@link withNonce}).
 */
export function sotwResponseHead(versionInfo: string, resourceFields: readonly Buffer[], typeUrl: string): Buffer {
  let size = stringFieldLength(versionInfo) + stringFieldLength(typeUrl);
  for (const f of resourceFields) size += f.length;
  const buf = Buffer.allocUnsafe(size);
  let o = writeStringField(buf, 0, 1, versionInfo);
  for (const f of resourceFields) o += f.copy(buf, o);
  writeStringField(buf, o, 4, typeUrl);
  return buf;
}

/** True when every character of `s` is ASCII (one UTF-8 byte each). */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * A complete response: `head` (see {@link sotwResponseHead}) followed by the nonce field (5), in
 * one allocation. Runs once per stream and response: an ASCII nonce shorter than 128 bytes (the
 * server's own, `c<n>-<n>`) is written byte by byte, without the UTF-8 encoder.
 */
export function withNonce(head: Buffer, nonce: string): Buffer {
  if (nonce.length === 0 || nonce.length > 0x7f || !isAscii(nonce)) {
    const buf = Buffer.allocUnsafe(head.length + stringFieldLength(nonce));
    buf.set(head, 0);
    writeStringField(buf, head.length, 5, nonce);
    return buf;
  }
  const buf = Buffer.allocUnsafe(head.length + 2 + nonce.length);
  buf.set(head, 0);
  let o = head.length;
  buf[o++] = (5 << 3) | 2;
  buf[o++] = nonce.length;
  for (let i = 0; i < nonce.length; i++) buf[o++] = nonce.charCodeAt(i);
  return buf;
}


/** The `resources` field (2) of a SotW response holding one Any. */
export function sotwResourceField(any: AnyMessage): Buffer {
  return lengthDelimited(2, anyBytes(any));
}

/** The `resources` field (2) of a delta response holding one `Resource`. */
export function deltaResourceField(name: string, version: string, any: AnyMessage): Buffer {
  return lengthDelimited(2, Buffer.concat([stringField(1, version), lengthDelimited(2, anyBytes(any)), stringField(3, name)]));
}

/** A complete DeltaDiscoveryResponse. */
export function deltaResponse(systemVersion: string, resourceFields: readonly Buffer[], typeUrl: string, removed: readonly string[], nonce: string): Buffer {
  return Buffer.concat([stringField(1, systemVersion), ...resourceFields, stringField(4, typeUrl), stringField(5, nonce), ...removed.map((r) => lengthDelimited(6, Buffer.from(r, 'utf8')))]);
}
