/**
 * The connection pool of each upstream endpoint (and protocol and TLS requirement), created on
 * first use and closed with the dispatcher. HTTP/1.1 endpoints get a {@link ConnectionPool}
 * (Envoy's HTTP/1 pool: reuse a connection the moment its response completes, at most
 * `max_connections`); HTTP/2 endpoints, where the cluster's upstream protocol says so, an undici
 * `Pool` of multiplexed connections (`allowH2` over TLS, prior-knowledge h2c over plaintext).
 * When the cluster (or, for auto mTLS, the endpoint's `envoy.transport_socket_match` metadata)
 * requires TLS, connections go through the mesh TLS connector (`tls-connector.ts`).
 */
import { Pool } from 'undici';
import type { Client, Dispatcher } from 'undici';
import type { Cluster } from '@weft/xds-client';
import { upstreamTlsOf, PLAINTEXT_UPSTREAM, type UpstreamTlsRequirement } from '@weft/core';
import type { EndpointView } from '../mesh-view.ts';
import { ConnectionPool } from './connection-pool.ts';
import type { PooledRequest } from './connection-pool.ts';
import { createTlsConnector } from './tls-connector.ts';

/** What the endpoint stage needs of a pool (both pool kinds have it). */
export interface EndpointPool {
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler & PooledRequest): boolean;
  readonly closed: boolean;
  readonly destroyed: boolean;
  close(): Promise<void>;
  destroy(err?: Error | null): Promise<void>;
}

/** Envoy's default `max_connections`: the most connections an endpoint's pool opens unless the cluster says fewer. */
const DEFAULT_LIMIT = 1024;

/** The pools of one dispatcher. */
export class EndpointPools {
  readonly #pools = new Map<string, EndpointPool>();
  /** Per-endpoint-object cache of the last pool handed out (skips building the key per request). */
  readonly #byEndpoint = new WeakMap<EndpointView, { scheme: string; cluster: Cluster; pool: EndpointPool }>();
  readonly #extra: Pool.Options;

  constructor(extra: Pool.Options = {}) {
    this.#extra = extra;
  }

  /**
   * The pool for `endpoint` of `cluster` reached over `scheme`; `authority` (`host:port` the
   * caller used) gives the TLS server name when a new pool is built.
   */
  get(scheme: 'http:' | 'https:', endpoint: EndpointView, cluster: Cluster, authority: string): EndpointPool {
    const cached = this.#byEndpoint.get(endpoint);
    if (cached !== undefined && cached.scheme === scheme && cached.cluster === cluster && !cached.pool.destroyed && !cached.pool.closed) return cached.pool;
    const servername = authority.replace(/:\d+$/, '');
    const tls = scheme === 'http:' ? tlsRequirement(endpoint, cluster) : PLAINTEXT_UPSTREAM;
    const pool = tls.mode === 'none' ? this.#lookup(scheme, endpoint, cluster, servername) : this.#lookupTls(tls, endpoint, cluster, servername);
    this.#byEndpoint.set(endpoint, { scheme, cluster, pool });
    return pool;
  }

  #lookup(scheme: 'http:' | 'https:', endpoint: EndpointView, cluster: Cluster, servername: string): EndpointPool {
    const isH2 = cluster.upstreamProtocol === 'http2';
    const key = `${scheme}${endpoint.key}${isH2 ? '|h2' : ''}`;
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      // undici builds the connector: h2c has to be asked for in `connect`.
      const connect = { timeout: cluster.connectTimeoutMs, ...(scheme === 'https:' ? { servername } : isH2 ? { useH2c: true } : {}) } as Pool.Options['connect'];
      pool = this.#create(`${scheme}//${endpoint.key}`, cluster, isH2, connect);
      this.#pools.set(key, pool);
    }
    return pool;
  }

  #lookupTls(tls: UpstreamTlsRequirement, endpoint: EndpointView, cluster: Cluster, servername: string): EndpointPool {
    const isH2 = cluster.upstreamProtocol === 'http2';
    const key = `tls|${tls.key}|${endpoint.key}${isH2 ? '|h2' : ''}`;
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      const connect = createTlsConnector({ requirement: tls, servername, connectTimeoutMs: cluster.connectTimeoutMs, isH2 });
      pool = this.#create(`https://${endpoint.key}`, cluster, isH2, connect);
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** A pool of the right kind for the cluster's protocol, with its connection settings. */
  #create(origin: string, cluster: Cluster, isH2: boolean, connect: Pool.Options['connect']): EndpointPool {
    const { connections, ...extra } = this.#extra;
    const maxConnections = Math.min(cluster.circuitBreakers[0]?.maxConnections ?? DEFAULT_LIMIT, connections ?? DEFAULT_LIMIT);
    const options: Client.Options = {
      ...extra,
      connect,
      ...(cluster.idleTimeoutMs !== undefined ? { keepAliveTimeout: cluster.idleTimeoutMs } : {}),
      ...(cluster.maxRequestsPerConnection !== undefined ? { maxRequestsPerClient: cluster.maxRequestsPerConnection } : {}),
    };
    if (!isH2) return new ConnectionPool(origin, options, maxConnections);
    return new Pool(origin, { ...options, allowH2: true, ...(maxConnections < DEFAULT_LIMIT ? { connections: maxConnections } : {}) }) as unknown as EndpointPool;
  }

  /** Number of pools open (for tests and `/clusters`). */
  get size(): number {
    return this.#pools.size;
  }

  /** Closes every pool gracefully (in-flight requests finish). Idempotent. */
  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
  }

  /** Destroys every pool, failing in-flight requests. Idempotent. */
  async destroy(err?: Error): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.destroy(err ?? null).catch(() => undefined)));
  }
}

/** The TLS `endpoint` of `cluster` needs (plaintext when core never compiled the cluster). */
function tlsRequirement(endpoint: EndpointView, cluster: Cluster): UpstreamTlsRequirement {
  const compiled = upstreamTlsOf(cluster);
  if (compiled === undefined || !compiled.isTlsPossible) return PLAINTEXT_UPSTREAM;
  return compiled.forEndpoint(endpoint.metadata);
}
