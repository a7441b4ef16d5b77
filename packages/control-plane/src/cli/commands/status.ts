/**
 * `weft status [--admin URL] [--output table|json]`: the connected clients and, per xDS type,
 * SYNCED / STALE / NACKED / NOT SENT, like `istioctl proxy-status`, followed by every NACK
 * error and every feature left out for a client kind. Reads `/debug/syncz` of a running
 * control plane.
 */
import { MeshError } from '@weft/xds-client';
import type { SyncReport } from '../../xds/sync-report.ts';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../parse-args.ts';

/** Renders a sync report as the `weft status` table (pure; exported for tests). */
export function formatStatus(report: SyncReport): string {
  const header = ['NAME', 'KIND', 'PROTOCOL', 'CDS', 'LDS', 'EDS', 'RDS', 'GENERATION'];
  const rows = report.clients.map((c) => [
    c.nodeId, c.kind, c.protocol,
    ...['cds', 'lds', 'eds', 'rds'].map((t) => c.types[t]?.state ?? 'NOT SENT'),
    c.generation === undefined ? '-' : `${c.generation}${c.generation === report.generation ? '' : ` (latest ${report.generation})`}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line)];
  if (rows.length === 0) out.push('(no connected clients)');
  for (const c of report.clients) {
    for (const [type, t] of Object.entries(c.types)) {
      if (t.lastNack) out.push(`NACK ${c.nodeId} ${type.toUpperCase()}: ${t.lastNack.message} (nonce ${t.lastNack.nonce}${t.state === 'NACKED' ? ', current' : ', since superseded'})`);
    }
  }
  const seen = new Set<string>();
  for (const c of report.clients) {
    for (const o of c.omissions) {
      const key = `${c.kind}|${o.resource}|${o.field}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(`LEFT OUT for ${c.kind} clients: ${o.type} ${o.resource}: ${o.field}: ${o.reason}`);
    }
  }
  for (const f of report.snapshotFailures) out.push(`GENERATION ${f.generation} NOT SERVED (${f.profile}): ${f.message}`);
  return `${out.join('\n')}\n`;
}

/** See the module comment. */
export const statusCommand: Command = {
  name: 'status',
  summary: 'show connected xDS clients and their sync state (like istioctl proxy-status)',
  synopsis: '[--admin http://127.0.0.1:15014] [--output table|json]',
  async run(args) {
    const { values } = parseCommandArgs('status', {
      args,
      options: { admin: { type: 'string', default: 'http://127.0.0.1:15014' }, output: { type: 'string', default: 'table' } },
    });
    const base = (values.admin as string).replace(/\/+$/, '');
    if (values.output !== 'table' && values.output !== 'json') throw new MeshError('WEFT_ERR_USAGE', `weft status: --output must be table or json, got "${values.output}"`);
    let report: SyncReport;
    try {
      const res = await fetch(`${base}/debug/syncz`, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      report = (await res.json()) as SyncReport;
    } catch (err) {
      throw new MeshError('WEFT_ERR_XDS_UNAVAILABLE', `weft status: cannot read ${base}/debug/syncz: ${err instanceof Error ? err.message : String(err)}`, { cause: err, details: { admin: base } });
    }
    process.stdout.write(values.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
    return 0;
  },
};
