/**
 * mTLS STRICT: security.yaml makes ratings STRICT. A plaintext request straight to a ratings
 * instance (from the demo process, which has no identity) is refused — the connection is reset
 * — while the frontend, which runs with `WEFT_MTLS=on`, keeps getting answers over mTLS.
 *
 * The policy is selected by the labels each ratings process announces in its xDS node
 * metadata. When the instances did not register themselves (so their metadata did not reach the
 * control plane; see the registration step), the policy cannot select them, and the step is
 * reported as pending instead of failing.
 */
import type { DemoStep } from './step.ts';
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
    if (plain.status !== 0 && !ctx.isSelfRegistered) {
      return { ok: true, isPending: true, detail: `${detail} — pending: the instances' node metadata (labels) does not reach the control plane, so the STRICT policy selects no ratings process` };
    }
    return { ok: plain.status === 0 && meshed.status === 200, detail };
  },
};
