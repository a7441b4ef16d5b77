/**
 * The control plane's model of the mesh: one immutable generation built from the Istio config
 * files plus the service registry. The config store builds it, the xDS generators read it; it is
 * never mutated after it is published (a new generation replaces it atomically).
 *
 * Spec types come from `@kubernetes-models/istio`, which generates them from Istio's own CRDs.
 */
import type { IVirtualService, IDestinationRule, IGateway, IServiceEntry, IWorkloadEntry, IWorkloadGroup, ISidecar } from '@kubernetes-models/istio/networking.istio.io/v1';
import type { IEnvoyFilter } from '@kubernetes-models/istio/networking.istio.io/v1alpha3';
import type { IAuthorizationPolicy, IPeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1';
import type { ITelemetry } from '@kubernetes-models/istio/telemetry.istio.io/v1';

/** The `spec` of an Istio VirtualService. */
export type VirtualServiceSpec = NonNullable<IVirtualService['spec']>;
/** The `spec` of an Istio DestinationRule. */
export type DestinationRuleSpec = NonNullable<IDestinationRule['spec']>;
/** The `spec` of an Istio Gateway. */
export type GatewaySpec = NonNullable<IGateway['spec']>;
/** The `spec` of an Istio ServiceEntry. */
export type ServiceEntrySpec = NonNullable<IServiceEntry['spec']>;
/** The `spec` of an Istio WorkloadEntry. */
export type WorkloadEntrySpec = NonNullable<IWorkloadEntry['spec']>;
/** The `spec` of an Istio WorkloadGroup (its `metadata.labels` and `probe` drive health checking). */
export type WorkloadGroupSpec = NonNullable<IWorkloadGroup['spec']>;
/** The `spec` of an Istio Sidecar. */
export type SidecarSpec = NonNullable<ISidecar['spec']>;
/** The `spec` of an Istio EnvoyFilter (only the local-rate-limit pattern is applied). */
export type EnvoyFilterSpec = NonNullable<IEnvoyFilter['spec']>;
/** The `spec` of an Istio PeerAuthentication. */
export type PeerAuthenticationSpec = NonNullable<IPeerAuthentication['spec']>;
/** The `spec` of an Istio AuthorizationPolicy. */
export type AuthorizationPolicySpec = NonNullable<IAuthorizationPolicy['spec']>;
/** `telemetry.istio.io` Telemetry spec. */
export type TelemetrySpec = NonNullable<ITelemetry['spec']>;

/** The config kinds Weft reads. */
export type ConfigKind =
  | 'VirtualService'
  | 'DestinationRule'
  | 'Gateway'
  | 'ServiceEntry'
  | 'WorkloadEntry'
  | 'WorkloadGroup'
  | 'Sidecar'
  | 'EnvoyFilter'
  | 'PeerAuthentication'
  | 'AuthorizationPolicy'
  | 'Telemetry';

/** Where a config object came from, for findings and `/debug` output. */
export interface SourcePosition {
  /** Path of the file as given on the command line (or relative to a watched directory). */
  file: string;
  /** 1-based line of the document's first line. */
  line: number;
  /** 1-based column. */
  column: number;
}

/** One Istio config object: metadata, spec and where it was read from. */
export interface ConfigObject<Spec> {
  kind: ConfigKind;
  apiVersion: string;
  name: string;
  /** `metadata.namespace`, or the default namespace when the file omits it. */
  namespace: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  spec: Spec;
  source: SourcePosition;
}

/** A service port as a ServiceEntry (or a self-registering workload) declares it. */
export interface ServicePort {
  number: number;
  /** Port name; Istio derives the protocol from it when `protocol` is absent (`http-web`, `grpc`). */
  name: string;
  /** Upper-case Istio protocol: HTTP, HTTP2, GRPC, HTTPS, TLS, TCP, … */
  protocol: string;
  /** Port on the workload when it differs from `number`. */
  targetPort?: number;
}

/** A service in the registry, keyed by its fully qualified host name. */
export interface ServiceModel {
  /** FQDN, e.g. `reviews.shop.svc.cluster.local` or `payments.example.com`. */
  hostname: string;
  namespace: string;
  ports: readonly ServicePort[];
  location: 'MESH_INTERNAL' | 'MESH_EXTERNAL';
  resolution: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  /** Labels that select workload instances (ServiceEntry `workloadSelector`), if any. */
  workloadSelector?: Readonly<Record<string, string>>;
  /** Namespaces the service is visible to (`exportTo`); `['*']` when unrestricted. */
  exportTo: readonly string[];
  /** What declared it: a ServiceEntry, or a workload registering itself at runtime. */
  origin: 'ServiceEntry' | 'registration';
}

/** Endpoint health as published in EDS. */
export type EndpointHealth = 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'UNKNOWN' | 'DEGRADED';

/** One workload instance (an endpoint). */
export interface WorkloadInstance {
  /** Unique within the registry, e.g. `catalog-v1-127.0.0.1:9080` or a WorkloadEntry name. */
  id: string;
  namespace: string;
  /** IP address or DNS name. */
  address: string;
  labels: Readonly<Record<string, string>>;
  /** Port name → port number on this workload (WorkloadEntry `ports`); empty means "service port". */
  ports: Readonly<Record<string, number>>;
  serviceAccount: string;
  /** `region/zone/subzone`, empty when unknown. */
  locality: string;
  /** Load-balancing weight, default 1. */
  weight: number;
  health: EndpointHealth;
  /** What declared it. */
  origin: 'ServiceEntry' | 'WorkloadEntry' | 'registration';
  /** For `origin: 'ServiceEntry'` inline endpoints: the hostname of the declaring service. */
  serviceHostname?: string;
  /** For registrations: how the workload takes the metadata exchange (`connection`: once per connection). */
  peerExchange?: string;
}

/** Severity of an analysis finding: errors fail validation, the others do not. */
export type FindingLevel = 'error' | 'warning' | 'info';

/** One finding of `weft validate` / the config store, in the spirit of `istioctl analyze`. */
export interface Finding {
  level: FindingLevel;
  /** Istio analyzer code where one exists (`IST0101`), else a Weft code (`WEFT0001`). */
  code: string;
  message: string;
  /** `Kind namespace/name`, when the finding is about one resource. */
  resource?: string;
  /** Field path such as `spec.http[0].route[0].destination.subset`. */
  field?: string;
  /** Where in which file; line and column point at the field when known. */
  position?: SourcePosition;
}

/**
 * One immutable generation of the mesh. Published atomically by the config store; readers keep
 * the reference they got for the whole of their work, so they always see one consistent view.
 */
export interface MeshModel {
  /** Increases by one with every published generation. */
  generation: number;
  /** Content hash of config + registry; equal models have equal versions. */
  version: string;
  /** Namespace whose PeerAuthentication/Sidecar apply mesh-wide (Istio: `istio-system`). */
  rootNamespace: string;
  /** SPIFFE trust domain, e.g. `cluster.local`. */
  trustDomain: string;
  /** Kubernetes-style DNS suffix for short names, e.g. `svc.cluster.local`. */
  domainSuffix: string;
  /** Every known service by FQDN, from ServiceEntries and self-registration. */
  services: ReadonlyMap<string, ServiceModel>;
  /** Workload instances by FQDN of the service they belong to (selector or inline endpoints applied). */
  endpoints: ReadonlyMap<string, readonly WorkloadInstance[]>;
  virtualServices: readonly ConfigObject<VirtualServiceSpec>[];
  destinationRules: readonly ConfigObject<DestinationRuleSpec>[];
  gateways: readonly ConfigObject<GatewaySpec>[];
  serviceEntries: readonly ConfigObject<ServiceEntrySpec>[];
  workloadEntries: readonly ConfigObject<WorkloadEntrySpec>[];
  /**
   * WorkloadGroups; the endpoint health monitor probes the members of those with a `probe`.
   * Optional so model literals built before WorkloadGroup was read stay valid; absent means none.
   */
  workloadGroups?: readonly ConfigObject<WorkloadGroupSpec>[];
  sidecars: readonly ConfigObject<SidecarSpec>[];
  envoyFilters: readonly ConfigObject<EnvoyFilterSpec>[];
  peerAuthentications: readonly ConfigObject<PeerAuthenticationSpec>[];
  authorizationPolicies: readonly ConfigObject<AuthorizationPolicySpec>[];
  /**
   * Telemetry resources (tracing sampling per mesh / namespace / workload). Optional so model
   * literals built before Telemetry existed stay valid; absent means none.
   */
  telemetries?: readonly ConfigObject<TelemetrySpec>[];
  /** Findings of the analysis that produced this generation (warnings and infos only: errors block publishing). */
  findings: readonly Finding[];
}
