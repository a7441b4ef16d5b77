/**
 * Reading a workload's metrics the way Prometheus would: GET its admin `/stats/prometheus`
 * (`WEFT_ADMIN_PORT`) and parse the text exposition into samples. Enough of the format for the
 * demo's steps (names, labels with escapes, values); comments and malformed lines are skipped.
 */
import { MeshError } from '@weft/xds-client';

/** One sample line: `name{labels} value`. */
export interface Sample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses a Prometheus text exposition. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m?.[1] || m[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = Number(m[3]);
    if (Number.isFinite(value)) samples.push({ name: m[1], labels, value });
  }
  return samples;
}

/** Scrapes `http://127.0.0.1:<adminPort>/stats/prometheus`; rejects (`WEFT_ERR_CONFIG_IO`) on a non-200 answer. */
export async function scrape(adminPort: number): Promise<Sample[]> {
  const url = `http://127.0.0.1:${adminPort}/stats/prometheus`;
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  if (res.status !== 200) throw new MeshError('WEFT_ERR_CONFIG_IO', `GET ${url} → ${res.status}`);
  return parsePrometheusText(text);
}

/** Samples of metric `name` whose labels include every pair of `match`. */
export function select(samples: readonly Sample[], name: string, match: Readonly<Record<string, string>> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** Sum of the values of {@link select}'s samples, by the value of label `by` (e.g. `response_code`). */
export function sumBy(samples: readonly Sample[], by: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const s of samples) {
    const key = s.labels[by] ?? '';
    sums.set(key, (sums.get(key) ?? 0) + s.value);
  }
  return sums;
}

/** How many samples repeat a label set already seen for the same metric (Prometheus rejects such a scrape's duplicates). */
export function duplicateSeries(samples: readonly Sample[]): number {
  const seen = new Set<string>();
  let dups = 0;
  for (const s of samples) {
    const key = `${s.name}{${Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(',')}}`;
    if (seen.has(key)) dups++;
    else seen.add(key);
  }
  return dups;
}
