/**
 * Certificate provider names that istiod writes into TLS contexts for proxyless gRPC (gRFC
 * A29): instance `default` (the bootstrap's `certificate_providers.default`, or the Weft SDK's
 * own workload identity), certificate `default` for the workload's chain and key, `ROOTCA` for
 * the trust roots.
 */

/** Certificate provider instance name. */
export const CERT_PROVIDER_INSTANCE = 'default';
/** Certificate name of the workload's own chain and key. */
export const IDENTITY_CERT_NAME = 'default';
/** Certificate name of the trust roots. */
export const ROOT_CERT_NAME = 'ROOTCA';
