export {};

// Config model, config store and registry (issue 3).
export type * from './model/mesh-model.ts';
export { createConfigStore, type ConfigStore, type ConfigStoreOptions } from './config/config-store.ts';
export { validateConfig, type ValidateConfigOptions } from './config/validate-config.ts';
export { formatFinding, hasErrors, FindingCode, type FindingCodeValue } from './config/finding.ts';
export { createRegistry, type Registry, type RegisteredWorkload, type ObservableRegistry } from './registry/registry.ts';
export { resolveHostname, hostMatches, portProtocol } from './registry/hostname.ts';
