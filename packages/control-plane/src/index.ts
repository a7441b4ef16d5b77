export {};

// Config model, config store and registry (issue 3).
export type * from './model/mesh-model.ts';
export { createConfigStore, type ConfigStore, type ConfigStoreOptions } from './config/config-store.ts';
export { validateConfig, type ValidateConfigOptions } from './config/validate-config.ts';
export { formatFinding, hasErrors, FindingCode, type FindingCodeValue } from './config/finding.ts';
export { createRegistry, type Registry, type RegisteredWorkload, type ObservableRegistry } from './registry/registry.ts';
export { resolveHostname, hostMatches, portProtocol } from './registry/hostname.ts';
export { createCertificateAuthority } from './ca/certificate-authority.ts';
export type { CertificateAuthority, CertificateAuthorityOptions, IssuedCertificate, JoinToken } from './ca/certificate-authority.ts';
export { caServiceDefinition, createCaServiceHandlers } from './ca/ca-service.ts';
export type { CaServiceEvent, CaServiceOptions } from './ca/ca-service.ts';
export { createTokenAdminHandler } from './ca/token-admin-handler.ts';
export type { TokenAdminHandlerOptions } from './ca/token-admin-handler.ts';

// xDS server, generators and admin (issue 4).
export { createXdsServer } from './xds/xds-server.ts';
export type { XdsServer, XdsServerOptions, ModelSource } from './xds/xds-server.ts';
export { createXdsMetrics, type XdsMetrics } from './xds/metrics.ts';
export { buildSnapshot, checkConsistency, SNAPSHOT_TYPES, type Snapshot, type EncodedResource, type SnapshotTypeUrl } from './xds/snapshot.ts';
export { indexModel, type MeshIndex } from './xds/mesh-index.ts';
export { detectClientKind, capabilitiesFor, type ClientKind, type ClientCapabilities, type Omission } from './xds/client-capabilities.ts';
export { clusterName, parseClusterName, listenerName, type ClusterKey } from './xds/names.ts';
export { workloadFromNode, parsePorts, type SelfRegisteredWorkload, type RegistryLike } from './xds/self-registration.ts';
export type { SyncReport, ClientSync, TypeSync, SyncState } from './xds/sync-report.ts';
export { createAdminServer, sendJson, sendText, type AdminServer, type AdminHandler, type AdminRouteOptions } from './admin/admin-server.ts';
export { mountXdsRoutes, type XdsRoutesOptions } from './admin/xds-routes.ts';

// Load reports, service graph, endpoint health and the mesh view (issues 9, 10).
export { createServiceGraph, LATENCY_METRIC_NAMES } from './lrs/service-graph.ts';
export type { ServiceGraph, ServiceGraphOptions, GraphDocument, GraphEdge, GraphNode, Reporter } from './lrs/service-graph.ts';
export { createLrsService, type LrsService, type LrsServiceOptions } from './lrs/lrs-service.ts';
export { createLrsMetrics, type LrsMetrics } from './lrs/lrs-metrics.ts';
export { mountGraphRoutes } from './admin/graph-routes.ts';
export { mountHealthRoutes } from './admin/health-routes.ts';
export { mountUiRoutes, type UiRoutesOptions } from './ui/ui-routes.ts';
export { createEndpointHealthMonitor, healthTargets, type EndpointHealthMonitor, type EndpointHealthOptions, type HealthReport } from './health/endpoint-health.ts';
export { parseWorkloadGroup, probeOfWorkloadGroup, workloadGroupProbes, type WorkloadGroupProbe, type ProbeSpec, type ProbeAction } from './health/workload-group.ts';
