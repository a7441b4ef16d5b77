/**
 * Per-call filters that grpc-js runs for a routed call (the ConfigSelector's
 * `dynamicFilterFactories`, the hook grpc-js-xds also uses): fault injection (gRFC A33),
 * local rate limiting, request metadata add/remove, and a reject filter that fails the call
 * with a detailed status. A filter rejects `sendMetadata` with a status to end the call.
 */
import { Metadata, experimental, status as Status } from '@grpc/grpc-js';
import type { StatusObject } from '@grpc/grpc-js';
import { ErrorCode, MeshError } from '@weft/xds-client';
import type { FaultFilterConfig, HeaderValueOption, LocalRateLimitFilterConfig } from '@weft/xds-client';
import { compileHeaderMatcher, isSampled } from './core-imports.ts';
import type { RequestFacts, RequestPredicate } from './core-imports.ts';
import { grpcStatusFromHttp, statusFromMeshError } from './grpc-status.ts';

type Filter = experimental.Filter;
type FilterFactory = experimental.FilterFactory<Filter>;

/** A filter whose only job is `onMetadata`: transform or reject (by throwing a status) the outgoing metadata. */
class MetadataFilter extends experimental.BaseFilter {
  readonly #onMetadata: (m: Metadata) => Metadata | Promise<Metadata>;
  constructor(onMetadata: (m: Metadata) => Metadata | Promise<Metadata>) {
    super();
    this.#onMetadata = onMetadata;
  }
  override async sendMetadata(metadata: Promise<Metadata>): Promise<Metadata> {
    return this.#onMetadata(await metadata);
  }
}

function factory(onMetadata: (m: Metadata) => Metadata | Promise<Metadata>): FilterFactory {
  return { createFilter: () => new MetadataFilter(onMetadata) };
}

/** A filter factory that fails every call with `status` (no route, unusable cluster…). */
export function rejectFilterFactory(status: StatusObject): FilterFactory {
  return factory(() => Promise.reject(status));
}

function mutate(m: Metadata, removes: readonly string[], toAdd: readonly HeaderValueOption[]): Metadata {
  for (const k of removes) m.remove(k);
  for (const h of toAdd) {
    const key = h.key.toLowerCase();
    if (key.startsWith(':') || (h.value === '' && !h.keepEmptyValue)) continue;
    const has = m.get(key).length > 0;
    switch (h.appendAction) {
      case 'APPEND_IF_EXISTS_OR_ADD':
        m.add(key, h.value);
        break;
      case 'ADD_IF_ABSENT':
        if (!has) m.set(key, h.value);
        break;
      case 'OVERWRITE_IF_EXISTS_OR_ADD':
        m.set(key, h.value);
        break;
      case 'OVERWRITE_IF_EXISTS':
        if (has) m.set(key, h.value);
        break;
    }
  }
  return m;
}

const isMutable = (k: string): boolean => !k.startsWith(':') && k !== 'content-type' && k !== 'grpc-status' && k !== 'grpc-message';

/** Applies Envoy header mutations to request metadata (sent) and response metadata (received headers). */
class HeaderMutationFilter extends experimental.BaseFilter {
  readonly #request: readonly [readonly string[], readonly HeaderValueOption[]];
  readonly #response: readonly [readonly string[], readonly HeaderValueOption[]];
  constructor(request: readonly [readonly string[], readonly HeaderValueOption[]], response: readonly [readonly string[], readonly HeaderValueOption[]]) {
    super();
    this.#request = request;
    this.#response = response;
  }
  override async sendMetadata(metadata: Promise<Metadata>): Promise<Metadata> {
    return mutate(await metadata, this.#request[0], this.#request[1]);
  }
  override receiveMetadata(metadata: Metadata): Metadata {
    return mutate(metadata, this.#response[0], this.#response[1]);
  }
}

/**
 * Metadata add/remove (Envoy `request_headers_to_add` / `_to_remove` on outgoing metadata,
 * `response_headers_to_add` / `_to_remove` on the response headers), removals first, then
 * additions in the given order. Pseudo-headers, `content-type` and the gRPC status keys are
 * never touched. Undefined when there is nothing to do.
 */
export function headerMutationFilterFactory(
  request: { readonly remove: readonly string[]; readonly add: readonly HeaderValueOption[] },
  response: { readonly remove: readonly string[]; readonly add: readonly HeaderValueOption[] } = { remove: [], add: [] },
): FilterFactory | undefined {
  if (request.remove.length + request.add.length + response.remove.length + response.add.length === 0) return undefined;
  const req = [request.remove.map((k) => k.toLowerCase()).filter(isMutable), request.add] as const;
  const res = [response.remove.map((k) => k.toLowerCase()).filter(isMutable), response.add] as const;
  return { createFilter: () => new HeaderMutationFilter(req, res) };
}

/** Request facts for header matchers of filters, from call metadata. */
export function factsFromMetadata(path: string, authority: string, metadata: Metadata): RequestFacts {
  const headers: Record<string, string | string[]> = { 'content-type': 'application/grpc' };
  for (const [k, v] of Object.entries(metadata.getMap())) if (typeof v === 'string') headers[k] = v;
  return { method: 'POST', path, headers, authority };
}

function firstString(m: Metadata, key: string): string | undefined {
  const v = m.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref?.();
  });
}

