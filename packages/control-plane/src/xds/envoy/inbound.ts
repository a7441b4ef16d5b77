/**
 * The inbound side of an Envoy sidecar: listener `virtualInbound` on 0.0.0.0:15006, where peers
 * reach the app (the sidecar registers its workload with that port as the endpoint's target
 * port). Its filter chains are the ones the inbound-listener generator builds for proxyless
 * servers — PeerAuthentication mode (STRICT: mTLS chain; PERMISSIVE: mTLS chain matched by the
 * TLS inspector plus plaintext; DISABLE: plaintext), AuthorizationPolicy RBAC filters, inbound
 * local rate limit — with two changes Envoy needs: TLS from the sidecar's secrets (sds-tls.ts;
 * without a certificate a PERMISSIVE port is plaintext only, a STRICT one fails closed), and RDS
 * `virtualInbound` routing everything to cluster `inbound|PORT||` instead of gRPC's
 * `non_forwarding_action`. That cluster (EDS, so the snapshot's consistency rules hold) has one
 * endpoint, the app on 127.0.0.1:PORT.
 */
import { TypeUrl, type AnyMessage } from '@weft/xds-client';
import { buildInboundListener } from '../generators/inbound-listener.ts';
import type { GeneratedResource, GeneratorContext } from '../generators/types.ts';
import { ENVOY_INBOUND_PORT, INBOUND_LISTENER, inboundClusterName } from './ports.ts';
import { TLS_INSPECTOR_TYPE_URL } from './proto-json.ts';
import { downstreamSdsSocket, unpackPlain, type SecretSource } from './sds-tls.ts';
import type { EnvoyWorkload } from './workload.ts';

/** The inbound listener, route configuration, cluster and assignment, and what the missing certificate changed. */
export interface EnvoyInbound {
  listener: GeneratedResource;
  route: GeneratedResource;
  cluster: GeneratedResource;
  assignment: GeneratedResource;
  /** STRICT without a certificate: the mTLS chain names SDS over ADS and fails closed. */
  needsServedSds: boolean;
  /** PERMISSIVE without a certificate: the mTLS chain was left out (plaintext only). */
  hasDroppedTlsChain: boolean;
}

/** Builds the inbound resources of `workload` (which has an app port). */
export function envoyInbound(ctx: GeneratorContext, workload: EnvoyWorkload & { appPort: number }): EnvoyInbound {
  const cluster = inboundClusterName(workload.appPort);
  // policies see the app's port (portLevelMtls keys on it), as istiod's inbound chains do
  const proxyless = buildInboundListener({ model: ctx.index.model, workload, name: INBOUND_LISTENER, address: '0.0.0.0', port: workload.appPort, caps: ctx.caps, omit: ctx.omit });
  const source: SecretSource = workload.hasStaticSecrets ? 'static' : 'ads';
  let needsServedSds = false;
  let hasDroppedTlsChain = false;
  let proxylessChains = proxyless.message.filter_chains as Record<string, unknown>[];
  if (!workload.hasStaticSecrets && proxyless.mode === 'PERMISSIVE') {
    proxylessChains = proxylessChains.filter((c) => !c.transport_socket);
    hasDroppedTlsChain = true;
  }
  const chains = proxylessChains.map((chain) => {
    const filters = (chain.filters as { name: string; typed_config: AnyMessage }[]).map((f) => {
      const { route_config: _, ...hcm } = unpackPlain(f.typed_config);
      return {
        name: f.name,
        typed_config: {
          '@type': TypeUrl.httpConnectionManager,
          ...hcm,
          stat_prefix: `inbound_0.0.0.0_${workload.appPort}`,
          rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: INBOUND_LISTENER },
        },
      };
    });
    const out: Record<string, unknown> = { ...chain, filters };
    if (chain.transport_socket) {
      out.transport_socket = downstreamSdsSocket(source);
      needsServedSds ||= !workload.hasStaticSecrets;
    }
    return out;
  });
  const hasTlsMatch = chains.some((c) => (c.filter_chain_match as { transport_protocol?: string } | undefined)?.transport_protocol === 'tls');
  const route = {
    name: INBOUND_LISTENER,
    virtual_hosts: [{ name: cluster, domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster, timeout: { seconds: 0, nanos: 0 } } }] }],
  };
  return {
    listener: {
      name: INBOUND_LISTENER,
      message: {
        name: INBOUND_LISTENER,
        address: { socket_address: { address: '0.0.0.0', port_value: ENVOY_INBOUND_PORT } },
        ...(hasTlsMatch ? { listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TLS_INSPECTOR_TYPE_URL } }] } : {}),
        filter_chains: chains,
        traffic_direction: 'INBOUND',
      },
    },
    route: { name: INBOUND_LISTENER, message: route },
    cluster: {
      name: cluster,
      message: { name: cluster, type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: cluster }, connect_timeout: { seconds: 10, nanos: 0 } },
    },
    assignment: {
      name: cluster,
      message: { cluster_name: cluster, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: workload.appPort } } } }] }] },
    },
    needsServedSds,
    hasDroppedTlsChain,
  };
}
