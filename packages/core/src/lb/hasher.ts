/**
 * xxHash64 (seed 0 unless given), the hash Envoy uses for ring construction, Maglev tables and
 * request hash policies, so that a Weft client and an Envoy sidecar map the same key to the same
 * endpoint. Backed by xxhash-wasm, which needs one asynchronous instantiation: call
 * {@link loadHasher} once (the Mesh does it when it is created) and pass the result to the
 * compile functions; hashing itself is synchronous.
 */
import xxhash from 'xxhash-wasm';

/** Synchronous 64-bit hashing, available once {@link loadHasher} has resolved. */
export interface Hasher {
  /** xxHash64 of the UTF-8 bytes of `input` with `seed` (0 by default), as an unsigned bigint. */
  hash64(input: string, seed?: bigint): bigint;
}

let loading: Promise<Hasher> | undefined;

/**
 * Instantiates the xxHash64 WebAssembly module (once per process; later calls return the same
 * promise). Rejects only if WebAssembly is unavailable.
 */
export function loadHasher(): Promise<Hasher> {
  loading ??= xxhash().then((api) => ({
    hash64: (input: string, seed?: bigint) => api.h64(input, seed ?? 0n),
  }));
  return loading;
}
