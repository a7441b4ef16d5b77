/**
 * A minimal state-of-the-world ADS server on 127.0.0.1:0 serving one listener → route →
 * cluster → endpoints chain for a static target, built on `adsServiceDefinition()` of
 * `@weft/xds-client`. For the side-by-side benchmark and interop tests only (the product's
 * control plane is `weft control-plane`). Delta ADS answers UNIMPLEMENTED, so clients use SotW.
 */
import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition, packAny, TypeUrl } from '@weft/xds-client';
import type { AnyMessage, DiscoveryRequest, DiscoveryResponse } from '@weft/xds-client';

/** Options of {@link startTinyAdsServer}. */
export interface TinyAdsOptions {
  /** Listener name (`host:port`). */
  listenerName: string;
  /** Backend addresses (`127.0.0.1:port`). */
  endpoints: readonly string[];
}

/** A running ADS server. */
export interface TinyAdsServer {
  readonly address: string;
  /** An A27 bootstrap (JSON text) pointing at this server. */
  readonly bootstrap: string;
  close(): Promise<void>;
}

function resourcesFor(o: TinyAdsOptions): Map<string, Map<string, AnyMessage>> {
  const routeName = `route-${o.listenerName}`;
  const clusterName = `cluster-${o.listenerName}`;
  const edsName = `eds-${o.listenerName}`;
  const ads = { ads: {}, resource_api_version: 'V3' };
  const hcm = packAny(TypeUrl.httpConnectionManager, {
    rds: { config_source: ads, route_config_name: routeName },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: packAny(TypeUrl.router, {}) }],
  });
  const byType = new Map<string, Map<string, AnyMessage>>();
  byType.set(TypeUrl.listener, new Map([[o.listenerName, packAny(TypeUrl.listener, { name: o.listenerName, api_listener: { api_listener: hcm } })]]));
  byType.set(
    TypeUrl.routeConfiguration,
    new Map([[routeName, packAny(TypeUrl.routeConfiguration, { name: routeName, virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: clusterName } }] }] })]]),
  );
  byType.set(
    TypeUrl.cluster,
    new Map([[clusterName, packAny(TypeUrl.cluster, { name: clusterName, type: 'EDS', eds_cluster_config: { eds_config: ads, service_name: edsName }, lb_policy: 'ROUND_ROBIN' })]]),
  );
  const lbEndpoints = o.endpoints.map((addr) => {
    const i = addr.lastIndexOf(':');
    return { endpoint: { address: { socket_address: { address: addr.slice(0, i), port_value: Number(addr.slice(i + 1)) } } }, load_balancing_weight: { value: 1 } };
  });
  byType.set(
    TypeUrl.clusterLoadAssignment,
    new Map([[edsName, packAny(TypeUrl.clusterLoadAssignment, { cluster_name: edsName, endpoints: [{ locality: { region: 'r', zone: 'z' }, lb_endpoints: lbEndpoints, load_balancing_weight: { value: 1 } }] })]]),
  );
  return byType;
}

/** Starts the server. */
export async function startTinyAdsServer(options: TinyAdsOptions): Promise<TinyAdsServer> {
  const byType = resourcesFor(options);
  const server = new grpc.Server();
  let nonce = 0;
  server.addService(adsServiceDefinition(), {
    StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => {
      const sent = new Map<string, string>();
      call.on('data', (req: DiscoveryRequest) => {
        const typeUrl = req.type_url ?? '';
        const names = [...(req.resource_names ?? [])].sort();
        const key = names.join('\n');
        if (sent.get(typeUrl) === key) return; // an ACK/NACK of what we sent
        sent.set(typeUrl, key);
        const all = byType.get(typeUrl) ?? new Map<string, AnyMessage>();
        const resources = names.length === 0 ? [...all.values()] : names.flatMap((n) => (all.has(n) ? [all.get(n)!] : []));
        call.write({ version_info: '1', type_url: typeUrl, nonce: String(++nonce), resources });
      });
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
    DeltaAggregatedResources: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'delta ADS not served by the tiny ADS server' });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const address = `127.0.0.1:${port}`;
  const bootstrap = JSON.stringify({
    xds_servers: [{ server_uri: address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: 'bench~127.0.0.1~bench.default~default.svc.cluster.local', cluster: 'bench', locality: {}, metadata: {} },
  });
  return {
    address,
    bootstrap,
    close: () =>
      new Promise((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}
