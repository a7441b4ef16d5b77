/**
 * Values the generated schema types only as strings or numbers but Istio's validation rejects:
 * durations (`1s`, `200ms`, `1h30m`), percentages outside 0..100 (WEFT0107, errors).
 */
import { FindingCode } from '../finding.ts';
import { reportPerObject, type Analyzer, type Report } from '../analysis-context.ts';
import type { ConfigObject } from '../../model/mesh-model.ts';

/** Field names that hold a duration in VirtualService and DestinationRule specs. */
const durationKeys = new Set([
  'timeout',
  'perTryTimeout',
  'fixedDelay',
  'exponentialDelay',
  'maxAge',
  'interval',
  'baseEjectionTime',
  'connectTimeout',
  'idleTimeout',
  'maxConnectionDuration',
  'ttl',
  'warmupDurationSecs',
  'time',
]);

const durationPattern = /^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/;

/** Milliseconds of an Istio duration string, or undefined when it is not one. */
export function parseDurationMs(text: string): number | undefined {
  if (!durationPattern.test(text)) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, ns: 0.000001 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) total += Number(m[1]) * (unit[m[2]!] ?? 0);
  return total;
}

function walk(obj: ConfigObject<unknown>, value: unknown, path: (string | number)[], report: Report): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(obj, v, [...path, i], report));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value)) {
    const here = [...path, key];
    if (durationKeys.has(key) && typeof v === 'string') {
      const ms = parseDurationMs(v);
      if (ms === undefined) report('error', FindingCode.invalidValue, obj, here, `${JSON.stringify(v)} is not a duration (write it like 1s, 250ms or 1h30m)`);
      else if (ms > 0 && ms < 1 && key !== 'time') report('error', FindingCode.invalidValue, obj, here, `${JSON.stringify(v)} is shorter than 1ms, the smallest duration Istio accepts`);
    } else if ((key === 'percentage' || key === 'mirrorPercentage') && v && typeof v === 'object' && typeof (v as { value?: unknown }).value === 'number') {
      const pct = (v as { value: number }).value;
      if (pct < 0 || pct > 100) report('error', FindingCode.invalidValue, obj, [...here, 'value'], `must be within 0..100 (got ${pct})`);
    } else if (key === 'maxEjectionPercent' && typeof v === 'number' && (v < 0 || v > 100)) {
      report('error', FindingCode.invalidValue, obj, here, `must be within 0..100 (got ${v})`);
    } else {
      walk(obj, v, here, report);
    }
  }
}

/** WEFT0107 over VirtualService and DestinationRule specs. */
export const valueAnalyzer: Analyzer = {
  name: 'values',
  run(input, report) {
    for (const vs of input.virtualServices) reportPerObject(valueAnalyzer, vs, report, (r) => walk(vs, vs.spec, ['spec'], r));
    for (const dr of input.destinationRules) reportPerObject(valueAnalyzer, dr, report, (r) => walk(dr, dr.spec, ['spec'], r));
  },
};
