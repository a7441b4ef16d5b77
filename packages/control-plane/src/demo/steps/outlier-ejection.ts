/**
 * Outlier detection: a bad ratings v2 instance (every request 503) joins the v2 subset beside
 * the flaky one. ratings.yaml ejects a host after 5 consecutive 5xx for 30 s (at most 50 % of
 * the subset's hosts), so after a few failures it stops receiving traffic while the caller, with
 * retries, keeps succeeding. The check: once ejected, the bad instance receives (almost) no
 * request during the next 100 calls, and callers see at most 10 % errors (the flaky v2 still
 * fails sometimes through all its retries). The instance is stopped at the end.
 */
import type { DemoStep } from './step.ts';
import { describeFailures, ratingsStats, until } from './step.ts';
import { percent, sendMany } from '../traffic.ts';

const CALLS = 100;

/** See the module comment. */
export const outlierEjection: DemoStep = {
  name: 'outlier detection ejects a failing instance',
  async run(ctx) {
    const bad = await ctx.addInstance({ name: 'ratings-v2-bad', service: 'ratings', version: 'v2', env: { FLAKY_RATE: '1' } });
    try {
      // Until the bad instance has failed enough to be ejected (5 in a row, it fails every time).
      let warmup = 0;
      const reached = await until(async () => {
        await sendMany(10, () => ctx.frontend('/ratings/2'), { concurrency: 2 });
        warmup += 10;
        return (await ratingsStats(bad)).served >= 5;
      }, 20_000, 0);
      if (!reached) return { ok: false, detail: 'the bad instance received no traffic within 20 s' };
      await new Promise((r) => setTimeout(r, 1500)); // one detection interval (1 s) and some
      const before = await ratingsStats(bad);
      const replies = await sendMany(CALLS, () => ctx.frontend('/ratings/2'), { concurrency: 4 });
      const after = await ratingsStats(bad);
      const reachedBad = after.served - before.served;
      const callerFailed = replies.filter((r) => r.status !== 200).length;
      return {
        ok: reachedBad <= 2 && callerFailed <= CALLS * 0.1,
        detail: `the bad instance failed ${before.failed} of ${before.served} requests, then got ${reachedBad} of the next ${CALLS} calls (ejected); caller errors ${percent(callerFailed, CALLS)}${callerFailed ? ` (${describeFailures(replies)})` : ''}`,
        lines: [`warm-up: ${warmup} calls`],
      };
    } finally {
      await ctx.removeInstance(bad.name);
    }
  },
};
