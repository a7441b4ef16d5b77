/**
 * Istio metrics from the workloads themselves: the demo scrapes the frontend's and both ratings
 * instances' admin `/stats/prometheus` (`WEFT_ADMIN_PORT`) before and after sending
 * {@link CALLS} requests through frontend → ratings, and shows `istio_requests_total` for that
 * edge as the caller reports it (`reporter="source"`, on the frontend) and as the servers report
 * it (`reporter="destination"`, `source_workload="frontend"`, on ratings), by response code.
 *
 * As with Envoy, the caller counts one request per call, with its final response code, while
 * each attempt (the route retries up to 3 times) reaches a server and is counted there. The
 * check: the source count is the calls sent (± 2); the destination count lies between it and
 * its attempts; every 200 the caller saw was a 200 some server counted; and no scrape repeats a
 * label set (Prometheus drops the duplicate series of a scrape, so counts would be wrong).
 */
import type { DemoStep } from './step.ts';
import { sendMany } from '../traffic.ts';
import { duplicateSeries, scrape, select, sumBy, type Sample } from '../prometheus-scrape.ts';

const CALLS = 100;
const MAX_ATTEMPTS = 4;
const METRIC = 'istio_requests_total';

function total(sums: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const v of sums.values()) n += v;
  return n;
}

function delta(after: ReadonlyMap<string, number>, before: ReadonlyMap<string, number>): Map<string, number> {
  const d = new Map<string, number>();
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) > 0) d.set(k, v - (before.get(k) ?? 0));
  return d;
}

/** `112 (200: 100, 503: 12)` */
function describe(sums: ReadonlyMap<string, number>): string {
  const codes = [...sums].sort(([a], [b]) => a.localeCompare(b)).map(([code, n]) => `${code}: ${n}`);
  return `${total(sums)} (${codes.join(', ') || 'none'})`;
}

/** See the module comment. */
export const istioMetrics: DemoStep = {
  name: 'Istio metrics on the workloads (/stats/prometheus)',
  async run(ctx) {
    const frontend = ctx.instances.get('frontend');
    const ratings = [...ctx.instances.values()].filter((i) => i.service === 'ratings');
    if (!frontend || ratings.length === 0) return { ok: false, detail: 'frontend or ratings is not running' };
    const host = `ratings.${ctx.namespace}.svc.cluster.local`;
    const sourceSide = (s: readonly Sample[]) => sumBy(select(s, METRIC, { reporter: 'source', destination_service: host }), 'response_code');
    const destinationSide = (all: readonly (readonly Sample[])[]) => sumBy(all.flatMap((s) => select(s, METRIC, { reporter: 'destination', source_workload: 'frontend' })), 'response_code');
    const scrapeAll = async () => ({ frontend: await scrape(frontend.adminPort), ratings: await Promise.all(ratings.map((r) => scrape(r.adminPort))) });

    const before = await scrapeAll();
    const replies = await sendMany(CALLS, () => ctx.frontend('/ratings/1'), { concurrency: 4 });
    // Servers record a request when its answer is written; give the last ones a moment to land.
    await new Promise((r) => setTimeout(r, 300));
    const after = await scrapeAll();

    const source = delta(sourceSide(after.frontend), sourceSide(before.frontend));
    const destination = delta(destinationSide(after.ratings), destinationSide(before.ratings));
    const answered = replies.filter((r) => r.status === 200).length;
    const dups = [after.frontend, ...after.ratings].reduce((n, s) => n + duplicateSeries(s), 0);
    const src = total(source);
    const dst = total(destination);
    const src200 = source.get('200') ?? 0;
    const isPlausible = Math.abs(src - CALLS) <= 2 && dst >= src - 2 && dst <= src * MAX_ATTEMPTS + 2 && src200 > 0 && (destination.get('200') ?? 0) >= src200 - 2;
    const admin = (port: number) => `http://127.0.0.1:${port}/stats/prometheus`;
    return {
      ok: isPlausible && dups === 0,
      detail: `${CALLS} calls frontend → ratings (${answered} answered 200): reporter="source" ${describe(source)}, reporter="destination" ${describe(destination)}${dups ? `; ✘ ${dups} duplicate series in the scrapes (same labels twice)` : ''}`,
      lines: [
        `frontend: ${admin(frontend.adminPort)}  ${METRIC}{reporter="source",destination_service="${host}"}`,
        ...ratings.map((r) => `${r.name}: ${admin(r.adminPort)}  ${METRIC}{reporter="destination",source_workload="frontend"}`),
      ],
    };
  },
};
