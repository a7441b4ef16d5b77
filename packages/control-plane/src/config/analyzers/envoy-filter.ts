/**
 * EnvoyFilter: Weft applies exactly one pattern, the HTTP local rate limit that Istio documents
 * (an `HTTP_FILTER` patch inserting `envoy.filters.http.local_ratelimit`, see
 * shared/scenarios/06-local-rate-limit.yaml). Every other patch is reported as not applied
 * (WEFT0105, a warning); a local-rate-limit patch with invalid settings is an error (WEFT0106),
 * because Envoy would reject it too.
 */
import type { ConfigObject, EnvoyFilterSpec } from '../../model/mesh-model.ts';
import { FindingCode } from '../finding.ts';
import { reportPerObject, type Analyzer, type Report } from '../analysis-context.ts';
import { parseDurationMs } from './values.ts';

/** Envoy's name of the HTTP local rate limit filter. */
export const localRateLimitFilterName = 'envoy.filters.http.local_ratelimit';
/** Type URL of its config message. */
export const localRateLimitTypeUrl = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const typedStructUrls = ['type.googleapis.com/udpa.type.v1.TypedStruct', 'type.googleapis.com/xds.type.v3.TypedStruct'];
const supportedContexts = ['SIDECAR_INBOUND', 'SIDECAR_OUTBOUND', 'ANY', undefined];
const supportedOperations = ['INSERT_BEFORE', 'INSERT_AFTER', 'INSERT_FIRST', 'ADD'];
const denominators = ['HUNDRED', 'TEN_THOUSAND', 'MILLION'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads `snake_case` or its protobuf-JSON `camelCase` form. */
function field(o: Obj, snake: string): unknown {
  if (snake in o) return o[snake];
  return o[snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())];
}

/**
 * The LocalRateLimit settings inside a patch value and their path, or undefined when the value
 * is not a local rate limit filter at all.
 */
export function localRateLimitSettings(value: unknown): { settings: unknown; path: (string | number)[] } | undefined {
  if (!isObj(value) || value['name'] !== localRateLimitFilterName) return undefined;
  const tc = field(value, 'typed_config');
  if (!isObj(tc)) return { settings: undefined, path: ['typed_config'] };
  const type = tc['@type'];
  if (typeof type === 'string' && typedStructUrls.includes(type)) {
    if (field(tc, 'type_url') !== localRateLimitTypeUrl) return { settings: undefined, path: ['typed_config', 'type_url'] };
    return { settings: tc['value'], path: ['typed_config', 'value'] };
  }
  if (type === localRateLimitTypeUrl) return { settings: tc, path: ['typed_config'] };
  return { settings: undefined, path: ['typed_config', '@type'] };
}

function checkSettings(ef: ConfigObject<EnvoyFilterSpec>, base: (string | number)[], s: unknown, report: Report): void {
  const bad = (path: (string | number)[], message: string): void => report('error', FindingCode.invalidRateLimit, ef, [...base, ...path], message);
  if (!isObj(s)) {
    bad([], `must hold the LocalRateLimit settings (typed_config with @type ${localRateLimitTypeUrl}, or a TypedStruct with that type_url)`);
    return;
  }
  const prefix = field(s, 'stat_prefix');
  if (typeof prefix !== 'string' || prefix === '') bad(['stat_prefix'], 'is required (a non-empty string)');
  const tb = field(s, 'token_bucket');
  if (!isObj(tb)) {
    bad(['token_bucket'], 'is required: Weft applies the token-bucket form of the local rate limit');
  } else {
    const max = field(tb, 'max_tokens');
    if (!Number.isInteger(max) || (max as number) < 1) bad(['token_bucket', 'max_tokens'], `must be an integer >= 1 (got ${JSON.stringify(max)})`);
    const per = field(tb, 'tokens_per_fill');
    if (per !== undefined && (!Number.isInteger(per) || (per as number) < 1)) bad(['token_bucket', 'tokens_per_fill'], `must be an integer >= 1 (got ${JSON.stringify(per)})`);
    const fill = field(tb, 'fill_interval');
    const ms = typeof fill === 'string' ? parseDurationMs(fill) : undefined;
    if (ms === undefined) bad(['token_bucket', 'fill_interval'], `must be a duration such as 1s (got ${JSON.stringify(fill)})`);
    else if (ms < 50) bad(['token_bucket', 'fill_interval'], `must be at least 50ms, as Envoy requires (got ${JSON.stringify(fill)})`);
  }
  for (const key of ['filter_enabled', 'filter_enforced']) {
    const rf = field(s, key);
    if (rf === undefined) continue;
    const dv = isObj(rf) ? field(rf, 'default_value') : undefined;
    if (!isObj(dv)) {
      bad([key, 'default_value'], 'is required (a fractional percent)');
      continue;
    }
    const num = dv['numerator'];
    if (num !== undefined && (!Number.isInteger(num) || (num as number) < 0)) bad([key, 'default_value', 'numerator'], `must be a non-negative integer (got ${JSON.stringify(num)})`);
    const den = dv['denominator'];
    if (den !== undefined && !denominators.includes(String(den))) bad([key, 'default_value', 'denominator'], `must be one of ${denominators.join(', ')}`);
  }
}

/** WEFT0105 / WEFT0106 over every configPatch. */
export const envoyFilterAnalyzer: Analyzer = {
  name: 'envoy-filter',
  run(input, report) {
    for (const ef of input.envoyFilters) reportPerObject(envoyFilterAnalyzer, ef, report, (report) => {
      (ef.spec.configPatches ?? []).forEach((cp, i) => {
        const base = ['spec', 'configPatches', i];
        const value = cp.patch?.value;
        const rl = localRateLimitSettings(value);
        if (!rl) {
          report('warning', FindingCode.unsupportedEnvoyFilter, ef, base, `patch ${cp.applyTo ?? '(no applyTo)'}/${cp.patch?.operation ?? '(no operation)'} is not applied: Weft applies only the ${localRateLimitFilterName} HTTP_FILTER pattern`);
          return;
        }
        if (cp.applyTo !== 'HTTP_FILTER') {
          report('warning', FindingCode.unsupportedEnvoyFilter, ef, [...base, 'applyTo'], `${localRateLimitFilterName} is applied only with applyTo HTTP_FILTER; this patch is not applied`);
          return;
        }
        if (!supportedOperations.includes(cp.patch?.operation ?? '')) {
          report('warning', FindingCode.unsupportedEnvoyFilter, ef, [...base, 'patch', 'operation'], `operation ${cp.patch?.operation ?? '(none)'} is not applied (supported: ${supportedOperations.join(', ')})`);
          return;
        }
        if (!supportedContexts.includes(cp.match?.context)) {
          report('warning', FindingCode.unsupportedEnvoyFilter, ef, [...base, 'match', 'context'], `context ${cp.match?.context} is not applied (supported: SIDECAR_INBOUND, SIDECAR_OUTBOUND, ANY)`);
          return;
        }
        checkSettings(ef, [...base, 'patch', 'value', ...rl.path], rl.settings, report);
      });
    });
  },
};
