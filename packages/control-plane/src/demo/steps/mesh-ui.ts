/**
 * The control plane's mesh view: `/ui` on its admin port answers, and `/debug/graph` (the
 * service graph it draws, from the workloads' LRS load reports) lists the edges seen so far.
 * The edge count is shown, not asserted: it depends on the workloads' load reports.
 */
import type { DemoStep } from './step.ts';

/** See the module comment. */
export const meshUi: DemoStep = {
  name: 'mesh view (/ui) on the control plane',
  async run(ctx) {
    const url = `${ctx.controlPlane.adminUrl}/ui`;
    const page = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await page.arrayBuffer();
    const graph = (await (await fetch(`${ctx.controlPlane.adminUrl}/debug/graph`, { signal: AbortSignal.timeout(5000) })).json()) as { nodes?: unknown[]; edges?: { source?: string; target?: string }[] };
    const edges = graph.edges ?? [];
    return {
      ok: page.status === 200,
      detail: `GET ${url} → ${page.status}; service graph: ${graph.nodes?.length ?? 0} nodes, ${edges.length} edges`,
      lines: edges.slice(0, 8).map((e) => `${e.source ?? '?'} → ${e.target ?? '?'}`),
    };
  },
};
