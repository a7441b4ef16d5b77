/**
 * mTLS STRICT: security.yaml makes ratings STRICT. A plaintext request straight to a ratings
 * instance (from the demo process, which has no identity) is refused — the connection is reset
 * — while the frontend, which runs with `WEFT_MTLS=on`, keeps getting answers over mTLS.
 *
 * The policy reaches a ratings process as its inbound listener, selected by the labels it
 * announces in its xDS node metadata. When no inbound listener reached ratings-v1 (read from the
 * control plane's config dump for that process), the step is pending, not failed: what it would
 * test has not been delivered. A delivered policy that lets plaintext through fails.
 */
import type { DemoStep } from './step.ts';
import { isInboundPolicyDelivered } from './step.ts';
import { getJson } from '../traffic.ts';

/** See the module comment. */
export const mtlsStrict: DemoStep = {
  name: 'mTLS STRICT on ratings refuses plaintext',
  async run(ctx) {
    const ratings = ctx.instances.get('ratings-v1');
    if (!ratings) return { ok: false, detail: 'ratings-v1 is not running' };
    const plain = await getJson(`http://127.0.0.1:${ratings.port}/ratings/1`, {}, 5000);
    const meshed = await ctx.frontend('/ratings/1');
    const detail = `plaintext GET 127.0.0.1:${ratings.port} → ${plain.status === 0 ? `refused (${String(plain.body['error'])})` : plain.status}; frontend (WEFT_MTLS=on) → ${meshed.status}`;
    if (plain.status !== 0 && !(await isInboundPolicyDelivered(ctx, ratings))) {
      return { ok: true, isPending: true, detail: `${detail} — pending: no inbound listener (the policy) reached ratings${ctx.isSelfRegistered ? '' : ' (its node metadata does not reach the control plane)'}` };
    }
    return { ok: plain.status === 0 && meshed.status === 200, detail };
  },
};
