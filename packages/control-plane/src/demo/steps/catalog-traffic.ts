/**
 * Calls `GET /catalog/:id` on the frontend (one gRPC call to catalog per request) and counts
 * which catalog version answered. Paced below catalog's local rate limit (20 requests per second
 * per instance, `rate-limit.yaml`) so that a split is never skewed by rate limiting.
 */
import type { DemoContext } from './step.ts';
import { sendMany, tally } from '../traffic.ts';

/** Versions that answered (`error` for failed calls) over `count` calls. */
export interface CatalogSample {
  versions: Map<string, number>;
  ok: number;
  failed: number;
  /** First failure's details, for the report. */
  firstError?: string;
}

/** Sends `count` calls at `ratePerSecond` with optional headers and tallies the versions. */
export async function sampleCatalog(ctx: DemoContext, count: number, ratePerSecond: number, headers: Record<string, string> = {}): Promise<CatalogSample> {
  let firstError: string | undefined;
  const replies = await sendMany(count, () => ctx.frontend('/catalog/1', headers), { concurrency: 4, ratePerSecond });
  const labels = replies.map((r) => {
    if (r.status === 200 && typeof r.body['version'] === 'string') return r.body['version'];
    firstError ??= `${r.status} ${JSON.stringify(r.body)}`;
    return 'error';
  });
  const versions = tally(labels);
  const failed = versions.get('error') ?? 0;
  versions.delete('error');
  return { versions, ok: count - failed, failed, ...(firstError ? { firstError } : {}) };
}

/** `v1 181 (90.5%), v2 19 (9.5%)` */
export function describeVersions(s: CatalogSample): string {
  const total = s.ok || 1;
  return [...s.versions].sort(([a], [b]) => a.localeCompare(b)).map(([v, n]) => `${v} ${n} (${((100 * n) / total).toFixed(1)}%)`).join(', ') || 'no answers';
}
