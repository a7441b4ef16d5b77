/**
 * Retries hiding a flaky version: ratings v2 fails 30 % of its requests with 503 on purpose
 * (`FLAKY_RATE`), and ratings.yaml retries 5xx up to 3 times. The error rate the server
 * produced (from each ratings process's own counters) is compared with the one the caller saw
 * (frontend's `fetch`). Expected: about 15 % of server answers fail, well under 1 % of calls.
 * The check: the caller's error rate is at most half the server's, and the server did fail.
 */
import type { DemoStep } from './step.ts';
import { describeFailures, ratingsStats } from './step.ts';
import { percent, sendMany } from '../traffic.ts';

const CALLS = 200;

/** See the module comment. */
export const retriesHideFlakiness: DemoStep = {
  name: 'retries hide the flaky ratings v2',
  async run(ctx) {
    const servers = [ctx.instances.get('ratings-v1'), ctx.instances.get('ratings-v2')];
    const before = await Promise.all(servers.map(ratingsStats));
    const replies = await sendMany(CALLS, () => ctx.frontend('/ratings/1'), { concurrency: 4 });
    const after = await Promise.all(servers.map(ratingsStats));
    const served = after.reduce((n, s, i) => n + s.served - (before[i]?.served ?? 0), 0);
    const failed = after.reduce((n, s, i) => n + s.failed - (before[i]?.failed ?? 0), 0);
    const callerFailed = replies.filter((r) => r.status !== 200).length;
    const serverRate = served === 0 ? 0 : failed / served;
    const callerRate = callerFailed / CALLS;
    return {
      ok: failed > 0 && serverRate >= 0.05 && callerRate <= serverRate / 2,
      detail: `servers answered ${served} requests, ${failed} failed (${percent(failed, served)}); the caller saw ${callerFailed} of ${CALLS} fail (${percent(callerFailed, CALLS)})${callerFailed ? `: ${describeFailures(replies)}` : ''}`,
    };
  },
};
