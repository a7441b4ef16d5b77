/**
 * Istio's host name rules: short names resolve against the namespace of the resource that
 * writes them, names with a dot are taken as fully qualified.
 */

/**
 * Resolves `host` as Istio does for a resource in `namespace`: `reviews` in `shop` becomes
 * `reviews.shop.<domainSuffix>`; a name containing a dot (`reviews.shop.svc.cluster.local`,
 * `payments.example.com`, `*.example.com`) and the wildcard `*` are returned unchanged. The
 * result is lower-cased (DNS names are case-insensitive).
 */
export function resolveHostname(host: string, namespace: string, domainSuffix: string): string {
  const h = host.trim().toLowerCase();
  if (h === '*' || h.includes('.')) return h;
  return `${h}.${namespace}.${domainSuffix}`;
}

/**
 * True when `pattern` (a host or a `*.suffix` wildcard, as in ServiceEntry and Sidecar hosts)
 * covers `host`. `*` covers everything.
 */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

/**
 * The Istio protocol of a port: its explicit `protocol`, else the prefix of its name before the
 * first `-` (`http-web` → HTTP, `grpc` → GRPC), else `TCP`, Istio's fallback.
 */
export function portProtocol(name: string | undefined, protocol: string | undefined): string {
  if (protocol) return protocol.toUpperCase();
  const prefix = (name ?? '').split('-')[0]?.toLowerCase() ?? '';
  const known: Record<string, string> = {
    http: 'HTTP',
    http2: 'HTTP2',
    https: 'HTTPS',
    grpc: 'GRPC',
    'grpc-web': 'GRPC-WEB',
    tls: 'TLS',
    tcp: 'TCP',
    mongo: 'MONGO',
    mysql: 'MYSQL',
    redis: 'REDIS',
    udp: 'UDP',
  };
  return known[prefix] ?? 'TCP';
}
