/**
 * Authorization: security.yaml lets ratings answer only GET, and only to the identities of
 * frontend and catalog. A one-shot meshed client with a valid mesh identity of its own
 * (`spiffe://cluster.local/ns/shop/sa/intruder`, mTLS on) asks ratings over the same hook as the
 * shop's services and is denied with 403 `RBAC: access denied` (Envoy's body and status), while
 * the frontend's calls keep succeeding. When the intruder gets through, the step fails and says
 * whether the policy was delivered to every ratings instance at all.
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
console.log(JSON.stringify({ status: r.status, body: (await r.text()).slice(0, 80) }));`,
    });
    const parsed = JSON.parse(answer.trim().split('\n').pop() ?? '{}') as { status?: number; body?: string };
    // ratings v2 is flaky on purpose (FLAKY_RATE): one of a few calls answering is what "keeps succeeding" means here.
    let meshed = await ctx.frontend('/ratings/1');
    for (let i = 0; i < 3 && meshed.status !== 200; i++) meshed = await ctx.frontend('/ratings/1');
    const detail = `spiffe://cluster.local/ns/${ctx.namespace}/sa/intruder GET ratings → ${parsed.status ?? '?'}${parsed.body ? ` "${parsed.body.trim()}"` : ''}; frontend → ${meshed.status}`;
    if (parsed.status !== 403) {
      const ratings = [...ctx.instances.values()].filter((i) => i.service === 'ratings');
      const delivered = (await Promise.all(ratings.map((i) => isInboundPolicyDelivered(ctx, i)))).every(Boolean);
      return { ok: false, detail: `${detail} — not denied; the inbound policy was ${delivered ? '' : 'not '}delivered to every ratings instance` };
    }
    return { ok: meshed.status === 200 && /RBAC: access denied/.test(parsed.body ?? ''), detail };
  },
};
