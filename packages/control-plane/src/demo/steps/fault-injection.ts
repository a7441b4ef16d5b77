/**
 * Fault injection: a live edit adds Istio's `fault` to inventory's route — 50 % of calls delayed
 * 200 ms, 20 % aborted with gRPC ABORTED — and 200 calls measure both. ABORTED is not in the
 * route's `retryOn`, so aborts reach the caller as configured. The edit is reverted afterwards.
 *
 * Tolerances: aborts over 200 calls at p = 0.2 have σ = 2.8 points, checked within [8 %, 35 %].
 * A delayed call takes at least 200 ms, so at least ~50 % of calls take ≥ 180 ms; load can only
 * add time, so only a lower bound (30 %) is checked, never an upper one.
 */
import type { DemoStep } from './step.ts';
import { until } from './step.ts';
import { percent, sendMany } from '../traffic.ts';

const CALLS = 200;
const FAULT = { delay: { percentage: { value: 50 }, fixedDelay: '200ms' }, abort: { percentage: { value: 20 }, grpcStatus: 'ABORTED' } };

type HttpRoute = { fault?: unknown }[];

/** See the module comment. */
export const faultInjection: DemoStep = {
  name: 'fault injection on inventory (50% delay 200 ms, 20% abort)',
  async run(ctx) {
    ctx.config.edit('inventory.yaml', 'VirtualService', 'inventory', (doc) => {
      for (const route of (doc.spec?.['http'] ?? []) as HttpRoute) route.fault = FAULT;
    });
    try {
      const arrived = await until(async () => {
        const probe = await sendMany(20, () => ctx.frontend('/inventory/1'), { concurrency: 5 });
        return probe.some((r) => r.body['error'] === 'ABORTED');
      }, 20_000, 0);
      if (!arrived) return { ok: false, detail: 'no injected abort seen within 20 s of the edit' };
      const replies = await sendMany(CALLS, () => ctx.frontend('/inventory/1'), { concurrency: 10 });
      const aborted = replies.filter((r) => r.body['error'] === 'ABORTED').length;
      const delayed = replies.filter((r) => Number(r.body['elapsedMs']) >= 180).length;
      const otherErrors = replies.filter((r) => r.status !== 200 && r.body['error'] !== 'ABORTED').length;
      return {
        ok: aborted >= CALLS * 0.08 && aborted <= CALLS * 0.35 && delayed >= CALLS * 0.3 && otherErrors <= CALLS * 0.02,
        detail: `${CALLS} calls: ${aborted} aborted (${percent(aborted, CALLS)}), ${delayed} took ≥ 180 ms (${percent(delayed, CALLS)})${otherErrors ? `, ${otherErrors} other errors` : ''}`,
      };
    } finally {
      ctx.config.edit('inventory.yaml', 'VirtualService', 'inventory', (doc) => {
        for (const route of (doc.spec?.['http'] ?? []) as HttpRoute) delete route.fault;
      });
    }
  },
};
