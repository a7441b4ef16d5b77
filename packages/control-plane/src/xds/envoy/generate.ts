/**
 * The resources an Envoy sidecar gets, for one view of the mesh (the sidecar's namespace) and
 * its workload (from its capabilities): the outbound side built on the proxyless generators'
 * clusters, assignments and per-port routes (outbound.ts), the inbound side (inbound.ts), every
 * message checked strictly against Envoy's protos (proto-json.ts). Called by the snapshot for
 * `envoy` clients in place of the proxyless LDS/RDS shapes; other client kinds are untouched.
 *
 * Listener names equal their RouteConfiguration names (`virtualOutbound`, `virtualInbound`),
 * every routed cluster exists and every cluster is EDS with an assignment, so the snapshot's
 * consistency check applies unchanged.
 */
import { TypeUrl } from '@weft/xds-client';
import type { GeneratedResource, GeneratorContext } from '../generators/types.ts';
import { envoyInbound } from './inbound.ts';
import { envoyCluster, outboundListener, outboundRoutes } from './outbound.ts';
import { SDS_IDENTITY_SECRET, SDS_ROOT_SECRET } from './ports.ts';
import { checkEnvoyJson } from './proto-json.ts';

const NO_CERT = 'the sidecar has no certificate (weft envoy-bootstrap --certs-dir adds one)';

/** What the proxyless generators built for the view. */
export interface ProxylessResources {
  clusters: readonly GeneratedResource[];
  assignments: readonly GeneratedResource[];
  routes: readonly GeneratedResource[];
}

/** A type URL and its resources, in the snapshot's order (CDS, EDS, LDS, RDS). */
export type EnvoyResourceList = [typeof TypeUrl.cluster | typeof TypeUrl.clusterLoadAssignment | typeof TypeUrl.listener | typeof TypeUrl.routeConfiguration, GeneratedResource[]][];

function checked(typeUrl: string, list: readonly GeneratedResource[]): GeneratedResource[] {
  return list.map((r) => ({ name: r.name, message: checkEnvoyJson(typeUrl, r.message) }));
}

/**
 * The Envoy resources of the view; see the module comment. Throws `WEFT_ERR_XDS_INVALID` when a
 * message does not fit Envoy's protos (the snapshot build then fails and the last good one serves).
 */
export function generateEnvoyResources(ctx: GeneratorContext, proxyless: ProxylessResources): EnvoyResourceList {
  const workload = ctx.caps.envoy;
  const namespace = workload?.namespace ?? ctx.index.namespace ?? 'default';
  const hasSecrets = workload?.hasStaticSecrets ?? false;
  let needsServedSds = false;
  let hasDroppedAutoMtls = false;
  const clusters = proxyless.clusters.map((c) => {
    const out = envoyCluster(c, hasSecrets);
    needsServedSds ||= out.needsServedSds;
    hasDroppedAutoMtls ||= out.hasDroppedAutoMtls;
    return out.resource;
  });
  const assignments = [...proxyless.assignments];
  const routeConfig = outboundRoutes(ctx, proxyless.routes, namespace);
  const listeners = [outboundListener(ctx, routeConfig)];
  const routes = [routeConfig];
  if (workload?.appPort !== undefined) {
    const inbound = envoyInbound(ctx, { ...workload, appPort: workload.appPort });
    listeners.push(inbound.listener);
    routes.push(inbound.route);
    clusters.push(inbound.cluster);
    assignments.push(inbound.assignment);
    needsServedSds ||= inbound.needsServedSds;
    if (inbound.hasDroppedTlsChain) {
      ctx.omit({ type: 'listener', resource: inbound.listener.name, field: 'PeerAuthentication PERMISSIVE (mTLS chain)', reason: `${NO_CERT}: the inbound port takes plaintext only` });
    }
  }
  if (hasDroppedAutoMtls) {
    ctx.omit({ type: 'cluster', resource: '*', field: 'auto mTLS', reason: `${NO_CERT}: mesh workloads are reached in plaintext` });
  }
  if (needsServedSds) {
    ctx.omit({ type: 'cluster', resource: '*', field: 'mTLS (SDS)', reason: `${NO_CERT}, and the control plane does not serve SDS: TLS that ISTIO_MUTUAL or STRICT requires names secrets ${SDS_IDENTITY_SECRET}/${SDS_ROOT_SECRET} over ADS and its handshakes fail` });
  }
  return [
    [TypeUrl.cluster, checked(TypeUrl.cluster, clusters)],
    [TypeUrl.clusterLoadAssignment, checked(TypeUrl.clusterLoadAssignment, assignments)],
    [TypeUrl.listener, checked(TypeUrl.listener, listeners)],
    [TypeUrl.routeConfiguration, checked(TypeUrl.routeConfiguration, routes)],
  ];
}
