/**
 * The admin endpoints of the xDS side: `/healthz`, `/readyz` (config loaded and xDS
 * listening), `/metrics` (Prometheus text from the server's registry), `/debug/syncz` and
 * `/debug/config_dump?node=ID`.
 */
import type { Registry } from 'prom-client';
import type { XdsServer } from '../xds/xds-server.ts';
import { sendJson, sendText, type AdminServer } from './admin-server.ts';

/** What the xDS admin routes read. */
export interface XdsRoutesOptions {
  xds: XdsServer;
  /** Extra registries merged into `/metrics` (e.g. the config store's or the CA's). */
  registries?: readonly Registry[];
  /** Extra readiness condition (config loaded); default always ready once xDS listens. */
  isConfigReady?: () => boolean;
}

/** Mounts the routes of the module comment on `admin`. */
export function mountXdsRoutes(admin: AdminServer, options: XdsRoutesOptions): void {
  const { xds } = options;
  admin.route('/healthz', (_req, res) => sendText(res, 200, 'ok\n'));
  admin.route('/readyz', (_req, res) => {
    const isReady = xds.address !== undefined && (options.isConfigReady?.() ?? true);
    sendText(res, isReady ? 200 : 503, isReady ? 'ready\n' : 'not ready\n');
  });
  admin.route('/metrics', async (_req, res) => {
    const parts = [await xds.metrics.registry.metrics()];
    for (const r of options.registries ?? []) parts.push(await r.metrics());
    sendText(res, 200, parts.join('\n'), xds.metrics.registry.contentType);
  });
  admin.route('/debug/syncz', (_req, res) => sendJson(res, 200, xds.syncReport()));
  admin.route('/debug/config_dump', (_req, res, url) => {
    const node = url.searchParams.get('node');
    if (!node) return sendJson(res, 400, { error: 'query parameter "node" (a connected node id) is required', nodes: xds.connections().map((c) => c.nodeId) });
    const dumps = xds.configDump(node);
    if (dumps.length === 0) return sendJson(res, 404, { error: `node "${node}" is not connected`, nodes: xds.connections().map((c) => c.nodeId) });
    sendJson(res, 200, dumps.length === 1 ? dumps[0] : dumps);
  });
}
