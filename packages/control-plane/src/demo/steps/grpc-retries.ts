/**
 * gRPC retries: inventory's route retries `unavailable` up to 2 times (examples/mesh/inventory.yaml).
 * The frontend asks inventory to fail 30 % of calls with UNAVAILABLE on purpose (metadata
 * `x-fail-rate`), and the demo compares what inventory answered (its own Istio metrics,
 * `reporter="destination"`, by `grpc_response_status`) with what the caller saw. Expected: about
 * 30 % of the server's answers fail and about 2.7 % (0.3³) of the calls.
 * The check: the server did fail at least 10 % of its answers, the caller's failure rate is at
 * most a third of the server's, and the server saw more answers than calls (retries happened).
 */
import type { DemoStep } from './step.ts';
import { percent, sendMany } from '../traffic.ts';
import { scrape, select, sumBy, type Sample } from '../prometheus-scrape.ts';

const CALLS = 200;
const FAIL_RATE = 0.3;
const METRIC = 'istio_requests_total';

function byStatus(samples: readonly Sample[]): Map<string, number> {
  return sumBy(select(samples, METRIC, { reporter: 'destination', source_workload: 'frontend', request_protocol: 'grpc' }), 'grpc_response_status');
}

/** See the module comment. */
export const grpcRetries: DemoStep = {
  name: 'gRPC retries hide UNAVAILABLE from inventory',
  async run(ctx) {
    const inventory = ctx.instances.get('inventory');
    if (!inventory) return { ok: false, detail: 'inventory is not running' };
    const before = byStatus(await scrape(inventory.adminPort));
    const replies = await sendMany(CALLS, () => ctx.frontend(`/inventory/1?failRate=${FAIL_RATE}`), { concurrency: 4 });
    // The server records an answer when it is written; give the last ones a moment to land.
    await new Promise((r) => setTimeout(r, 300));
    const after = byStatus(await scrape(inventory.adminPort));
    const count = (m: Map<string, number>, pick: (status: string) => boolean) => [...m].filter(([s]) => pick(s)).reduce((n, [, v]) => n + v, 0);
    const answered = count(after, () => true) - count(before, () => true);
    const unavailable = count(after, (s) => s === '14') - count(before, (s) => s === '14');
    const callerFailed = replies.filter((r) => r.status !== 200).length;
    const serverRate = answered === 0 ? 0 : unavailable / answered;
    const callerRate = callerFailed / CALLS;
    return {
      ok: serverRate >= 0.1 && callerRate <= serverRate / 3 && answered > CALLS,
      detail: `inventory answered ${answered} attempts for ${CALLS} calls, ${unavailable} UNAVAILABLE (${percent(unavailable, answered)}); the caller saw ${callerFailed} fail (${percent(callerFailed, CALLS)})`,
    };
  },
};