/** Active delay faults per decoded fault config, shared by every route using that config (`max_active_faults`). */
const activeFaultCounters = new WeakMap<FaultFilterConfig, { count: number }>();

/**
 * Fault injection (A33): delay then abort, each drawn against its percentage; header-driven
 * values (`x-envoy-fault-delay-request`, `x-envoy-fault-abort-grpc-request`,
 * `x-envoy-fault-abort-request`) when configured so. `maxActiveFaults` bounds concurrent faults.
 * An abort fails the call with the configured gRPC status (HTTP statuses are mapped as Envoy does)
 * and details `WEFT_ERR_FAULT_ABORT (FI): …`.
 */
export function faultFilterFactory(fault: FaultFilterConfig, where: string, path: string, authority: string, cluster: string): FilterFactory | undefined {
  if (fault.upstreamCluster !== undefined && fault.upstreamCluster !== cluster) return undefined;
  if (fault.delay === undefined && fault.abort === undefined) return undefined;
  const matchers: RequestPredicate[] = fault.headers.map((h, i) => compileHeaderMatcher(h, `${where}.headers[${i}]`));
  let active = activeFaultCounters.get(fault);
  if (active === undefined) activeFaultCounters.set(fault, (active = { count: 0 }));
  const counter = active;
  return factory(async (m) => {
    if (matchers.length > 0) {
      const facts = factsFromMetadata(path, authority, m);
      for (const p of matchers) if (!p(facts)) return m;
    }
    if (fault.maxActiveFaults !== undefined && counter.count >= fault.maxActiveFaults) return m;
    const delay = fault.delay;
    if (delay !== undefined && isSampled(delay.percentage)) {
      const ms = delay.headerDelay ? Number(firstString(m, 'x-envoy-fault-delay-request')) : (delay.fixedDelayMs ?? 0);
      if (Number.isFinite(ms) && ms > 0) {
        counter.count++;
        try {
          await sleep(ms);
        } finally {
          counter.count--;
        }
      }
    }
    const abort = fault.abort;
    if (abort !== undefined && isSampled(abort.percentage)) {
      let code: number | undefined;
      if (abort.headerAbort) {
        const g = Number(firstString(m, 'x-envoy-fault-abort-grpc-request'));
        const h = Number(firstString(m, 'x-envoy-fault-abort-request'));
        code = Number.isInteger(g) && g > 0 && g <= 16 ? g : Number.isInteger(h) && h >= 200 ? grpcStatusFromHttp(h) : undefined;
      } else {
        code = abort.grpcStatus ?? (abort.httpStatus === undefined ? undefined : grpcStatusFromHttp(abort.httpStatus));
      }
      if (code !== undefined && code !== Status.OK) {
        const err = new MeshError(ErrorCode.faultAbort, `fault filter aborted ${path} to ${authority} with gRPC status ${code}`, { responseFlag: 'FI', details: { path, authority, grpcStatus: code } });
        throw statusFromMeshError(err, code);
      }
    }
    return m;
  });
}

/** Token bucket refilled lazily from the clock (no timers). */
class TokenBucket {
  readonly #max: number;
  readonly #perFill: number;
  readonly #intervalMs: number;
  #tokens: number;
  #lastFill: number;
  constructor(max: number, perFill: number, intervalMs: number) {
    this.#max = max;
    this.#perFill = perFill;
    this.#intervalMs = Math.max(1, intervalMs);
    this.#tokens = max;
    this.#lastFill = performance.now();
  }
  tryTake(): boolean {
    const now = performance.now();
    const fills = Math.floor((now - this.#lastFill) / this.#intervalMs);
    if (fills > 0) {
      this.#tokens = Math.min(this.#max, this.#tokens + fills * this.#perFill);
      this.#lastFill += fills * this.#intervalMs;
    }
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }
}

/** Buckets per decoded config object, so every route sharing a config shares its bucket. */
const buckets = new WeakMap<LocalRateLimitFilterConfig, TokenBucket>();

/**
 * Envoy's local rate limit on the client side of a call: over-limit calls (within
 * `filterEnabled`, enforced within `filterEnforced`) fail with UNAVAILABLE, or
 * RESOURCE_EXHAUSTED when `rateLimitedAsResourceExhausted`; details `WEFT_ERR_RATE_LIMITED (RL)`.
 */
export function rateLimitFilterFactory(config: LocalRateLimitFilterConfig, path: string, authority: string): FilterFactory | undefined {
  const tb = config.tokenBucket;
  if (tb === undefined) return undefined;
  let bucket = buckets.get(config);
  if (bucket === undefined) buckets.set(config, (bucket = new TokenBucket(tb.maxTokens, tb.tokensPerFill, tb.fillIntervalMs)));
  const b = bucket;
  const code = config.rateLimitedAsResourceExhausted ? Status.RESOURCE_EXHAUSTED : Status.UNAVAILABLE;
  return factory((m) => {
    if (!isSampled(config.filterEnabled) || b.tryTake() || !isSampled(config.filterEnforced)) return m;
    const err = new MeshError(ErrorCode.rateLimited, `local rate limit ${config.statPrefix || 'local_rate_limit'} exceeded for ${path} to ${authority}`, { responseFlag: 'RL', details: { path, authority } });
    throw statusFromMeshError(err, code);
  });
}
