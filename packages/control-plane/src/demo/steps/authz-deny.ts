/**
 * Authorization: security.yaml lets ratings answer only GET, and only to the identities of
 * frontend and catalog. A one-shot meshed client with a valid mesh identity of its own
 * (`spiffe://cluster.local/ns/shop/sa/intruder`, mTLS on) asks ratings over the same hooks as
 * the shop's services and is denied with 403 (RBAC, `WEFT_ERR_ACCESS_DENIED` on the server), while the frontend's
 * calls keep succeeding. Pending, as the mTLS step, while the policy has not been delivered
 * to every ratings instance.
 */
import type { DemoStep } from './step.ts';
import { isInboundPolicyDelivered } from './step.ts';

/** See the module comment. */
export const authorizationDeny: DemoStep = {
  name: 'AuthorizationPolicy denies an unlisted caller (403)',
  async run(ctx) {
    const answer = await ctx.runClient({
      serviceAccount: 'intruder',
      code: `const r = await fetch('http://ratings.${ctx.namespace}.svc.cluster.local:9080/ratings/1', { signal: AbortSignal.timeout(10000) });
console.log(JSON.stringify({ status: r.status, code: r.headers.get('x-weft-error-code') }));`,
    });
    const parsed = JSON.parse(answer.trim().split('\n').pop() ?? '{}') as { status?: number; code?: string | null };
    const meshed = await ctx.frontend('/ratings/1');
    const detail = `intruder GET ratings → ${parsed.status ?? '?'}${parsed.code ? ` ${parsed.code}` : ''}; frontend → ${meshed.status}`;
    const ratings = [...ctx.instances.values()].filter((i) => i.service === 'ratings');
    const delivered = (await Promise.all(ratings.map((i) => isInboundPolicyDelivered(ctx, i)))).every(Boolean);
    if (parsed.status === 200 && !delivered) {
      return { ok: true, isPending: true, detail: `${detail} — pending: no inbound listener (the policy) reached every ratings instance${ctx.isSelfRegistered ? '' : ' (their node metadata does not reach the control plane)'}` };
    }
    return { ok: parsed.status === 403 && meshed.status === 200, detail };
  },
};
