/**
 * The outbound side of an Envoy sidecar, from what the proxyless generators already built for
 * the same view (so routes, retries, timeouts, faults, weights, load balancing, circuit breakers,
 * outlier detection and TLS are the same ones):
 *
 * - listener `virtualOutbound` on 127.0.0.1:15001, the app's explicit HTTP proxy
 *   (`http_proxy=http://127.0.0.1:15001`: absolute URLs accepted), one HttpConnectionManager
 *   with RDS `virtualOutbound` and the outbound rate limit, fault and router filters;
 * - RouteConfiguration `virtualOutbound`: the virtual hosts of every per-port route
 *   configuration in one, domains `fqdn[:port]`, `name.ns[:port]`, and `name[:port]` for services
 *   of the sidecar's own namespace (a short name means the caller's namespace). A domain already
 *   taken is left out (Envoy refuses duplicates) and recorded;
 * - clusters `outbound|port|subset|host` as the cluster generator made them, TLS over SDS and
 *   without `lrs_server` (Envoy reports load through its bootstrap, not per cluster).
 */
import { TypeUrl } from '@weft/xds-client';
import { listenerFilters } from '../generators/listener.ts';
import type { GeneratedResource, GeneratorContext } from '../generators/types.ts';
import { splitHostPort } from '../names.ts';
import { ENVOY_OUTBOUND_PORT, OUTBOUND_LISTENER } from './ports.ts';
import { socketForEnvoy, type SecretSource } from './sds-tls.ts';

const FAULT_FILTER = 'envoy.filters.http.fault';

/** A cluster as Envoy takes it (see {@link envoyCluster}). */
export interface EnvoyCluster {
  resource: GeneratedResource;
  /** It names SDS secrets over ADS (the sidecar has no certificate; the handshake cannot complete). */
  needsServedSds: boolean;
  /** Auto mTLS was dropped (no certificate): plaintext to mesh workloads. */
  hasDroppedAutoMtls: boolean;
}

/**
 * A cluster as Envoy takes it: TLS with the sidecar's secrets (static ones from its bootstrap
 * when it has them), no `lrs_server`. Without a certificate, auto mTLS (the `tlsMode: istio`
 * socket match) is left out, so mesh workloads are reached in plaintext as by an SDK workload
 * without mTLS; an explicit ISTIO_MUTUAL keeps its TLS and fails closed.
 */
export function envoyCluster(cluster: GeneratedResource, hasSecrets: boolean): EnvoyCluster {
  const source: SecretSource = hasSecrets ? 'static' : 'ads';
  const { lrs_server: _, ...message } = cluster.message;
  let needsServedSds = false;
  let hasDroppedAutoMtls = false;
  if (message.transport_socket) {
    const s = socketForEnvoy(message.transport_socket as Record<string, unknown>, source);
    message.transport_socket = s.socket;
    needsServedSds ||= s.isSds && !hasSecrets;
  }
  if (Array.isArray(message.transport_socket_matches)) {
    const matches: Record<string, unknown>[] = [];
    for (const m of message.transport_socket_matches as Record<string, unknown>[]) {
      const s = socketForEnvoy(m.transport_socket as Record<string, unknown>, source);
      if (s.isSds && !hasSecrets) {
        hasDroppedAutoMtls = true;
        continue;
      }
      matches.push({ ...m, transport_socket: s.socket });
    }
    if (hasDroppedAutoMtls) delete message.transport_socket_matches; // what remains is the plaintext default
    else message.transport_socket_matches = matches;
  }
  return { resource: { name: cluster.name, message }, needsServedSds, hasDroppedAutoMtls };
}

function isShortName(domain: string, hostname: string): boolean {
  const host = splitHostPort(domain)?.host ?? domain;
  return host !== hostname && !host.includes('.');
}

/** The outbound RouteConfiguration: every view's virtual host in one; see the module comment. */
export function outboundRoutes(ctx: GeneratorContext, routes: readonly GeneratedResource[], namespace: string): GeneratedResource {
  const taken = new Set<string>();
  const virtualHosts: Record<string, unknown>[] = [];
  for (const route of routes) {
    for (const vh of (route.message.virtual_hosts as Record<string, unknown>[]) ?? []) {
      const hostname = splitHostPort(String(vh.name))?.host ?? String(vh.name);
      const svcNamespace = ctx.index.model.services.get(hostname)?.namespace;
      const domains: string[] = [];
      for (const d of (vh.domains as string[]) ?? []) {
        if (isShortName(d, hostname) && svcNamespace !== namespace) continue;
        if (taken.has(d)) {
          ctx.omit({ type: 'route', resource: OUTBOUND_LISTENER, field: `virtual host ${String(vh.name)} domain ${d}`, reason: 'another virtual host already has this domain (Envoy refuses duplicates)' });
          continue;
        }
        taken.add(d);
        domains.push(d);
      }
      if (domains.length) virtualHosts.push({ ...vh, domains });
    }
  }
  return { name: OUTBOUND_LISTENER, message: { name: OUTBOUND_LISTENER, virtual_hosts: virtualHosts } };
}

function hasFault(routeConfig: GeneratedResource): boolean {
  for (const vh of (routeConfig.message.virtual_hosts as { routes?: Record<string, unknown>[] }[]) ?? []) {
    for (const r of vh.routes ?? []) if ((r.typed_per_filter_config as Record<string, unknown> | undefined)?.[FAULT_FILTER]) return true;
  }
  return false;
}

/** The outbound listener (explicit HTTP proxy on 127.0.0.1:15001) for `routeConfig`. */
export function outboundListener(ctx: GeneratorContext, routeConfig: GeneratedResource): GeneratedResource {
  const filters = listenerFilters(ctx, '');
  const httpFilters: Record<string, unknown>[] = [];
  if (filters.rateLimit) httpFilters.push(filters.rateLimit);
  if (hasFault(routeConfig)) httpFilters.push({ name: FAULT_FILTER, typed_config: { '@type': TypeUrl.fault } });
  httpFilters.push({ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.router } });
  const hcm = {
    '@type': TypeUrl.httpConnectionManager,
    stat_prefix: `outbound_127.0.0.1_${ENVOY_OUTBOUND_PORT}`,
    codec_type: 'AUTO',
    rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: routeConfig.name },
    // the app sends `GET http://catalog:9080/…` to its proxy
    http_protocol_options: { allow_absolute_url: true },
    http_filters: httpFilters,
    ...(filters.samplingPercent !== undefined ? { tracing: { random_sampling: { value: filters.samplingPercent } } } : {}),
  };
  return {
    name: OUTBOUND_LISTENER,
    message: {
      name: OUTBOUND_LISTENER,
      address: { socket_address: { address: '127.0.0.1', port_value: ENVOY_OUTBOUND_PORT } },
      filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
      traffic_direction: 'OUTBOUND',
    },
  };
}
