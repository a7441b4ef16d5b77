/**
 * One keep-alive undici `Pool` per upstream endpoint (and protocol and TLS requirement), created
 * on first use and closed with the dispatcher. HTTP/2 is used when the cluster's upstream
 * protocol says so (`allowH2` over TLS, prior-knowledge h2c over plaintext). When the cluster
 * (or, for auto mTLS, the endpoint's `envoy.transport_socket_match` metadata) requires TLS, the
 * pool connects through the mesh TLS connector (`tls-connector.ts`).
 */
import { Pool } from 'undici';
import type { Cluster } from '@weft/xds-client';
import { upstreamTlsOf, PLAINTEXT_UPSTREAM, type UpstreamTlsRequirement } from '@weft/core';
import type { EndpointView } from '../mesh-view.ts';
import { createTlsConnector } from './tls-connector.ts';

/** Envoy's default circuit-breaker limit; below it `maxConnections` also caps each pool. */
const DEFAULT_LIMIT = 1024;

/** The pools of one dispatcher. */
export class EndpointPools {
  readonly #pools = new Map<string, Pool>();
  /** Per-endpoint-object cache of the last pool handed out (skips building the key per request). */
  readonly #byEndpoint = new WeakMap<EndpointView, { scheme: string; cluster: Cluster; pool: Pool }>();
  readonly #extra: Pool.Options;

  constructor(extra: Pool.Options = {}) {
    this.#extra = extra;
  }

  /**
   * The pool for `endpoint` of `cluster` reached over `scheme`; `authority` (`host:port` the
   * caller used) gives the TLS server name when a new pool is built.
   */
  get(scheme: 'http:' | 'https:', endpoint: EndpointView, cluster: Cluster, authority: string): Pool {
    const cached = this.#byEndpoint.get(endpoint);
    if (cached !== undefined && cached.scheme === scheme && cached.cluster === cluster && !cached.pool.destroyed && !cached.pool.closed) return cached.pool;
    const servername = authority.replace(/:\d+$/, '');
    const tls = scheme === 'http:' ? tlsRequirement(endpoint, cluster) : PLAINTEXT_UPSTREAM;
    const pool = tls.mode === 'none' ? this.#lookup(scheme, endpoint, cluster, servername) : this.#lookupTls(tls, endpoint, cluster, servername);
    this.#byEndpoint.set(endpoint, { scheme, cluster, pool });
    return pool;
  }

  #lookup(scheme: 'http:' | 'https:', endpoint: EndpointView, cluster: Cluster, servername: string): Pool {
    const isH2 = cluster.upstreamProtocol === 'http2';
    const key = `${scheme}${endpoint.key}${isH2 ? '|h2' : ''}`;
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      const maxConnections = cluster.circuitBreakers[0]?.maxConnections ?? DEFAULT_LIMIT;
      const options: Pool.Options = {
        ...this.#extra,
        // Pool builds its own connector: h2c has to be asked for in `connect`.
        connect: { timeout: cluster.connectTimeoutMs, ...(scheme === 'https:' ? { servername } : isH2 ? { useH2c: true } : {}) } as Pool.Options['connect'],
        ...(maxConnections < DEFAULT_LIMIT ? { connections: maxConnections } : {}),
        ...(cluster.idleTimeoutMs !== undefined ? { keepAliveTimeout: cluster.idleTimeoutMs } : {}),
        ...(cluster.maxRequestsPerConnection !== undefined ? { maxRequestsPerClient: cluster.maxRequestsPerConnection } : {}),
        ...(isH2 ? { allowH2: true } : {}),
      };
      pool = new Pool(`${scheme}//${endpoint.key}`, options);
      this.#pools.set(key, pool);
    }
    return pool;
  }

  #lookupTls(tls: UpstreamTlsRequirement, endpoint: EndpointView, cluster: Cluster, servername: string): Pool {
    const isH2 = cluster.upstreamProtocol === 'http2';
    const key = `tls|${tls.key}|${endpoint.key}${isH2 ? '|h2' : ''}`;
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      const maxConnections = cluster.circuitBreakers[0]?.maxConnections ?? DEFAULT_LIMIT;
      pool = new Pool(`https://${endpoint.key}`, {
        ...this.#extra,
        connect: createTlsConnector({ requirement: tls, servername, connectTimeoutMs: cluster.connectTimeoutMs, isH2 }),
        ...(maxConnections < DEFAULT_LIMIT ? { connections: maxConnections } : {}),
        ...(cluster.idleTimeoutMs !== undefined ? { keepAliveTimeout: cluster.idleTimeoutMs } : {}),
        ...(cluster.maxRequestsPerConnection !== undefined ? { maxRequestsPerClient: cluster.maxRequestsPerConnection } : {}),
        ...(isH2 ? { allowH2: true } : {}),
      });
      this.#pools.set(key, pool);
    }
    return pool;
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
  return compiled.forEndpoint((endpoint as EndpointView & { metadata?: Readonly<Record<string, unknown>> }).metadata);
}
