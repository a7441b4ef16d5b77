/**
 * Builders of {@link MeshModel} literals for the xDS tests, and a mutable model source standing
 * in for the config store. Test support only: nothing in the product imports this file.
 */
import type { ConfigKind, ConfigObject, MeshModel, ServiceModel, ServicePort, WorkloadInstance } from '../../model/mesh-model.ts';
import type { ModelSource } from '../xds-server.ts';
import type { RegistryLike, SelfRegisteredWorkload } from '../self-registration.ts';

/** A service of the fixture: FQDN, ports and endpoints. */
export interface FixtureService {
  hostname: string;
  namespace?: string;
  ports: (Partial<ServicePort> & { number: number })[];
  endpoints?: (Partial<WorkloadInstance> & { address: string })[];
}

/** Inputs of {@link makeModel}. */
export interface FixtureInput {
  generation?: number;
  services: FixtureService[];
  virtualServices?: { name: string; namespace: string; spec: unknown }[];
  destinationRules?: { name: string; namespace: string; spec: unknown }[];
}

function configObject<S>(kind: ConfigKind, o: { name: string; namespace: string; spec: unknown }): ConfigObject<S> {
  return { kind, apiVersion: 'networking.istio.io/v1', name: o.name, namespace: o.namespace, labels: {}, annotations: {}, spec: o.spec as S, source: { file: 'fixture.yaml', line: 1, column: 1 } };
}

/** A complete MeshModel from a compact description. */
export function makeModel(input: FixtureInput): MeshModel {
  const services = new Map<string, ServiceModel>();
  const endpoints = new Map<string, WorkloadInstance[]>();
  for (const s of input.services) {
    const namespace = s.namespace ?? s.hostname.split('.')[1] ?? 'default';
    services.set(s.hostname, {
      hostname: s.hostname, namespace, location: 'MESH_INTERNAL', resolution: 'STATIC', exportTo: ['*'], origin: 'ServiceEntry',
      ports: (s.ports as (Partial<ServicePort> & { number: number })[]).map((p) => ({ name: p.name ?? `grpc-${p.number}`, protocol: p.protocol ?? 'GRPC', number: p.number, ...(p.targetPort ? { targetPort: p.targetPort } : {}) })),
    });
    endpoints.set(s.hostname, (s.endpoints ?? []).map((e, i) => ({
      id: e.id ?? `${s.hostname}-${i}`, namespace, address: e.address, labels: e.labels ?? {}, ports: e.ports ?? {},
      serviceAccount: e.serviceAccount ?? 'default', locality: e.locality ?? '', weight: e.weight ?? 1, health: e.health ?? 'HEALTHY', origin: e.origin ?? 'ServiceEntry',
      ...(e.peerExchange !== undefined ? { peerExchange: e.peerExchange } : {}),
    })));
  }
  const generation = input.generation ?? 1;
  return {
    generation, version: `v${generation}`, rootNamespace: 'istio-system', trustDomain: 'cluster.local', domainSuffix: 'svc.cluster.local',
    services, endpoints,
    virtualServices: (input.virtualServices ?? []).map((o) => configObject('VirtualService', o)),
    destinationRules: (input.destinationRules ?? []).map((o) => configObject('DestinationRule', o)),
    gateways: [], serviceEntries: [], workloadEntries: [], sidecars: [], envoyFilters: [], peerAuthentications: [], authorizationPolicies: [], findings: [],
  };
}

/** A model source whose model the test replaces; records registry calls. */
export interface FakeSource extends ModelSource {
  set(model: MeshModel): void;
  readonly registered: Map<string, SelfRegisteredWorkload>;
  readonly events: string[];
  /** The last health the registrar set per workload id (readiness). */
  readonly health: Map<string, string>;
}

/** Creates a {@link FakeSource} starting at `model`. */
export function fakeSource(model: MeshModel): FakeSource {
  let current = model;
  const listeners = new Set<(m: MeshModel) => void>();
  const registered = new Map<string, SelfRegisteredWorkload>();
  const events: string[] = [];
  const health = new Map<string, string>();
  const registry: RegistryLike = {
    register(w) {
      registered.set(w.id, w);
      if (w.health) health.set(w.id, w.health);
      events.push(`register ${w.id}`);
    },
    unregister(id) {
      registered.delete(id);
      events.push(`unregister ${id}`);
    },
    setHealth(id, h) {
      if (registered.has(id)) health.set(id, h);
    },
  };
  return {
    get current() {
      return current;
    },
    registry,
    registered,
    events,
    health,
    set(m) {
      current = m;
      for (const l of listeners) l(m);
    },
    onChange(l) {
      listeners.add(l);
      return { [Symbol.dispose]: () => void listeners.delete(l) };
    },
  };
}
