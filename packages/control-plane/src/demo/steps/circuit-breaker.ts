/**
 * Circuit breaking: ratings.yaml caps each ratings subset at 10 connections and 5 pending
 * requests. 80 slow requests (`delayMs=100`, under the 200 ms per-try timeout) at once exceed that; the frontend's meshed `fetch`
 * refuses the excess at once with 503, `x-envoy-overloaded` and response flag `UO`
 * (`WEFT_ERR_CIRCUIT_OPEN`) instead of queueing them. The check: some calls were refused with
 * UO, and at least 10 were admitted (one subset's connection limit). Admitted calls may still
 * time out on a loaded machine (504 UT after the 200 ms per-try timeouts), so success is shown
 * but not required.
 */
import type { DemoStep } from './step.ts';
import { sendMany, tally } from '../traffic.ts';

const CONCURRENT = 80;

/** See the module comment. */
export const circuitBreaker: DemoStep = {
  name: 'circuit breaker opens under concurrency (503 UO)',
  async run(ctx) {
    const replies = await sendMany(CONCURRENT, () => ctx.frontend('/ratings/1?delayMs=100'), { concurrency: CONCURRENT });
    const outcomes = tally(replies.map((r) => (r.status === 200 ? '200' : `${r.status}${r.body['flags'] ? ` ${String(r.body['flags'])}` : ''}`)));
    const overflow = [...outcomes].filter(([k]) => k.startsWith('503') && k.includes('UO')).reduce((n, [, v]) => n + v, 0);
    const admitted = CONCURRENT - overflow;
    return {
      ok: overflow > 0 && admitted >= 10,
      detail: `${CONCURRENT} concurrent calls: ${[...outcomes].map(([k, v]) => `${v}× ${k}`).join(', ')}`,
    };
  },
};
