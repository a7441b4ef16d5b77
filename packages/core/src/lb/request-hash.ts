/**
 * Route hash policies (`RouteAction.HashPolicy`, decoded by xds-client) → the request hash that
 * RING_HASH and MAGLEV pick with. Each policy that yields a value contributes xxHash64(value);
 * contributions combine as Envoy combines them (`hash = rotl(hash, 1) ^ next`), and a `terminal`
 * policy that produced a hash stops the evaluation. No value at all means no hash (the picker
 * then chooses at random, as Envoy does).
 *
 * Supported: `header` (with `regexRewrite`; repeated values sorted and joined with `,`),
 * `cookie` (read only: Weft does not generate the cookie when it is absent — Envoy would set
 * one when `ttl` is given), `sourceIp`, `queryParameter`. `filterState` never yields a value.
 */
import type { HashPolicy } from '@weft/xds-client';
import type { Hasher } from './hasher.ts';
import { cookieValue, headerValue, queryParam } from '../route/request-facts.ts';
import type { RequestFacts } from '../route/request-facts.ts';
import { compileRewrite } from '../route/regex.ts';

const MASK = (1n << 64n) - 1n;

type ValueOf = (req: RequestFacts) => string | undefined;

function compilePolicy(p: HashPolicy, where: string): ValueOf {
  switch (p.type) {
    case 'header': {
      const name = p.headerName.toLowerCase();
      const rewrite = p.regexRewrite === undefined ? undefined : compileRewrite(p.regexRewrite.pattern, p.regexRewrite.substitution, `${where}.header.regex_rewrite`);
      return (req) => {
        const raw = req.headers[name];
        const v = raw === undefined || typeof raw === 'string' ? (raw ?? headerValue(req, name)) : [...raw].sort().join(',');
        return v === undefined || rewrite === undefined ? v : rewrite.apply(v);
      };
    }
    case 'cookie': {
      const name = p.name;
      return (req) => cookieValue(req, name);
    }
    case 'sourceIp':
      return (req) => req.sourceIp;
    case 'queryParameter': {
      const name = p.name;
      return (req) => queryParam(req.path, name);
    }
    case 'filterState':
      return () => undefined;
  }
}

/** A compiled list of hash policies; build once per route, call `compute` per request. */
export class RequestHasher {
  readonly #values: ValueOf[];
  readonly #terminal: boolean[];
  readonly #hasher: Hasher;

  /** `where` names the route for regex errors (`MeshError` `WEFT_ERR_XDS_INVALID`). */
  constructor(policies: readonly HashPolicy[], hasher: Hasher, where = 'route') {
    this.#values = policies.map((p, i) => compilePolicy(p, `${where}.route.hash_policy[${i}]`));
    this.#terminal = policies.map((p) => p.terminal);
    this.#hasher = hasher;
  }

  /** True when there is at least one policy. */
  get isEmpty(): boolean {
    return this.#values.length === 0;
  }

  /** The request hash, or `undefined` when no policy produced one. */
  compute(req: RequestFacts): bigint | undefined {
    let hash: bigint | undefined;
    for (let i = 0; i < this.#values.length; i++) {
      const value = this.#values[i]!(req);
      if (value !== undefined) {
        const next = this.#hasher.hash64(value);
        hash = hash === undefined ? next : (((hash << 1n) | (hash >> 63n)) & MASK) ^ next;
      }
      if (this.#terminal[i] === true && hash !== undefined) break;
    }
    return hash;
  }
}
