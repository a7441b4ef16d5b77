/**
 * The per-workload admin server (`WEFT_ADMIN_PORT`, bound to 127.0.0.1 unless
 * `WEFT_ADMIN_ADDRESS` says otherwise), node:http only:
 *
 * - `/metrics`, `/stats/prometheus` — the Istio metrics (Prometheus text format)
 * - `/config_dump` — the xds-client's `dump()` (resources as received, CSDS-like JSON)
 * - `/clusters` — per cluster of every watched host: endpoints with health, ejection, active requests
 * - `/ready` — 200 once the first config arrived, else 503; `/healthz` — 200 while running
 *
 * Requests to it are never counted as mesh traffic (the server is marked for the inbound
 * telemetry to skip). `close()` is idempotent and the server never keeps the process alive.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeshError, ErrorCode } from '@weft/xds-client';
import type { MeshTelemetry } from '../telemetry/mesh-telemetry.ts';
import type { HostSnapshot } from '../mesh/host-snapshot.ts';

/** Symbol set on servers whose requests are not mesh traffic (admin, health). */
export const UNMESHED_SERVER = Symbol.for('weft.unmeshedServer');

/** The slice of the Mesh the admin server reads. */
export interface AdminMeshView {
  hosts(): ReadonlyMap<string, HostSnapshot | undefined>;
}

/** Options of {@link startAdminServer}. */
export interface AdminServerOptions {
  readonly telemetry?: MeshTelemetry;
  readonly mesh?: AdminMeshView;
  /** The xds-client's `dump()` for `/config_dump`. */
  readonly configDump?: () => unknown;
  /** Readiness; default: true once any watched host has a snapshot. */
  readonly isReady?: () => boolean;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Bind address; default `127.0.0.1`. */
  readonly address?: string;
}

/** A running admin server. */
export interface AdminServerHandle {
  /** The bound port. */
  readonly port: number;
  /** `http://address:port`. */
  readonly url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function clusters(mesh: AdminMeshView | undefined): unknown {
  const out: Record<string, unknown> = {};
  if (mesh === undefined) return { clusters: out };
  for (const [listener, snap] of mesh.hosts()) {
    if (snap === undefined) continue;
    for (const [name, c] of snap.clusters) {
      if (out[name] !== undefined) continue;
      if (c instanceof Error) {
        out[name] = { listener, error: { code: (c as MeshError).code, message: c.message } };
        continue;
      }
      out[name] = {
        listener,
        lbPolicy: c.spec.lbPolicy,
        endpoints: (c.balancer?.endpoints ?? []).map((e) => ({
          address: e.key,
          hostname: e.hostname,
          locality: e.locality,
          priority: e.priority,
          weight: e.weight,
          healthStatus: e.healthStatus,
          isEjected: e.state.isEjected,
          activeRequests: e.state.activeRequests,
        })),
      };
    }
  }
  return { clusters: out };
}

function isAnyHostReady(mesh: AdminMeshView | undefined): boolean {
  if (mesh === undefined) return false;
  for (const snap of mesh.hosts().values()) if (snap !== undefined) return true;
  return false;
}

/**
 * Starts the admin server; resolves once it listens. Rejects with a `MeshError`
 * `WEFT_ERR_CONFIG_INVALID` when the address/port cannot be bound.
 */
export function startAdminServer(options: AdminServerOptions): Promise<AdminServerHandle> {
  const address = options.address ?? '127.0.0.1';
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res);
  });
  (server as unknown as Record<symbol, boolean>)[UNMESHED_SERVER] = true;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
      switch (path) {
        case '/metrics':
        case '/stats/prometheus': {
          const reg = options.telemetry?.metrics.registry;
          if (reg === undefined) return send(res, 200, '');
          return send(res, 200, await reg.metrics(), reg.contentType);
        }
        case '/config_dump':
          return send(res, 200, JSON.stringify(options.configDump?.() ?? {}, null, 2) + '\n', 'application/json');
        case '/clusters':
          return send(res, 200, JSON.stringify(clusters(options.mesh), null, 2) + '\n', 'application/json');
        case '/ready': {
          const ok = options.isReady?.() ?? isAnyHostReady(options.mesh);
          return send(res, ok ? 200 : 503, ok ? 'LIVE\n' : 'NOT READY: no config received yet\n');
        }
        case '/healthz':
          return send(res, 200, 'OK\n');
        case '/':
          return send(res, 200, 'weft workload admin: /metrics /stats/prometheus /config_dump /clusters /ready /healthz\n');
        default:
          return send(res, 404, `no admin endpoint ${path}\n`);
      }
    } catch (err) {
      send(res, 500, `${(err as Error).message}\n`);
    }
  };
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(new MeshError(ErrorCode.configInvalid, `cannot start the workload admin server on ${address}:${options.port}: ${err.message}`, { cause: err, details: { address, port: options.port } })),
    );
    server.listen(options.port, address, () => {
      server.unref();
      const port = (server.address() as AddressInfo).port;
      let closed: Promise<void> | undefined;
      resolve({
        port,
        url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
        close: () =>
          (closed ??= new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          })),
      });
    });
  });
}

/**
 * The admin server `WEFT_ADMIN_PORT` / `WEFT_ADMIN_ADDRESS` ask for, or undefined when
 * `WEFT_ADMIN_PORT` is unset. Rejects with `WEFT_ERR_CONFIG_INVALID` on a bad port value.
 */
export async function startAdminServerFromEnv(env: Readonly<Record<string, string | undefined>>, options: Omit<AdminServerOptions, 'port' | 'address'>): Promise<AdminServerHandle | undefined> {
  const raw = env['WEFT_ADMIN_PORT']?.trim();
  if (raw === undefined || raw === '' || raw === 'off') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new MeshError(ErrorCode.configInvalid, `WEFT_ADMIN_PORT must be a port number (0–65535), got "${raw}"`, { details: { variable: 'WEFT_ADMIN_PORT', value: raw } });
  }
  return startAdminServer({ ...options, port, address: env['WEFT_ADMIN_ADDRESS']?.trim() || '127.0.0.1' });
}
