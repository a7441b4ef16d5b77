/**
 * 64-bit MurmurHash2 (the "64A" variant, as in libstdc++'s `_Hash_bytes`), which Envoy offers as
 * `RingHashLbConfig.hash_function: MURMUR_HASH_2` for ring entries, with its seed `0xc70f6907`.
 * BigInt arithmetic: used only when a ring is built, never per request.
 */

const MUL = 0xc6a4a7935bd1e995n;
const MASK = (1n << 64n) - 1n;

/** Envoy's `MurmurHash::STD_HASH_SEED`. */
export const ENVOY_MURMUR_SEED = 0xc70f6907n;

const encoder = new TextEncoder();

function shiftMix(v: bigint): bigint {
  return v ^ (v >> 47n);
}

/** MurmurHash64A of the UTF-8 bytes of `input` with `seed`, as an unsigned 64-bit bigint. */
export function murmurHash2_64(input: string | Uint8Array, seed: bigint = ENVOY_MURMUR_SEED): bigint {
  const bytes = typeof input === 'string' ? encoder.encode(input) : input;
  const len = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hash = (seed ^ ((BigInt(len) * MUL) & MASK)) & MASK;
  const aligned = len & ~7;
  for (let p = 0; p < aligned; p += 8) {
    const block = view.getBigUint64(p, true);
    const data = (shiftMix((block * MUL) & MASK) * MUL) & MASK;
    hash = ((hash ^ data) * MUL) & MASK;
  }
  const rest = len & 7;
  if (rest !== 0) {
    let data = 0n;
    for (let i = rest - 1; i >= 0; i--) data = (data << 8n) | BigInt(bytes[aligned + i]!);
    hash = ((hash ^ data) * MUL) & MASK;
  }
  hash = (shiftMix(hash) * MUL) & MASK;
  return shiftMix(hash);
}
