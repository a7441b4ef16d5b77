/**
 * Route hash policies (`RouteAction.HashPolicy`) → the request hash that RING_HASH and MAGLEV
 * pick with. Each policy that yields a value contributes xxHash64(value); contributions combine
 * as Envoy combines them (`hash = rotl(hash, 1) ^ next`), and a `terminal` policy that produced a
 * hash stops the evaluation. No policy yielding a value means no hash (a random pick).
 */
import type { Hasher } from './hasher.ts';
import { cookieValue, headerValue, queryParam } from '../route/request-facts.ts';
import type { RequestFacts } from '../route/request-facts.ts';

/** One hash policy, decoded from xDS. */
export type HashPolicySpec =
  | { kind: 'header'; headerName: string; terminal?: boolean }
  | { kind: 'cookie'; name: string; terminal?: boolean }
  | { kind: 'sourceIp'; terminal?: boolean }
  | { kind: 'queryParameter'; name: string; terminal?: boolean };

const MASK = (1n << 64n) - 1n;

/**
 * A compiled list of hash policies. `compute` is synchronous and allocates only the hashed
 * strings; it returns `undefined` when no policy applied.
 */
export class RequestHasher {
  readonly policies: readonly HashPolicySpec[];
  readonly #hasher: Hasher;

  constructor(policies: readonly HashPolicySpec[], hasher: Hasher) {
    this.policies = policies.map((p) => (p.kind === 'header' ? { ...p, headerName: p.headerName.toLowerCase() } : p));
    this.#hasher = hasher;
  }

  /** The request hash, or `undefined` when no policy produced one. */
  compute(req: RequestFacts): bigint | undefined {
    let hash: bigint | undefined;
    for (const p of this.policies) {
      let value: string | undefined;
      switch (p.kind) {
        case 'header': {
          const v = req.headers[p.headerName];
          value = v === undefined || typeof v === 'string' ? (v ?? headerValue(req, p.headerName)) : [...v].sort().join(',');
          break;
        }
        case 'cookie':
          value = cookieValue(req, p.name);
          break;
        case 'sourceIp':
          value = req.sourceIp;
          break;
        case 'queryParameter':
          value = queryParam(req.path, p.name);
          break;
      }
      if (value !== undefined) {
        const next = this.#hasher.hash64(value);
        hash = hash === undefined ? next : (((hash << 1n) | (hash >> 63n)) & MASK) ^ next;
      }
      if (p.terminal === true && hash !== undefined) break;
    }
    return hash;
  }
}
