/**
 * Local rate limiting: rate-limit.yaml admits 20 requests per second into each catalog
 * instance (Envoy's local_ratelimit on the inbound side, Istio's documented EnvoyFilter). A
 * burst of 150 calls in about a second goes over it; the excess is refused by catalog's inbound
 * side (gRPC UNAVAILABLE, `WEFT_ERR_RATE_LIMITED (RL)`). The check: some calls were rate limited
 * and no instance admitted more than its bucket allows (20 at once plus 20 per second).
 *
 * A burst in which nothing is limited fails: catalog's grpc-js server is meshed by the gRPC
 * register hook (a plain `grpc.Server` bound on `WEFT_PORT`), which applies the inbound filters.
 */
import type { DemoStep } from './step.ts';
import { sendMany } from '../traffic.ts';

const CALLS = 150;
const INSTANCES = 3;
const BUCKET = 20;

/** See the module comment. */
export const rateLimit: DemoStep = {
  name: 'local rate limit on catalog (20/s per instance)',
  async run(ctx) {
    const started = performance.now();
    const replies = await sendMany(CALLS, () => ctx.frontend('/catalog/1'), { concurrency: 30 });
    const seconds = (performance.now() - started) / 1000;
    const limited = replies.filter((r) => r.status !== 200 && /RATE_LIMITED|\(RL\)/.test(String(r.body['details'] ?? ''))).length;
    const admitted = replies.filter((r) => r.status === 200).length;
    const bound = INSTANCES * (BUCKET + BUCKET * Math.ceil(seconds));
    const detail = `${CALLS} calls in ${seconds.toFixed(1)} s: ${admitted} admitted, ${limited} rate limited (bound ${bound})`;
    return { ok: limited > 0 && admitted > 0 && admitted <= bound, detail };
  },
};
