/**
 * The workload identity of the zero-code entries (`WEFT_MTLS=on`): who this workload is, which
 * CA to ask and with which token, all from the environment and the xDS bootstrap. Shared by the
 * HTTP and gRPC register hooks so both behave the same.
 *
 * Variables: `WEFT_MTLS` (`on`/`off`), `WEFT_NAMESPACE`, `WEFT_SERVICE_ACCOUNT` (default
 * `WEFT_SERVICE`, else `default`), `WEFT_TRUST_DOMAIN` (`cluster.local`), `WEFT_CA_ADDRESS`
 * (default: the first xDS server, where the control plane serves CreateCertificate),
 * `WEFT_TOKEN`/`WEFT_TOKEN_FILE`, `WEFT_CERT_TTL_MS` (requested lifetime, default 24 h).
 */
import { createGrpcCertificateSigner, loadBootstrap, NodeMetadataKey } from '@weft/xds-client';
import type { XdsBootstrap } from '@weft/xds-client';
import { readJoinToken } from './token-source.ts';
import { createWorkloadIdentity, type WorkloadIdentity } from './workload-identity.ts';

/** True when `WEFT_MTLS` asks for mTLS (`on`, `true`, `1`). */
export function isMtlsEnabled(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  const v = (env['WEFT_MTLS'] ?? '').toLowerCase();
  return v === 'on' || v === 'true' || v === '1';
}

/**
 * Creates the identity described by `env` (see the module comment); fetching starts at once.
 * Throws `WEFT_ERR_BOOTSTRAP_INVALID` when the bootstrap is unusable and `WEFT_ERR_CONFIG_INVALID`
 * for an invalid namespace or service account. The caller owns it (`close()`).
 */
export function createIdentityFromEnv(env: Readonly<Record<string, string | undefined>> = process.env, bootstrap?: XdsBootstrap): WorkloadIdentity {
  const b = bootstrap ?? loadBootstrap({ env });
  const meta = (b.node.metadata ?? {}) as Record<string, unknown>;
  const metaString = (key: string): string | undefined => (typeof meta[key] === 'string' && meta[key] !== '' ? (meta[key] as string) : undefined);
  const namespace = env['WEFT_NAMESPACE'] || metaString(NodeMetadataKey.namespace) || 'default';
  const serviceAccount = env['WEFT_SERVICE_ACCOUNT'] || metaString(NodeMetadataKey.serviceAccount) || env['WEFT_SERVICE'] || 'default';
  const address = env['WEFT_CA_ADDRESS'] || (b.xdsServers[0]?.serverUri ?? 'localhost:15010').replace(/^[a-z]+:\/\/?/, '');
  const ttl = Number(env['WEFT_CERT_TTL_MS']);
  return createWorkloadIdentity({
    signer: createGrpcCertificateSigner({ address }),
    namespace,
    serviceAccount,
    trustDomain: env['WEFT_TRUST_DOMAIN'] || 'cluster.local',
    token: () => readJoinToken(env as NodeJS.ProcessEnv),
    ...(Number.isFinite(ttl) && ttl > 0 ? { certTtlMs: ttl } : {}),
  });
}
