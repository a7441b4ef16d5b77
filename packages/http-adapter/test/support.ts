/**
 * Test support: real HTTP upstreams on 127.0.0.1:0 that count what they saw, and a real core
 * `Mesh` fed decoded xDS configs through a fake xds-client (the shape the real one delivers).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cluster, ClusterLoadAssignment, HttpFilter, RouteConfiguration, XdsConfig, XdsConfigWatcher } from '@weft/xds-client';
import { Mesh } from '@weft/core';
import { edsCluster, loadAssignment } from '../../core/src/internal/xds-fixtures.ts';

export { edsCluster, loadAssignment };
export { routeAction, route, routeMatch, virtualHost, routeConfig, headerMatcher } from '../../core/src/internal/xds-fixtures.ts';

/** A request an upstream saw. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** A running upstream. */
export interface Upstream {
  readonly port: number;
  readonly addr: string;
  readonly seen: SeenRequest[];
  readonly server: Server;
  close(): Promise<void>;
}

/** Starts an upstream answering with `respond` (default 200 with its name). */
export async function startUpstream(
  name: string,
  respond?: (req: SeenRequest, res: ServerResponse, n: number) => void,
): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(s);
      if (respond !== undefined) return respond(s, res, seen.length);
      res.setHeader('x-upstream', name);
      res.end(name);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    addr: `127.0.0.1:${port}`,
    seen,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A complete XdsConfig for one listener, with optional HTTP filters before the router. */
export function xdsConfigOf(
  listenerName: string,
  rc: RouteConfiguration,
  clusters: readonly (readonly [Cluster, ClusterLoadAssignment | undefined])[],
  filters: readonly HttpFilter[] = [],
): XdsConfig {
  return {
    listenerName,
    listener: {
      name: listenerName,
      httpConnectionManager: {
        routeSource: { type: 'inline', routeConfig: rc },
        httpFilters: [...filters, { name: 'router', config: { type: 'router' }, isOptional: false }],
        statPrefix: '',
      },
      filterChains: [],
    },
    routeConfig: rc,
    clusters: new Map(clusters.map(([c, e]) => [c.name, { ok: true as const, value: e === undefined ? { cluster: c } : { cluster: c, endpoints: e } }])),
  };
}

/** A fake xds-client: serves the given configs; unknown listeners do not exist. */
export class FakeXds {
  readonly configs = new Map<string, XdsConfig>();
  readonly watchers = new Map<string, XdsConfigWatcher>();
  /** When true, unknown listeners get no answer at all (control plane unreachable). */
  isSilent = false;

  watchXdsConfig(listenerName: string, watcher: XdsConfigWatcher): { cancel(): void } {
    this.watchers.set(listenerName, watcher);
    setImmediate(() => {
      const cfg = this.configs.get(listenerName);
      if (cfg !== undefined) watcher.onUpdate(cfg);
      else if (!this.isSilent) watcher.onResourceDoesNotExist({ typeUrl: 'type.googleapis.com/envoy.config.listener.v3.Listener', name: listenerName });
    });
    return { cancel: () => void this.watchers.delete(listenerName) };
  }

  /** Publishes (or replaces) a config and tells a current watcher. */
  set(cfg: XdsConfig): void {
    this.configs.set(cfg.listenerName, cfg);
    this.watchers.get(cfg.listenerName)?.onUpdate(cfg);
  }
}

/** A real core Mesh over a FakeXds. */
export async function createTestMesh(xds: FakeXds, random?: () => number): Promise<Mesh> {
  return Mesh.create({ xdsClient: xds, random, firstConfigTimeoutMs: 2000 });
}

/** A deterministic uniform [0, 1) source (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
