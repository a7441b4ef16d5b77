/**
 * Istio's metadata exchange over HTTP headers: `x-envoy-peer-metadata` carries the base64 of a
 * serialized `google.protobuf.Struct` describing the sender (Weft sends `NAMESPACE`,
 * `WORKLOAD_NAME`, `CLUSTER_ID` and `LABELS`; Envoy sidecars send more, e.g. `NAME`, `OWNER`), and
 * `x-envoy-peer-metadata-id` its node id. A client sends its own on every request, a server
 * answers with its own, so Weft and Envoy sidecars label each other's metrics correctly.
 *
 * Between Weft workloads the exchange happens once per connection, as Istio's TCP metadata
 * exchange does: a Weft server remembers the peer a connection introduced, so an endpoint whose
 * EDS metadata says `weft.peer_exchange: connection` (the control plane writes it for workloads
 * that announce it in their node metadata `WEFT_PEER_EXCHANGE`) gets the
 * headers on a connection's requests only until the first response.
 *
 * The Struct wire format is encoded here directly (it is three small messages); decoding is
 * cached per header value in a bounded map, so a busy peer costs one lookup per request.
 */
import { createPeerIdentity, UNKNOWN_PEER } from './workload-identity-labels.ts';
import type { PeerIdentity } from './workload-identity-labels.ts';

/** Header carrying the base64 Struct. */
export const PEER_METADATA_HEADER = 'x-envoy-peer-metadata';
/** Header carrying the sender's node id. */
export const PEER_METADATA_ID_HEADER = 'x-envoy-peer-metadata-id';

/**
 * The value of the node metadata `WEFT_PEER_EXCHANGE` (`NodeMetadataKey.weftPeerExchange`) and
 * of the endpoint metadata `weft.peer_exchange` for a workload whose servers remember the
 * metadata exchange per connection.
 */
export const PEER_EXCHANGE_PER_CONNECTION = 'connection';

/** True when an endpoint's EDS metadata says it takes the metadata exchange once per connection. */
export function takesPeerMetadataOncePerConnection(metadata: Readonly<Record<string, unknown>> | undefined): boolean {
  const weft = metadata?.['weft'];
  return typeof weft === 'object' && weft !== null && (weft as Record<string, unknown>)['peer_exchange'] === PEER_EXCHANGE_PER_CONNECTION;
}

type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

class Writer {
  readonly bytes: number[] = [];
  varint(n: number): void {
    while (n > 0x7f) {
      this.bytes.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    this.bytes.push(n);
  }
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  lengthDelimited(field: number, payload: Uint8Array | number[]): void {
    this.tag(field, 2);
    this.varint(payload.length);
    for (const b of payload) this.bytes.push(b);
  }
}

function encodeValue(v: JsonValue): number[] {
  const w = new Writer();
  if (v === null) {
    w.tag(1, 0);
    w.varint(0);
  } else if (typeof v === 'number') {
    w.tag(2, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    for (const x of b) w.bytes.push(x);
  } else if (typeof v === 'string') {
    w.lengthDelimited(3, Buffer.from(v, 'utf8'));
  } else if (typeof v === 'boolean') {
    w.tag(4, 0);
    w.varint(v ? 1 : 0);
  } else if (Array.isArray(v)) {
    const list = new Writer();
    for (const item of v) list.lengthDelimited(1, encodeValue(item));
    w.lengthDelimited(6, list.bytes);
  } else {
    w.lengthDelimited(5, encodeStruct(v));
  }
  return w.bytes;
}

/** Serializes a JSON object as a `google.protobuf.Struct`. */
export function encodeStruct(obj: Readonly<Record<string, JsonValue>>): number[] {
  const w = new Writer();
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    const entry = new Writer();
    entry.lengthDelimited(1, Buffer.from(k, 'utf8'));
    entry.lengthDelimited(2, encodeValue(v));
    w.lengthDelimited(1, entry.bytes);
  }
  return w.bytes;
}

class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new Error('varint too long');
  }
  sub(): Reader {
    const len = this.varint();
    if (this.pos + len > this.end) throw new Error('truncated field');
    const r = new Reader(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return r;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.sub();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

function decodeValue(r: Reader): JsonValue {
  let out: JsonValue = null;
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 0) {
      r.varint();
      out = null;
    } else if (field === 2 && wire === 1) {
      out = r.buf.readDoubleLE(r.pos);
      r.pos += 8;
    } else if (field === 3 && wire === 2) {
      const s = r.sub();
      out = s.buf.toString('utf8', s.pos, s.end);
    } else if (field === 4 && wire === 0) out = r.varint() !== 0;
    else if (field === 5 && wire === 2) out = decodeStructFrom(r.sub());
    else if (field === 6 && wire === 2) {
      const list = r.sub();
      const items: JsonValue[] = [];
      while (list.pos < list.end) {
        const t = list.varint();
        if (t >>> 3 === 1 && (t & 7) === 2) items.push(decodeValue(list.sub()));
        else list.skip(t & 7);
      }
      out = items;
    } else r.skip(wire);
  }
  return out;
}

