/**
 * The gRPC canary: frontend → catalog with `catalog.yaml`'s 90/10 split between v1 and v2,
 * measured over 200 calls; then a live config edit to 50/50 (the demo's copy of catalog.yaml is
 * rewritten; the control plane pushes it; no process restarts) and the new split measured.
 *
 * Tolerances: 200 calls at p = 0.1 have a standard deviation of 2.1 points, so v2's share is
 * checked within [3 %, 18 %] (more than 3 σ each side); at p = 0.5 the deviation is 3.5 points
 * and the check is [38 %, 62 %].
 */
import type { DemoStep } from './step.ts';
import { drawnShare, until } from './step.ts';
import { describeVersions, sampleCatalog } from './catalog-traffic.ts';

const CALLS = 200;

function share(versions: Map<string, number>, v: string, total: number): number {
  return total === 0 ? 0 : (versions.get(v) ?? 0) / total;
}

/** 90/10 as configured. */
export const canarySplit: DemoStep = {
  name: 'gRPC canary 90/10 (frontend → catalog v1/v2)',
  async run(ctx) {
    const s = await sampleCatalog(ctx, CALLS, 16);
    const v2 = share(s.versions, 'v2', s.ok);
    const ok = s.failed <= CALLS * 0.02 && s.ok > 0 && v2 >= 0.03 && v2 <= 0.18 && !s.versions.has('v3');
    return {
      ok,
      detail: `${CALLS} calls: ${describeVersions(s)}${s.failed ? `, ${s.failed} failed` : ''}`,
      lines: s.firstError ? [`first failure: ${s.firstError}`] : [],
    };
  },
};

/** The live edit to 50/50. */
export const canaryLiveEdit: DemoStep = {
  name: 'live config edit: canary 50/50',
  async run(ctx) {
    ctx.config.edit('catalog.yaml', 'VirtualService', 'catalog', (doc) => {
      const http = (doc.spec?.['http'] ?? []) as { name?: string; route?: { weight?: number }[] }[];
      const canary = http.find((h) => h.name === 'canary');
      if (!canary?.route || canary.route.length !== 2) throw new Error('demo: catalog.yaml has no two-way canary route');
      canary.route[0]!.weight = 50;
      canary.route[1]!.weight = 50;
    });
    const started = Date.now();
    const authority = `catalog.${ctx.namespace}.svc.cluster.local:50051`;
    const arrived = await until(() => drawnShare(ctx.mesh, authority, 'v2') > 0.35, 20_000);
    const pushMs = Date.now() - started;
    if (!arrived) return { ok: false, detail: 'the new weights did not reach a workload within 20 s' };
    // The frontend's stream got the same push; give it a moment before measuring.
    await new Promise((r) => setTimeout(r, 500));
    const s = await sampleCatalog(ctx, CALLS, 24);
    const v2 = share(s.versions, 'v2', s.ok);
    return {
      ok: s.failed <= CALLS * 0.02 && v2 >= 0.38 && v2 <= 0.62,
      detail: `catalog.yaml rewritten, pushed in ${pushMs} ms; ${CALLS} calls: ${describeVersions(s)}${s.failed ? `, ${s.failed} failed` : ''}`,
      lines: s.firstError ? [`first failure: ${s.firstError}`] : [],
    };
  },
};
