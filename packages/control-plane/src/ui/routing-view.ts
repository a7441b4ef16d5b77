/**
 * `/debug/routing`: each service's effective routing as the generators apply it (the same
 * {@link indexModel} lookups): the VirtualService in force with its HTTP/TCP routes
 * (matches, weighted destinations, timeouts, retries, faults, …), the DestinationRule in force
 * with its subsets (and how many of their endpoints are healthy) and traffic policy. Built once
 * per model generation; the document is plain config data and must be rendered as text.
 */
import type { MeshModel, WorkloadInstance } from '../model/mesh-model.ts';
import { indexModel } from '../xds/mesh-index.ts';

/** One destination of a route. */
export interface RouteDestination {
  host: string;
  subset: string;
  port: number | null;
  /** Percent of the route's traffic (100 for a single destination). */
  weight: number;
}

/** One route of the VirtualService in force. */
export interface RouteView {
  name: string;
  protocol: 'http' | 'tcp' | 'tls';
  /** The route's `match` list as written (empty: matches everything). */
  match: unknown[];
  destinations: RouteDestination[];
  /** Other route fields in force (timeout, retries, fault, mirror, rewrite, redirect, headers, …). */
  policies: Record<string, unknown>;
}

/** Endpoint counts. */
export interface EndpointCounts {
  total: number;
  healthy: number;
}

/** One service of `/debug/routing`. */
export interface ServiceRouting {
  hostname: string;
  namespace: string;
  origin: string;
  ports: { number: number; name: string; protocol: string }[];
  endpoints: EndpointCounts;
  virtualService: { id: string; routes: RouteView[] } | null;
  destinationRule: { id: string; trafficPolicy: unknown; subsets: { name: string; labels: Record<string, string>; trafficPolicy: unknown; endpoints: EndpointCounts }[] } | null;
}

/** The `/debug/routing` document. */
export interface RoutingDocument {
  generation: number;
  version: string;
  services: ServiceRouting[];
}

function counts(list: readonly WorkloadInstance[]): EndpointCounts {
  return { total: list.length, healthy: list.filter((e) => e.health === 'HEALTHY' || e.health === 'UNKNOWN').length };
}

type RawRoute = Record<string, unknown> & { name?: string; match?: unknown[]; route?: { destination?: { host?: string; subset?: string; port?: { number?: number } }; weight?: number }[] };

function routeView(r: RawRoute, protocol: RouteView['protocol'], index: number, resolve: (h: string) => string): RouteView {
  const list = r.route ?? [];
  const destinations = list.map((d) => ({
    host: resolve(d.destination?.host ?? ''),
    subset: d.destination?.subset ?? '',
    port: d.destination?.port?.number ?? null,
    weight: list.length === 1 ? (d.weight ?? 100) : (d.weight ?? 0),
  }));
  const policies: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (k !== 'name' && k !== 'match' && k !== 'route' && v !== undefined) policies[k] = v;
  return { name: r.name ?? `${protocol}[${index}]`, protocol, match: r.match ?? [], destinations, policies };
}

/** Builds the document for `model`. */
export function routingDocument(model: MeshModel): RoutingDocument {
  const index = indexModel(model);
  const services: ServiceRouting[] = [];
  for (const svc of index.services) {
    const vs = index.virtualServiceFor(svc.hostname);
    const dr = index.destinationRuleFor(svc.hostname);
    let virtualService: ServiceRouting['virtualService'] = null;
    if (vs) {
      const spec = vs.spec as unknown as { http?: RawRoute[]; tcp?: RawRoute[]; tls?: RawRoute[] };
      const resolve = (h: string): string => (h ? index.resolve(h, vs.namespace) : h);
      virtualService = {
        id: vs.id,
        routes: [
          ...(spec.http ?? []).map((r, i) => routeView(r, 'http', i, resolve)),
          ...(spec.tcp ?? []).map((r, i) => routeView(r, 'tcp', i, resolve)),
          ...(spec.tls ?? []).map((r, i) => routeView(r, 'tls', i, resolve)),
        ],
      };
    }
    let destinationRule: ServiceRouting['destinationRule'] = null;
    if (dr) {
      const spec = dr.spec as unknown as { trafficPolicy?: unknown; subsets?: { name: string; labels?: Record<string, string>; trafficPolicy?: unknown }[] };
      destinationRule = {
        id: dr.id,
        trafficPolicy: spec.trafficPolicy ?? null,
        subsets: (spec.subsets ?? []).map((s) => ({ name: s.name, labels: { ...(s.labels ?? {}) }, trafficPolicy: s.trafficPolicy ?? null, endpoints: counts(index.endpointsFor(svc.hostname, s.name)) })),
      };
    }
    services.push({
      hostname: svc.hostname,
      namespace: svc.namespace,
      origin: svc.origin,
      ports: svc.ports.map((p) => ({ number: p.number, name: p.name, protocol: p.protocol })),
      endpoints: counts(index.endpointsFor(svc.hostname, '')),
      virtualService,
      destinationRule,
    });
  }
  return { generation: model.generation, version: model.version, services };
}

/** Memoizes {@link routingDocument} per model generation. */
export function createRoutingView(): (model: MeshModel) => RoutingDocument {
  let last: { model: MeshModel; doc: RoutingDocument } | undefined;
  return (model) => {
    if (last?.model !== model) last = { model, doc: routingDocument(model) };
    return last.doc;
  };
}
