/**
 * Builds the service registry of one model generation: services from ServiceEntries and from
 * self-registered workloads, and the workload instances (endpoints) of each service from
 * ServiceEntry inline endpoints, ServiceEntry `workloadSelector` over WorkloadEntries and
 * registered workloads, and the registrations themselves.
 */
import type { ConfigObject, ServiceEntrySpec, ServiceModel, ServicePort, WorkloadEntrySpec, WorkloadInstance, EndpointHealth } from '../model/mesh-model.ts';
import { portProtocol, resolveHostname } from './hostname.ts';
import type { RegisteredWorkload } from './registry.ts';

/** Services by FQDN and their endpoints, ready to go into a MeshModel. */
export interface ServiceIndex {
  services: Map<string, ServiceModel>;
  endpoints: Map<string, WorkloadInstance[]>;
}

/** True when every `selector` label is present with the same value in `labels`. */
export function labelsMatch(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function sePorts(spec: ServiceEntrySpec): ServicePort[] {
  return (spec.ports ?? []).map((p) => {
    const port: ServicePort = { number: p.number, name: p.name ?? `port-${p.number}`, protocol: portProtocol(p.name, p.protocol) };
    if (p.targetPort !== undefined) port.targetPort = p.targetPort;
    return port;
  });
}

function fromWorkloadEntry(we: ConfigObject<WorkloadEntrySpec>, origin: WorkloadInstance['origin'], id: string, probed: HealthOverlay, serviceHostname?: string): WorkloadInstance {
  const s = we.spec;
  const inst: WorkloadInstance = {
    id,
    namespace: we.namespace,
    address: s.address ?? '',
    labels: { ...(s.labels ?? {}) },
    ports: { ...(s.ports ?? {}) },
    serviceAccount: s.serviceAccount ?? 'default',
    locality: s.locality ?? '',
    weight: s.weight && s.weight > 0 ? s.weight : 1,
    health: probed.get(id) ?? 'HEALTHY',
    origin,
  };
  if (serviceHostname !== undefined) inst.serviceHostname = serviceHostname;
  return inst;
}

/** Probed health by endpoint id (empty when nothing is probed). */
type HealthOverlay = ReadonlyMap<string, EndpointHealth>;

function fromRegistration(w: RegisteredWorkload, probed: HealthOverlay): WorkloadInstance {
  const ports: Record<string, number> = {};
  for (const p of w.ports) ports[p.name || `port-${p.number}`] = p.targetPort ?? p.number;
  return {
    id: w.id,
    namespace: w.namespace,
    address: w.address,
    labels: { ...w.labels },
    ports,
    serviceAccount: w.serviceAccount,
    locality: w.locality ?? '',
    weight: 1,
    health: probed.get(w.id) ?? ((w.health ?? 'HEALTHY') as EndpointHealth),
    origin: 'registration',
    ...(w.peerExchange !== undefined ? { peerExchange: w.peerExchange } : {}),
  };
}

/**
 * Builds the index. ServiceEntries win over registrations for the same host (the registered
 * workload becomes an endpoint of the declared service); when two ServiceEntries declare one
 * host, the first in input order wins, as the conflict analyzer reports. Short hosts resolve in
 * the namespace of the resource that wrote them. Probed health (`endpointHealth`, by endpoint id,
 * from the registry) overrides the declared health of the endpoint with that id.
 */
export function buildServiceIndex(
  serviceEntries: readonly ConfigObject<ServiceEntrySpec>[],
  workloadEntries: readonly ConfigObject<WorkloadEntrySpec>[],
  registered: readonly RegisteredWorkload[],
  domainSuffix: string,
  endpointHealth: ReadonlyMap<string, EndpointHealth> = new Map(),
): ServiceIndex {
  const probed: HealthOverlay = endpointHealth;
  const services = new Map<string, ServiceModel>();
  const endpoints = new Map<string, WorkloadInstance[]>();
  const add = (host: string, inst: WorkloadInstance): void => {
    const list = endpoints.get(host) ?? [];
    if (!list.some((e) => e.id === inst.id)) list.push(inst);
    endpoints.set(host, list);
  };
  for (const se of serviceEntries) {
    const spec = se.spec;
    const ports = sePorts(spec);
    for (const rawHost of spec.hosts ?? []) {
      const hostname = resolveHostname(rawHost, se.namespace, domainSuffix);
      if (services.has(hostname)) continue;
      const svc: ServiceModel = {
        hostname,
        namespace: se.namespace,
        ports,
        location: (spec.location ?? 'MESH_EXTERNAL') as ServiceModel['location'],
        resolution: (spec.resolution ?? 'NONE') as ServiceModel['resolution'],
        exportTo: spec.exportTo && spec.exportTo.length > 0 ? [...spec.exportTo] : ['*'],
        origin: 'ServiceEntry',
      };
      const selector = spec.workloadSelector?.labels;
      if (selector) svc.workloadSelector = { ...selector };
      services.set(hostname, svc);
      endpoints.set(hostname, endpoints.get(hostname) ?? []);
      (spec.endpoints ?? []).forEach((ep, i) => {
        const inst: WorkloadInstance = {
          id: `${se.namespace}/${se.name}/${hostname}/${i}`,
          namespace: se.namespace,
          address: ep.address ?? '',
          labels: { ...(ep.labels ?? {}) },
          ports: { ...(ep.ports ?? {}) },
          serviceAccount: ep.serviceAccount ?? 'default',
          locality: ep.locality ?? '',
          weight: ep.weight && ep.weight > 0 ? ep.weight : 1,
          health: probed.get(`${se.namespace}/${se.name}/${hostname}/${i}`) ?? 'HEALTHY',
          origin: 'ServiceEntry',
          serviceHostname: hostname,
        };
        add(hostname, inst);
      });
      if (selector) {
        for (const we of workloadEntries) {
          if (we.namespace === se.namespace && labelsMatch(selector, we.spec.labels ?? {})) {
            add(hostname, fromWorkloadEntry(we, 'WorkloadEntry', `${we.namespace}/${we.name}`, probed));
          }
        }
        for (const w of registered) {
          if (w.namespace === se.namespace && labelsMatch(selector, w.labels)) add(hostname, fromRegistration(w, probed));
        }
      }
    }
  }
  for (const w of registered) {
    const hostname = resolveHostname(w.service, w.namespace, domainSuffix);
    const existing = services.get(hostname);
    if (!existing) {
      services.set(hostname, {
        hostname,
        namespace: w.namespace,
        ports: w.ports.map((p) => ({ ...p, name: p.name || `port-${p.number}`, protocol: portProtocol(p.name, p.protocol) })),
        location: 'MESH_INTERNAL',
        resolution: 'STATIC',
        exportTo: ['*'],
        origin: 'registration',
      });
    } else if (existing.origin === 'registration') {
      // Several instances of one self-registered service: the service serves the union of their ports.
      const merged = [...existing.ports];
      for (const p of w.ports) if (!merged.some((m) => m.number === p.number)) merged.push({ ...p, name: p.name || `port-${p.number}`, protocol: portProtocol(p.name, p.protocol) });
      services.set(hostname, { ...existing, ports: merged });
    }
    add(hostname, fromRegistration(w, probed));
  }
  return { services, endpoints };
}
