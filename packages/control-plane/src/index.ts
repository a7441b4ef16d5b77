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
