/**
 * The control plane's admin HTTP server (default 127.0.0.1:15014). Routing is a small table
 * that other parts mount handlers on (`/debug/*` from the xDS server, the CA's token endpoint,
 * later `/ui`), exact paths first, then the longest matching prefix.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeshError } from '@weft/xds-client';

/** Handles one request; may be async. Errors become a 500 with the message. */
export type AdminHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** Options of {@link AdminServer.route}. */
export interface AdminRouteOptions {
  /** Methods accepted (default GET and HEAD); others get 405. */
  methods?: readonly string[];
  /** Match every path under `path` (e.g. `/ui`, serving `/ui/…`). */
  isPrefix?: boolean;
}

/** The admin server; see the module comment. */
export interface AdminServer {
  /** Mounts a handler; a later mount of the same path and kind replaces the earlier one. */
  route(path: string, handler: AdminHandler, options?: AdminRouteOptions): void;
  /** Binds and resolves to the bound port (port 0 picks one). */
  listen(host: string, port: number): Promise<number>;
  /** `http://host:port` once listening. */
  readonly url: string | undefined;
  /** Stops accepting and closes idle and active connections. Idempotent. */
  close(): Promise<void>;
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Writes a plain-text response. */
export function sendText(res: ServerResponse, statusCode: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(statusCode, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

interface Route {
  path: string;
  handler: AdminHandler;
  methods: readonly string[];
  isPrefix: boolean;
}

/** Creates an admin server with no routes (see `mountXdsRoutes`). */
export function createAdminServer(): AdminServer {
  const exact = new Map<string, Route>();
  const prefixes: Route[] = [];
  let server: Server | undefined;
  let url: string | undefined;
  let closing: Promise<void> | undefined;

  function find(path: string): Route | undefined {
    return exact.get(path) ?? prefixes.find((r) => path === r.path || path.startsWith(r.path.endsWith('/') ? r.path : `${r.path}/`));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://admin');
    const route = find(u.pathname);
    if (!route) return sendText(res, 404, `no admin endpoint ${u.pathname}\n`);
    if (!route.methods.includes(req.method ?? 'GET')) return sendText(res, 405, `${req.method} not allowed on ${u.pathname}\n`);
    try {
      await route.handler(req, res, u);
    } catch (err) {
      if (!res.headersSent) sendText(res, 500, `${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    }
  }

  return {
    get url() {
      return url;
    },
    route(path, handler, options = {}) {
      const r: Route = { path, handler, methods: options.methods ?? ['GET', 'HEAD'], isPrefix: options.isPrefix ?? false };
      if (r.isPrefix) {
        const i = prefixes.findIndex((p) => p.path === path);
        if (i >= 0) prefixes.splice(i, 1);
        prefixes.push(r);
        prefixes.sort((a, b) => b.path.length - a.path.length);
      } else exact.set(path, r);
    },
    listen(host, port) {
      server = createServer((req, res) => void handle(req, res));
      const s = server;
      return new Promise((resolve, reject) => {
        s.once('error', (err) => reject(new MeshError('WEFT_ERR_USAGE', `admin server cannot listen on ${host}:${port}: ${err.message}`, { cause: err, details: { host, port } })));
        s.listen(port, host, () => {
          const bound = (s.address() as AddressInfo).port;
          url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
          resolve(bound);
        });
      });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (!server?.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
