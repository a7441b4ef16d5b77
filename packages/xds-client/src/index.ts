export { MeshError, ErrorCode, isMeshError } from './errors.ts';
export type { ErrorCodeValue, ResponseFlag, MeshErrorOptions } from './errors.ts';
export { toStruct, structToJson, valueToJson, isStructShaped } from './struct.ts';
export { TypeUrl, xdsRoot, messageType, packAny, unpackAny, protoIncludeDirs, TO_OBJECT_OPTIONS } from './protos.ts';
export type { AnyMessage, ResourceTypeUrl } from './protos.ts';
export { adsServiceDefinition, lrsServiceDefinition } from './ads-service.ts';
export type {
  DiscoveryRequest,
  DiscoveryResponse,
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DeltaResource,
  XdsNode,
  RpcStatus,
} from './ads-service.ts';
export type * from './resource-types/types.ts';
export { istioCertificateServiceDefinition, createGrpcCertificateSigner, CaMetadataKey, CREATE_CERTIFICATE_PATH } from './ca-client.ts';
export type { IstioCertificateRequest, IstioCertificateResponse, CaSigningRequest, GrpcCertificateSignerOptions, GrpcCertificateSigner } from './ca-client.ts';
export { createXdsClient } from './xds-client.ts';
export type { XdsClient, XdsClientOptions, XdsClientDump, ResourceDump } from './xds-client.ts';
export { loadBootstrap, parseBootstrap, bootstrapFromWeftEnv, withNodeMetadata, NodeMetadataKey } from './bootstrap.ts';
export type { XdsBootstrap, XdsServerConfig, XdsChannelCredentials, CertificateProviderConfig, LoadBootstrapOptions } from './bootstrap.ts';
export type { AdsProtocol, BackoffOptions } from './ads-stream.ts';
export type { ResourceWatcher, WatchHandle } from './watchers.ts';
export type { ResourceStatus, ResourceErrorState } from './resource-cache.ts';
export { decodeResource, isSupportedTypeUrl } from './resource-types/index.ts';
export type { XdsResourceTypeUrl, XdsResourceValue, XdsResourceValues, DecodedResource } from './resource-types/index.ts';
export { referencedClusters } from './dependency-manager.ts';
export { createLrsClient, LRS_SEND_ALL_CLUSTERS_FEATURE } from './lrs-client.ts';
export type { LrsClient, LrsClientOptions, LrsRequestedClusters, ClusterStats, UpstreamLocalityStats, UpstreamEndpointStats } from './lrs-client.ts';
