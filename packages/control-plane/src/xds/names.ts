/**
 * Resource names as istiod gives them to proxyless gRPC clients, and the short-name resolution
 * the Kubernetes way. Pure string functions; no model access.
 *
 * - listener and route configuration: `host:port` (`catalog.shop.svc.cluster.local:50051`)
 * - cluster and ClusterLoadAssignment: `outbound|port|subset|host` (subset empty for the
 *   whole service: `outbound|50051||catalog.shop.svc.cluster.local`)
 */

/** The parts of an `outbound|port|subset|host` cluster name. */
export interface ClusterKey {
  port: number;
  /** Empty string for the cluster of the whole service. */
  subset: string;
  hostname: string;
}

/** `outbound|port|subset|host`, the cluster (and EDS) name istiod uses. */
export function clusterName(hostname: string, port: number, subset = ''): string {
  return `outbound|${port}|${subset}|${hostname}`;
}

/** Parses a cluster name made by {@link clusterName}; `undefined` for any other shape. */
export function parseClusterName(name: string): ClusterKey | undefined {
  const parts = name.split('|');
  if (parts.length !== 4 || parts[0] !== 'outbound') return undefined;
  const port = Number(parts[1]);
  if (!Number.isInteger(port) || port <= 0 || port > 65535 || !parts[3]) return undefined;
  return { port, subset: parts[2] ?? '', hostname: parts[3] };
}

/** `host:port`, the listener and route configuration name for a service port. */
export function listenerName(hostname: string, port: number): string {
  return `${hostname}:${port}`;
}

/** Splits `host:port`; `undefined` when the port is missing or not a valid port number. */
export function splitHostPort(name: string): { host: string; port: number } | undefined {
  const colon = name.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const port = Number(name.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  return { host: name.slice(0, colon), port };
}

/**
 * Resolves a host the way Istio resolves names written in config: a name without a dot is a
 * service in `namespace` (`reviews` → `reviews.shop.svc.cluster.local`), `name.ns` gets the
 * domain suffix, anything else (an FQDN, `*.example.com`) is returned as is.
 */
export function resolveHost(host: string, namespace: string, domainSuffix: string): string {
  if (host === '*' || host.startsWith('*.')) return host;
  const dots = host.split('.').length - 1;
  if (dots === 0) return `${host}.${namespace}.${domainSuffix}`;
  if (dots === 1) return `${host}.${domainSuffix}`;
  return host;
}

/** True when `pattern` (an FQDN or `*.suffix` wildcard, or `*`) covers `hostname`. */
export function hostMatches(pattern: string, hostname: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return hostname.endsWith(pattern.slice(1));
  return pattern === hostname;
}

/**
 * The names a client may use for a service port, most specific first, as virtual host domains:
 * `fqdn:port`, `fqdn`, and for Kubernetes-style names the `name.ns` and `name` short forms.
 */
export function hostAliases(hostname: string, port: number, domainSuffix: string): string[] {
  const out = [`${hostname}:${port}`, hostname];
  const suffix = `.${domainSuffix}`;
  if (hostname.endsWith(suffix)) {
    const short = hostname.slice(0, -suffix.length); // name.ns
    const name = short.split('.')[0] ?? short;
    out.push(`${short}:${port}`, short, `${name}:${port}`, name);
  }
  return out;
}

/**
 * Prefix of inbound (server) listener names: Istio's `server_listener_resource_name_template`
 * `xds.istio.io/grpc/lds/inbound/%s`, where `%s` is `<ip>:<port>` (`0.0.0.0:50051`,
 * `[::]:50051`) as the serving workload fills it in.
 */
export const INBOUND_LISTENER_PREFIX = 'xds.istio.io/grpc/lds/inbound/';

/** The Istio server listener name template (the bootstrap's `server_listener_resource_name_template`). */
export const INBOUND_LISTENER_TEMPLATE = `${INBOUND_LISTENER_PREFIX}%s`;

/**
 * The address (brackets of an IPv6 literal removed) and port of an inbound listener name;
 * `undefined` for any other name or a malformed `<ip>:<port>`.
 */
export function parseInboundListenerName(name: string): { address: string; port: number } | undefined {
  if (!name.startsWith(INBOUND_LISTENER_PREFIX)) return undefined;
  const hp = splitHostPort(name.slice(INBOUND_LISTENER_PREFIX.length));
  if (!hp || !hp.host) return undefined;
  const address = hp.host.startsWith('[') && hp.host.endsWith(']') ? hp.host.slice(1, -1) : hp.host;
  if (!address || /[\s/]/.test(address)) return undefined;
  return { address, port: hp.port };
}
