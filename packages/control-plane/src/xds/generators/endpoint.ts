/**
 * EDS generator: one ClusterLoadAssignment per cluster (same names as CDS), endpoints grouped
 * by locality (`region/zone/subzone`), each with its health status, load-balancing weight and,
 * like istiod, the workload's identity and labels in `metadata.filter_metadata.istio`
 * (`workload` is `<name>;<namespace>;<canonical service>;<canonical revision>;<cluster id>`)
 * and, for mesh workloads (self-registered Weft workloads and anything labelled
 * `security.istio.io/tlsMode: istio`), `filter_metadata["envoy.transport_socket_match"]` =
 * `{tlsMode: "istio"}` so clients pick mTLS automatically — left off, as istiod does, when the
 * workload's effective PeerAuthentication mode on that port is DISABLE (it does not accept
 * mTLS there, so auto mTLS must send plaintext). Priorities are 0 here; what a client
 * gets is adjusted to its locality by locality-lb.ts.
 */
import { isIP } from 'node:net';
import { TypeUrl } from '@weft/xds-client';
import type { ServiceModel, WorkloadInstance } from '../../model/mesh-model.ts';
import { clusterName } from '../names.ts';
import { effectiveMtls } from './peer-authn.ts';
import type { GeneratedResource, GeneratorContext } from './types.ts';
import { toStruct } from './types.ts';

/** The type URL this generator produces. */
export const ENDPOINT_TYPE_URL = TypeUrl.clusterLoadAssignment;

function portOf(w: WorkloadInstance, svc: ServiceModel, port: number): number {
  const sp = svc.ports.find((p) => p.number === port);
  if (sp && w.ports[sp.name] !== undefined) return w.ports[sp.name] as number;
  return sp?.targetPort ?? port;
}

/** Istio's cluster id when none is configured. */
const CLUSTER_ID = 'Kubernetes';

/** The workload name Istio would report: the WorkloadEntry or ServiceEntry name, or the pod part of a node id. */
function workloadName(w: WorkloadInstance): string {
  if (w.origin === 'registration') {
    // `xds:sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local`
    const pod = w.id.split('~')[2]?.split('.')[0];
    return pod || w.labels['app'] || w.id;
  }
  return w.id.split('/')[1] ?? w.id;
}

/** `filter_metadata.istio.workload` in Istio's format. */
export function istioWorkloadValue(w: WorkloadInstance): string {
  const name = workloadName(w);
  const service = w.labels['service.istio.io/canonical-name'] ?? w.labels['app.kubernetes.io/name'] ?? w.labels['app'] ?? name;
  const revision = w.labels['service.istio.io/canonical-revision'] ?? w.labels['app.kubernetes.io/version'] ?? w.labels['version'] ?? 'latest';
  return `${name};${w.namespace};${service};${revision};${CLUSTER_ID}`;
}

/** True for endpoints that terminate Istio mTLS (see the module comment). */
export function isMeshWorkload(w: WorkloadInstance): boolean {
  return w.origin === 'registration' || w.labels['security.istio.io/tlsMode'] === 'istio';
}

/** True when `w` takes mTLS on `port`: a mesh workload whose PeerAuthentication there is not DISABLE. */
function acceptsMtls(ctx: GeneratorContext, w: WorkloadInstance, port: number): boolean {
  if (!isMeshWorkload(w)) return false;
  const model = ctx.index.model;
  if (model.peerAuthentications.length === 0) return true;
  const workload = { namespace: w.namespace, labels: w.labels, serviceAccount: w.serviceAccount, workloadName: w.id };
  return effectiveMtls(model, workload, port).mode !== 'DISABLE';
}

function locality(l: string): Record<string, string> {
  const [region = '', zone = '', subZone = ''] = l.split('/');
  return { region, zone, sub_zone: subZone };
}

/** Builds the assignment of one cluster. Endpoints that are not IP addresses are skipped (and recorded). */
export function buildLoadAssignment(ctx: GeneratorContext, svc: ServiceModel, port: number, subset: string): GeneratedResource {
  const name = clusterName(svc.hostname, port, subset);
  const byLocality = new Map<string, Record<string, unknown>[]>();
  const weights = new Map<string, number>();
  const seen = new Set<string>();
  for (const w of ctx.index.endpointsFor(svc.hostname, subset)) {
    if (!isIP(w.address)) {
      ctx.omit({ type: 'endpoint', resource: name, field: `endpoint ${w.id}`, reason: `address "${w.address}" is not an IP address (DNS endpoints are not sent over EDS)` });
      continue;
    }
    const endpointPort = portOf(w, svc, port);
    const key = `${w.address}:${endpointPort}`;
    if (seen.has(key)) continue; // the same socket declared twice: send it once
    seen.add(key);
    const list = byLocality.get(w.locality) ?? [];
    list.push({
      endpoint: { address: { socket_address: { address: w.address, port_value: endpointPort } } },
      health_status: w.health,
      load_balancing_weight: { value: Math.max(1, w.weight) },
      metadata: {
        filter_metadata: {
          istio: toStruct({ workload: istioWorkloadValue(w), namespace: w.namespace, service_account: w.serviceAccount, labels: { ...w.labels } }),
          ...(acceptsMtls(ctx, w, endpointPort) ? { 'envoy.transport_socket_match': toStruct({ tlsMode: 'istio' }) } : {}),
          ...(w.peerExchange !== undefined ? { weft: toStruct({ peer_exchange: w.peerExchange }) } : {}),
        },
      },
    });
    byLocality.set(w.locality, list);
    weights.set(w.locality, (weights.get(w.locality) ?? 0) + Math.max(1, w.weight));
  }
  const endpoints = [...byLocality.keys()].sort().map((l) => ({
    locality: locality(l),
    lb_endpoints: byLocality.get(l),
    load_balancing_weight: { value: weights.get(l) ?? 1 },
    priority: 0,
  }));
  return { name, message: { cluster_name: name, endpoints } };
}

/** Every ClusterLoadAssignment of the model, one per cluster {@link generateClusters} makes. */
export function generateEndpoints(ctx: GeneratorContext): GeneratedResource[] {
  const out: GeneratedResource[] = [];
  for (const svc of ctx.index.services) {
    const subsets = ctx.index.destinationRuleFor(svc.hostname)?.spec.subsets ?? [];
    for (const port of svc.ports) {
      out.push(buildLoadAssignment(ctx, svc, port.number, ''));
      for (const s of subsets) out.push(buildLoadAssignment(ctx, svc, port.number, s.name));
    }
  }
  return out;
}
