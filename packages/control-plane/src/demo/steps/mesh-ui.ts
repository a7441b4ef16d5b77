/**
 * The control plane's mesh view: `/ui` on its admin port answers, and `/debug/graph` (the
 * service graph it draws from the workloads' LRS load reports, sent every second in the demo)
 * holds the shop's edges: frontend → ratings and catalog → ratings (HTTP, through the HTTP
 * hook), and frontend → catalog and frontend → inventory (gRPC). Polled for a few report
 * intervals; the check is that all four edges are there with requests, and that edges into
 * ratings (STRICT) are mTLS.
 */
import type { DemoStep } from './step.ts';
import { until } from './step.ts';

interface Edge {
  source?: string;
  destination?: string;
  subset?: string;
  requests?: number;
  errorRate?: number;
  mtls?: boolean | null;
}

const HTTP_EDGES = [
  ['frontend', 'ratings'],
  ['catalog', 'ratings'],
] as const;
const GRPC_EDGES = [
  ['frontend', 'catalog'],
  ['frontend', 'inventory'],
] as const;

/** See the module comment. */
export const meshUi: DemoStep = {
  name: 'mesh view (/ui) on the control plane',
  async run(ctx) {
    const admin = ctx.controlPlane.adminUrl;
    const url = `${admin}/ui`;
    const page = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await page.arrayBuffer();
    const host = (s: string) => `${s}.${ctx.namespace}.svc.cluster.local`;
    let edges: Edge[] = [];
    const has = ([from, to]: readonly [string, string]) => edges.some((e) => e.source === host(from) && e.destination === host(to) && (e.requests ?? 0) > 0);
    await until(async () => {
      const graph = (await (await fetch(`${admin}/debug/graph`, { signal: AbortSignal.timeout(5000) })).json()) as { edges?: Edge[] };
      edges = graph.edges ?? [];
      return HTTP_EDGES.every(has) && GRPC_EDGES.every(has);
    }, 5000, 500);
    const missingHttp = HTTP_EDGES.filter((e) => !has(e));
    const missingGrpc = GRPC_EDGES.filter((e) => !has(e));
    const name = ([from, to]: readonly [string, string]) => `${from} → ${to}`;
    const short = (h: string | undefined) => h?.split('.')[0] ?? '?';
    return {
      ok: page.status === 200 && missingHttp.length === 0 && missingGrpc.length === 0 && edges.filter((e) => e.destination === host('ratings')).every((e) => e.mtls === true),
      detail: `open ${url} → ${page.status}; /debug/graph: ${edges.length} edges from load reports${missingHttp.length ? `; missing: ${missingHttp.map(name).join(', ')}` : ''}${missingGrpc.length ? `; missing gRPC edges: ${missingGrpc.map(name).join(', ')}` : ''}`,
      lines: edges.map((e) => `${short(e.source)} → ${short(e.destination)}${e.subset ? ` ${e.subset}` : ''}: ${e.requests ?? 0} requests, errors ${(100 * (e.errorRate ?? 0)).toFixed(1)}%, ${e.mtls ? 'mTLS' : e.mtls === false ? 'plaintext' : 'TLS unknown'}`),
    };
  },
};
