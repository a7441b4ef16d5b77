/**
 * One trace through the shop: a request to the frontend's `/product/<id>` (a fresh id, so its
 * lines are easy to find) fans out to catalog (gRPC), which asks ratings, and to ratings (HTTP).
 * Every instance writes an Envoy-style access log (`WEFT_ACCESS_LOG`, one file per instance);
 * the step takes the `trace_id` of the frontend's inbound line for that request and shows the
 * lines with the same trace id in frontend, catalog and ratings — W3C `traceparent` carried from
 * hop to hop by the register hooks, with no tracing code in the services.
 *
 * The check: all three services logged lines with the frontend's trace id — catalog's inbound
 * gRPC call and its own call to ratings included (the gRPC register hook continues the caller's
 * trace on a plain grpc-js server, and the HTTP hook carries it on into `fetch`).
 */
import { randomBytes } from 'node:crypto';
import type { DemoStep } from './step.ts';
import { until } from './step.ts';
import type { AccessLogLine } from '../access-logs.ts';

const SERVICES = ['frontend', 'catalog', 'ratings'] as const;

function describeLine(instance: string, l: AccessLogLine): string {
  const isInbound = l.upstream_cluster?.startsWith('inbound|') ?? false;
  return `${instance.padEnd(11)} ${isInbound ? 'inbound ' : 'outbound'} ${l.method ?? '?'} ${l.path ?? '?'} → ${l.response_code}${isInbound ? '' : ` via ${l.upstream_cluster ?? '?'}`}`;
}

/** See the module comment. */
export const traceId: DemoStep = {
  name: 'one trace id across frontend → catalog → ratings (access logs)',
  async run(ctx) {
    const id = `trace-${randomBytes(4).toString('hex')}`;
    const reply = await ctx.frontend(`/product/${id}`);
    const names = (service: string) => [...ctx.instances.values()].filter((i) => i.service === service).map((i) => i.name);
    let trace: string | undefined;
    await until(() => {
      trace = ctx.accessLogs.read('frontend').find((l) => l.path === `/product/${id}` && l.upstream_cluster?.startsWith('inbound|'))?.trace_id ?? undefined;
      return trace !== undefined;
    }, 5000, 100);
    if (!trace) return { ok: false, detail: `GET /product/${id} → ${reply.status}; no frontend access-log line with a trace id for it (${ctx.accessLogs.pathOf('frontend')})` };
    const found = new Map<string, string[]>();
    const collect = (): boolean => {
      found.clear();
      for (const service of SERVICES) {
        const lines = names(service).flatMap((name) => ctx.accessLogs.read(name).filter((l) => l.trace_id === trace).map((l) => describeLine(name, l)));
        if (lines.length > 0) found.set(service, lines);
      }
      return found.size === SERVICES.length;
    };
    // Logs are flushed on the next turn of each process's event loop; wait for all three, bounded.
    await until(collect, 3000, 100);
    const seenIn = SERVICES.filter((s) => found.has(s));
    const detail = `GET /product/${id} → ${reply.status}; trace_id ${trace} in ${seenIn.length} services' access logs (${seenIn.join(', ')})`;
    const lines = [...found.values()].flat();
    const catalogToRatings = lines.some((l) => l.startsWith('catalog') && l.includes('outbound GET /ratings/'));
    return { ok: found.size === SERVICES.length && catalogToRatings, detail: `${detail}${catalogToRatings ? '' : "; catalog's call to ratings is not in the trace"}`, lines };
  },
};
