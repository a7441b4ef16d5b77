/**
 * Local rate limits from the EnvoyFilter pattern Istio documents (an `HTTP_FILTER` patch
 * inserting `envoy.filters.http.local_ratelimit`; see shared/scenarios/06-local-rate-limit.yaml):
 * inbound (context SIDECAR_INBOUND or ANY) for the workloads `workloadSelector.labels` selects in
 * their namespace or the root namespace, and outbound (context SIDECAR_OUTBOUND) for every client
 * of a namespace. The patch value (inline typed_config or a
 * TypedStruct, `snake_case` or `camelCase`) becomes a `LocalRateLimit` message. The analyzer
 * (config/analyzers/envoy-filter.ts) has already refused invalid settings; anything that still
 * cannot be encoded is an omission.
 */
import { TypeUrl } from '@weft/xds-client';
import { localRateLimitSettings } from '../../config/analyzers/envoy-filter.ts';
import type { MeshModel } from '../../model/mesh-model.ts';
import type { Omission } from '../client-capabilities.ts';
import { protoDuration } from '../durations.ts';
import { packResource } from './pack.ts';
import { policyScope, type InboundWorkload } from './workload-selector.ts';

const INBOUND_CONTEXTS: ReadonlySet<string | undefined> = new Set(['SIDECAR_INBOUND', 'ANY', undefined]);
// Only an explicit SIDECAR_OUTBOUND: Istio's documented pattern without a context means the inbound side.
const OUTBOUND_CONTEXTS: ReadonlySet<string | undefined> = new Set(['SIDECAR_OUTBOUND']);
const OPERATIONS = new Set(['INSERT_BEFORE', 'INSERT_AFTER', 'INSERT_FIRST', 'ADD']);

function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.startsWith('@') ? k : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeKeys(v)]));
}

/** `LocalRateLimit` proto JSON from the patch settings (durations and wrappers converted). */
function toMessage(settings: unknown): Record<string, unknown> {
  const s = { ...(snakeKeys(settings) as Record<string, unknown>) };
  delete s['@type'];
  const tb = s.token_bucket as Record<string, unknown> | undefined;
  if (tb) {
    s.token_bucket = {
      max_tokens: tb.max_tokens,
      ...(tb.tokens_per_fill !== undefined ? { tokens_per_fill: typeof tb.tokens_per_fill === 'object' ? tb.tokens_per_fill : { value: tb.tokens_per_fill } } : {}),
      ...(tb.fill_interval !== undefined ? { fill_interval: typeof tb.fill_interval === 'string' ? protoDuration(tb.fill_interval) : tb.fill_interval } : {}),
    };
  }
  for (const key of ['response_headers_to_add', 'request_headers_to_add_when_not_enforced']) {
    const list = s[key];
    if (!Array.isArray(list)) continue;
    s[key] = list.map((h: Record<string, unknown>) => (typeof h.append === 'boolean' ? { ...h, append: { value: h.append } } : h));
  }
  return s;
}

/** Where a rate-limit EnvoyFilter applies, and the contexts that count for this side. */
interface RateLimitTarget {
  /** True when the EnvoyFilter applies to this listener (namespace / selector rules of the side). */
  applies(ef: MeshModel['envoyFilters'][number]): boolean;
  contexts: ReadonlySet<string | undefined>;
  /** `inbound` or `outbound`, for omission messages. */
  side: string;
}

function rateLimitFilter(model: MeshModel, target: RateLimitTarget, listener: string, isOptional: boolean, omit: (o: Omission) => void): Record<string, unknown> | undefined {
  let found: Record<string, unknown> | undefined;
  for (const ef of model.envoyFilters) {
    if (!target.applies(ef)) continue;
    (ef.spec.configPatches ?? []).forEach((cp, i) => {
      const rl = localRateLimitSettings(cp.patch?.value);
      if (!rl || cp.applyTo !== 'HTTP_FILTER' || !OPERATIONS.has(cp.patch?.operation ?? '') || !target.contexts.has(cp.match?.context)) return;
      const field = `EnvoyFilter ${ef.namespace}/${ef.name} spec.configPatches[${i}]`;
      if (found) {
        omit({ type: 'listener', resource: listener, field, reason: `a second ${target.side} local rate limit for the same listener; the first one applies` });
        return;
      }
      try {
        const typed = packResource(TypeUrl.localRateLimit, toMessage(rl.settings));
        found = { name: 'envoy.filters.http.local_ratelimit', typed_config: typed, ...(isOptional ? { is_optional: true } : {}) };
      } catch (err) {
        omit({ type: 'listener', resource: listener, field, reason: `settings cannot be encoded as LocalRateLimit: ${(err as Error).message}` });
      }
    });
  }
  return found;
}

/**
 * The `envoy.filters.http.local_ratelimit` HTTP filter for `workload`, or undefined when no
 * inbound rate-limit EnvoyFilter selects it. The first matching patch in config order wins (a
 * second one is an omission). `isOptional` marks it optional for clients that may not know it.
 */
export function inboundRateLimitFilter(model: MeshModel, workload: InboundWorkload, listener: string, isOptional: boolean, omit: (o: Omission) => void): Record<string, unknown> | undefined {
  const applies = (ef: MeshModel['envoyFilters'][number]): boolean =>
    policyScope({ namespace: ef.namespace, selector: ef.spec.workloadSelector?.labels }, workload, model.rootNamespace) !== undefined;
  return rateLimitFilter(model, { applies, contexts: INBOUND_CONTEXTS, side: 'inbound' }, listener, isOptional, omit);
}

/**
 * The outbound local rate limit (context SIDECAR_OUTBOUND) of the API listeners a client in
 * `namespace` gets: EnvoyFilters in that namespace or the root namespace. Outbound listeners are
 * shared by every client of a namespace, so a `workloadSelector` cannot narrow them: such a patch
 * is an omission (use a namespace-wide filter, or the inbound side of the selected workload).
 * `resource` names what omissions are about.
 */
export function outboundRateLimitFilter(model: MeshModel, namespace: string, resource: string, omit: (o: Omission) => void): Record<string, unknown> | undefined {
  const applies = (ef: MeshModel['envoyFilters'][number]): boolean => {
    if (ef.namespace !== namespace && ef.namespace !== model.rootNamespace) return false;
    if (Object.keys(ef.spec.workloadSelector?.labels ?? {}).length === 0) return true;
    const isOutbound = (ef.spec.configPatches ?? []).some((cp) => cp.match?.context === 'SIDECAR_OUTBOUND' && localRateLimitSettings(cp.patch?.value));
    if (isOutbound) omit({ type: 'listener', resource, field: `EnvoyFilter ${ef.namespace}/${ef.name} spec.workloadSelector`, reason: 'an outbound (SIDECAR_OUTBOUND) rate limit with a workloadSelector is not applied: outbound listeners are shared per namespace' });
    return false;
  };
  return rateLimitFilter(model, { applies, contexts: OUTBOUND_CONTEXTS, side: 'outbound' }, resource, false, omit);
}
