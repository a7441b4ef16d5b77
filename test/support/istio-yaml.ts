/**
 * Istio YAML builders for the end-to-end tests: the same ServiceEntry / DestinationRule /
 * VirtualService shapes recur in many tests (a service with versioned loopback endpoints, one
 * subset per version, a weighted split), so they are written once here. Each returns one YAML
 * document; join them with {@link yamlDocuments}.
 */

/** A loopback endpoint of a ServiceEntry: its port and labels. */
export interface LoopbackEndpoint {
  port: number;
  labels?: Readonly<Record<string, string>>;
}

/** Options of {@link serviceEntryYaml}. */
export interface ServiceEntryOptions {
  name: string;
  namespace: string;
  port: number;
  /** Istio protocol of the port; default HTTP. */
  protocol?: string;
  /** Port name; default the protocol in lower case. */
  portName?: string;
  endpoints: readonly LoopbackEndpoint[];
}

function flowMap(labels: Readonly<Record<string, string>>): string {
  return `{ ${Object.entries(labels)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')} }`;
}

/** A MESH_INTERNAL, STATIC ServiceEntry for `<name>.<namespace>.svc.cluster.local` on 127.0.0.1. */
export function serviceEntryYaml(o: ServiceEntryOptions): string {
  const protocol = o.protocol ?? 'HTTP';
  const portName = o.portName ?? protocol.toLowerCase();
  const endpoints = o.endpoints.map((e) => `    - { address: 127.0.0.1, ports: { ${portName}: ${e.port} }${e.labels ? `, labels: ${flowMap(e.labels)}` : ''} }`);
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${o.name}, namespace: ${o.namespace} }
spec:
  hosts: [${o.name}.${o.namespace}.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: ${o.port}, name: ${portName}, protocol: ${protocol} }]
  endpoints:
${endpoints.join('\n')}
`;
}

/** A DestinationRule for `name` with one subset per version (`version: <v>` label). */
export function versionSubsetsYaml(name: string, namespace: string, versions: readonly string[]): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  host: ${name}
  subsets:
${versions.map((v) => `    - { name: ${v}, labels: { version: ${v} } }`).join('\n')}
`;
}

/** The `route:` lines of a weighted split over subsets (`{ v1: 90, v2: 10 }`), indented for an `http[]` entry. */
export function weightedRouteLines(name: string, weights: Readonly<Record<string, number>>): string {
  return Object.entries(weights)
    .map(([subset, weight]) => `        - { destination: { host: ${name}, subset: ${subset} }, weight: ${weight} }`)
    .join('\n');
}

/** A VirtualService for `name` whose `http` list is `httpRoutes` (YAML lines indented by four). */
export function virtualServiceYaml(name: string, namespace: string, httpRoutes: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  hosts: [${name}]
  http:
${httpRoutes.replace(/\n$/, '')}
`;
}

/** Joins YAML documents with `---`. */
export function yamlDocuments(...docs: readonly string[]): string {
  return docs.map((d) => d.replace(/\n$/, '')).join('\n---\n') + '\n';
}
