export { MeshError, ErrorCode, isMeshError } from './errors.ts';
export type { ErrorCodeValue, ResponseFlag, MeshErrorOptions } from './errors.ts';
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
