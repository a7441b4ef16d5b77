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

/** Options of {@link localRateLimitEnvoyFilterYaml}. */
export interface LocalRateLimitFilterOptions {
  name: string;
  namespace: string;
  /** `SIDECAR_INBOUND` (the workloads `app` selects) or `SIDECAR_OUTBOUND` (every caller in the namespace). */
  context: 'SIDECAR_INBOUND' | 'SIDECAR_OUTBOUND';
  /** `workloadSelector` label `app`; none = namespace-wide. */
  app?: string;
  /** Bucket size and tokens per fill. */
  tokens: number;
  /** Fill interval, e.g. `1s`. */
  fillInterval: string;
}

/** The local-rate-limit EnvoyFilter in Istio's documented form (shared/scenarios/06-local-rate-limit.yaml). */
export function localRateLimitEnvoyFilterYaml(o: LocalRateLimitFilterOptions): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: { name: ${o.name}, namespace: ${o.namespace} }
spec:
${o.app ? `  workloadSelector: { labels: { app: ${o.app} } }\n` : ''}  configPatches:
    - applyTo: HTTP_FILTER
      match:
        context: ${o.context}
        listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager } } }
      patch:
        operation: INSERT_BEFORE
        value:
          name: envoy.filters.http.local_ratelimit
          typed_config:
            "@type": type.googleapis.com/udpa.type.v1.TypedStruct
            type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
            value:
              stat_prefix: http_local_rate_limiter
              token_bucket: { max_tokens: ${o.tokens}, tokens_per_fill: ${o.tokens}, fill_interval: ${o.fillInterval} }
              filter_enabled: { runtime_key: local_rate_limit_enabled, default_value: { numerator: 100, denominator: HUNDRED } }
              filter_enforced: { runtime_key: local_rate_limit_enforced, default_value: { numerator: 100, denominator: HUNDRED } }
`;
}