function decodeStructFrom(r: Reader): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag >>> 3 !== 1 || (tag & 7) !== 2) {
      r.skip(tag & 7);
      continue;
    }
    const entry = r.sub();
    let key = '';
    let value: JsonValue = null;
    while (entry.pos < entry.end) {
      const t = entry.varint();
      if (t >>> 3 === 1 && (t & 7) === 2) {
        const s = entry.sub();
        key = s.buf.toString('utf8', s.pos, s.end);
      } else if (t >>> 3 === 2 && (t & 7) === 2) value = decodeValue(entry.sub());
      else entry.skip(t & 7);
    }
    out[key] = value;
  }
  return out;
}

/** Parses a serialized `google.protobuf.Struct`; throws on malformed input. */
export function decodeStruct(bytes: Buffer): Record<string, JsonValue> {
  return decodeStructFrom(new Reader(bytes));
}

/**
 * The Struct Istio's metadata exchange sends for `peer` (keys as istio-proxy names them). Only
 * the keys istio-proxy reads into its peer's labels are sent (`NAMESPACE`, `WORKLOAD_NAME`,
 * `CLUSTER_ID`, `LABELS`): the header goes out on every request, and its value is validated
 * character by character on the way out and parsed on the way in. Not sent: `NAME` (the pod,
 * which no standard label shows), `MESH_ID` (not read), `SERVICE_ACCOUNT` (a principal is only
 * believed from a TLS handshake).
 */
export function peerMetadataStruct(peer: PeerIdentity): Record<string, JsonValue> {
  return {
    NAMESPACE: peer.namespace,
    WORKLOAD_NAME: peer.workload,
    CLUSTER_ID: peer.cluster,
    LABELS: { ...peer.labels },
  };
}

/** The `x-envoy-peer-metadata` value for `peer` (compute once per workload, not per request). */
export function encodePeerMetadataHeader(peer: PeerIdentity): string {
  return Buffer.from(encodeStruct(peerMetadataStruct(peer))).toString('base64');
}

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The identity a decoded metadata-exchange Struct describes. */
export function peerFromStruct(s: Readonly<Record<string, JsonValue>>): PeerIdentity {
  const labels: Record<string, string> = {};
  const l = s['LABELS'];
  if (l !== null && typeof l === 'object' && !Array.isArray(l)) for (const [k, v] of Object.entries(l)) if (typeof v === 'string') labels[k] = v;
  return createPeerIdentity({
    workload: str(s['WORKLOAD_NAME']) ?? str(s['NAME']),
    namespace: str(s['NAMESPACE']),
    serviceAccount: str(s['SERVICE_ACCOUNT']),
    labels,
    cluster: str(s['CLUSTER_ID']),
  });
}

const CACHE_LIMIT = 1024;
const cache = new Map<string, PeerIdentity>();

/**
 * The peer a `x-envoy-peer-metadata` header value describes; {@link UNKNOWN_PEER} for a missing
 * or malformed value (bad input never throws). The principal stays `unknown` unless a TLS
 * handshake proves it. Decoded values are cached (at most 1,024 distinct headers; the cache is
 * cleared when full, so memory stays bounded whatever peers send).
 */
export function decodePeerMetadataHeader(value: string | undefined): PeerIdentity {
  if (value === undefined || value === '') return UNKNOWN_PEER;
  const hit = cache.get(value);
  if (hit !== undefined) return hit;
  let peer: PeerIdentity;
  try {
    const p = peerFromStruct(decodeStruct(Buffer.from(value, 'base64')));
    peer = p.principal === 'unknown' ? p : Object.freeze({ ...p, principal: 'unknown' });
  } catch {
    peer = UNKNOWN_PEER;
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(value, peer);
  return peer;
}
