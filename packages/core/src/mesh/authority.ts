/**
 * Turning what an application writes (`reviews:9080`, `reviews.shop:9080`, an FQDN, a bare
 * host) into the listener name an xDS server publishes for it (`host:port`, istiod style):
 * a name without dots gets `.<namespace>.svc.<clusterDomain>`; `name.ns.svc` gets
 * `.<clusterDomain>`; anything else with a dot is taken as fully qualified. A missing port is
 * the scheme default the caller passes (80 unless told).
 */
import { MeshError, ErrorCode } from '@weft/xds-client';

/** Options of {@link listenerNameFor}. */
export interface AuthorityOptions {
  /** Namespace for short names; default `default`. */
  namespace?: string;
  /** Kubernetes cluster domain; default `cluster.local`. */
  clusterDomain?: string;
  /** Port when the authority has none; default 80. */
  defaultPort?: number;
}

/** Splits `host[:port]` / `[v6][:port]`; throws `WEFT_ERR_UNKNOWN_HOST` for an unusable authority. */
export function splitAuthority(authority: string, defaultPort = 80): { host: string; port: number } {
  const a = authority.trim().toLowerCase();
  let host = a;
  let portText: string | undefined;
  if (a.startsWith('[')) {
    const close = a.indexOf(']');
    host = a.slice(0, close + 1);
    if (a.charCodeAt(close + 1) === 58) portText = a.slice(close + 2);
  } else {
    const colon = a.lastIndexOf(':');
    if (colon >= 0 && a.indexOf(':') === colon) {
      host = a.slice(0, colon);
      portText = a.slice(colon + 1);
    }
  }
  const port = portText === undefined ? defaultPort : Number(portText);
  if (host === '' || host === '[]' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new MeshError(ErrorCode.unknownHost, `invalid authority ${JSON.stringify(authority)}: expected host or host:port`, { details: { host: authority } });
  }
  return { host, port };
}

/** The xDS listener name to watch for `authority`; see the module comment. */
export function listenerNameFor(authority: string, options: AuthorityOptions = {}): string {
  const { host, port } = splitAuthority(authority, options.defaultPort ?? 80);
  const domain = options.clusterDomain ?? 'cluster.local';
  let fqdn = host;
  if (!host.startsWith('[') && !/^\d+\.\d+\.\d+\.\d+$/.test(host)) {
    if (!host.includes('.')) fqdn = `${host}.${options.namespace ?? 'default'}.svc.${domain}`;
    else if (host.endsWith('.svc')) fqdn = `${host}.${domain}`;
  }
  return `${fqdn}:${port}`;
}
