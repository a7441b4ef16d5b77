/**
 * The mesh view on the admin port: `/ui` (one page: service graph, routing, sync status, NACKs
 * and config errors) and the JSON it refreshes from — `/debug/graph`, `/debug/syncz` (mounted
 * elsewhere), `/debug/routing` and `/debug/config_status`. The page's files are served from
 * `ui/static/` and cytoscape from the installed npm package (no CDN, no build step); only
 * the listed files are served, each with its content type and a Content-Security-Policy that
 * allows scripts from the admin origin only (inline styles are allowed: cytoscape sets them).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import type { Finding, MeshModel } from '../model/mesh-model.ts';
import type { XdsServer } from '../xds/xds-server.ts';
import { sendJson, sendText, type AdminServer } from '../admin/admin-server.ts';
import { configStatusDocument, createNackLog } from './config-status.ts';
import { createRoutingView } from './routing-view.ts';

/** What the UI routes read. */
export interface UiRoutesOptions {
  /** The config store (model in force and the last rejected change). */
  source: { readonly current: MeshModel; readonly lastRejected: readonly Finding[] };
  xds: Pick<XdsServer, 'syncReport'>;
}

const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Asset {
  file: string;
  contentType: string;
}

function staticFile(name: string): string {
  return fileURLToPath(new URL(`./static/${name}`, import.meta.url));
}

/** URL path → file. Nothing outside this table is served. */
function assetTable(): Map<string, Asset> {
  const require = createRequire(import.meta.url);
  return new Map<string, Asset>([
    ['/ui/', { file: staticFile('index.html'), contentType: 'text/html; charset=utf-8' }],
    ['/ui/static/ui.css', { file: staticFile('ui.css'), contentType: 'text/css; charset=utf-8' }],
    ['/ui/static/ui.js', { file: staticFile('ui.js'), contentType: 'text/javascript; charset=utf-8' }],
    ['/ui/static/render.js', { file: staticFile('render.js'), contentType: 'text/javascript; charset=utf-8' }],
    ['/ui/assets/cytoscape.min.js', { file: require.resolve('cytoscape/dist/cytoscape.min.js'), contentType: 'text/javascript; charset=utf-8' }],
  ]);
}

/**
 * Mounts `/ui`, its static files and `/debug/routing`, `/debug/config_status` on `admin` (see
 * the module comment). Files are read on first request and kept in memory.
 */
export function mountUiRoutes(admin: AdminServer, options: UiRoutesOptions): void {
  const assets = assetTable();
  const cache = new Map<string, Buffer>();
  const routing = createRoutingView();
  const nackLog = createNackLog();

  async function serve(res: ServerResponse, path: string): Promise<void> {
    const asset = assets.get(path);
    if (!asset) return sendText(res, 404, `no UI file ${path}\n`);
    let body = cache.get(path);
    if (!body) {
      body = await readFile(asset.file);
      cache.set(path, body);
    }
    res.writeHead(200, {
      'content-type': asset.contentType,
      'content-length': body.length,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'content-security-policy': CSP,
    });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  admin.route('/ui', (req, res, url) => {
    if (url.pathname === '/ui') {
      res.writeHead(302, { location: '/ui/' });
      res.end();
      return;
    }
    return serve(res, url.pathname);
  }, { isPrefix: true });
  admin.route('/debug/routing', (_req, res) => sendJson(res, 200, routing(options.source.current)));
  admin.route('/debug/config_status', (_req, res) => sendJson(res, 200, configStatusDocument(options.source.current, options.source.lastRejected, options.xds.syncReport(), nackLog)));
}
