/**
 * mTLS STRICT: security.yaml makes ratings STRICT. A plaintext request straight to a ratings
 * instance (from the demo process, which has no identity) is refused — the connection is reset
 * before any answer — while the frontend, which runs with `WEFT_MTLS=on`, keeps getting answers
 * over mTLS. The server's side of that is read from ratings' own metrics: its
 * `istio_requests_total{reporter="destination"}` series for the frontend carry the SPIFFE ID it
 * verified (`source_principal`) and `connection_security_policy="mutual_tls"`.
 *
 * When plaintext gets through, the step fails and says whether the policy (the inbound listener
 * for ratings' port) was delivered to that process at all, read from the control plane.
 */
import type { DemoStep } from './step.ts';
import { isInboundPolicyDelivered } from './step.ts';
import { scrape, select, sumBy } from '../prometheus-scrape.ts';

/** What a plaintext GET got: an HTTP status, or the socket error that ended it. */
async function plaintextGet(url: string): Promise<{ status?: number; error?: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return { status: res.status };
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    return { error: cause?.code ?? cause?.message ?? (err as Error).message };
  }
}

/** See the module comment. */
export const mtlsStrict: DemoStep = {
  name: 'mTLS STRICT on ratings refuses plaintext',
  async run(ctx) {
    const ratings = ctx.instances.get('ratings-v1');
    if (!ratings) return { ok: false, detail: 'ratings-v1 is not running' };
    const plain = await plaintextGet(`http://127.0.0.1:${ratings.port}/ratings/1`);
    const meshed = await Promise.all(Array.from({ length: 6 }, () => ctx.frontend('/ratings/1')));
    const meshedOk = meshed.filter((r) => r.status === 200).length;
    const served = select(await scrape(ratings.adminPort), 'istio_requests_total', { reporter: 'destination', source_workload: 'frontend' });
    const byPolicy = sumBy(served, 'connection_security_policy');
    const principals = [...new Set(served.map((s) => s.labels['source_principal'] ?? '?'))];
    const mutual = byPolicy.get('mutual_tls') ?? 0;
    const plainServed = [...byPolicy].filter(([k]) => k !== 'mutual_tls').reduce((n, [, v]) => n + v, 0);
    const detail = `plaintext GET 127.0.0.1:${ratings.port} → ${plain.status ?? `refused (${plain.error})`}; frontend (WEFT_MTLS=on) → ${meshedOk}/${meshed.length} × 200; ratings-v1 served frontend ${mutual}× over mutual_tls, ${plainServed}× otherwise`;
    const lines = principals.map((p) => `peer identity ratings-v1 verified: ${p}`);
    if (plain.status !== undefined) {
      const delivered = await isInboundPolicyDelivered(ctx, ratings);
      return { ok: false, detail: `${detail} — plaintext was answered; the inbound policy was ${delivered ? '' : 'not '}delivered to ratings-v1`, lines };
    }
    return { ok: meshedOk > 0 && mutual > 0 && plainServed === 0 && principals.includes(`spiffe://cluster.local/ns/${ctx.namespace}/sa/frontend`), detail, lines };
  },
};
