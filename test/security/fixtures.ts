/**
 * Shared pieces of the security tests: an in-process CA (the control plane's), workload
 * identities signed by it, and xDS resources (inbound listener, cluster) built the way istiod
 * and Weft's control plane send them, decoded with the SDK's own decoders.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorkloadIdentity, type CertificateSigner, type WorkloadIdentity } from '@weft/core';
import { TypeUrl, decodeResource, packAny, type Cluster, type Listener } from '@weft/xds-client';
import { createCertificateAuthority, type CertificateAuthority } from '../../packages/control-plane/src/ca/certificate-authority.ts';

export const TD = 'cluster.local';
export const spiffe = (ns: string, sa: string): string => `spiffe://${TD}/ns/${ns}/sa/${sa}`;

/** A CA in a temp directory plus a signer that calls it in-process. */
export function testCa(): { ca: CertificateAuthority; signer: CertificateSigner; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'weft-sec-'));
  const ca = createCertificateAuthority({ caDir: dir });
  const signer: CertificateSigner = {
    async sign(req) {
      let id: string;
      if (req.credentials.kind === 'token') {
        id = ca.verifyJoinToken(req.credentials.token).spiffeId;
      } else {
        const der = Buffer.from(req.csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
        id = ca.verifyRenewalProof(req.credentials.certChainPem, der, req.credentials.csrSignature);
      }
      const issued = ca.issue(req.csrPem, { spiffeId: id, ttlMs: req.validitySeconds * 1000 });
      return { certChainPem: issued.certChainPem, trustBundlePem: ca.trustBundlePem() };
    },
  };
  return { ca, signer, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An identity for `ns`/`sa` with a token from `ca`, ready. */
export async function identityFor(t: ReturnType<typeof testCa>, ns: string, sa: string, certTtlMs?: number): Promise<WorkloadIdentity> {
  const token = t.ca.createJoinToken({ namespace: ns, serviceAccount: sa }).token;
  const identity = createWorkloadIdentity({ signer: t.signer, namespace: ns, serviceAccount: sa, token, ...(certTtlMs ? { certTtlMs } : {}) });
  await identity.ready({ timeoutMs: 10_000 });
  return identity;
}

const DOWNSTREAM_MTLS = {
  name: 'envoy.transport_sockets.tls',
  typed_config: packAny(TypeUrl.downstreamTlsContext, {
    require_client_certificate: { value: true },
    common_tls_context: {
      tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
      validation_context: { ca_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' } },
    },
  }),
};

/** RBAC of the tests: DENY `/admin*` for everyone; ALLOW `method` (GET) from `allowedPrincipals` or plaintext peers of 127.0.0.0/8 when `allowLoopbackPlaintext`. */
function httpFilters(allowedPrincipals: string[], options: { rateLimitTokens?: number; method?: string; allowUnauthenticated?: boolean } = {}): unknown[] {
  const deny = packAny(TypeUrl.rbac, {
    rules: { action: 'DENY', policies: { 'ns[shop]-policy[no-admin]-rule[0]': { permissions: [{ url_path: { path: { prefix: '/admin' } } }], principals: [{ any: true }] } } },
  });
  const allow = packAny(TypeUrl.rbac, {
    rules: {
      action: 'ALLOW',
      policies: {
        'ns[shop]-policy[reviews-viewer]-rule[0]': {
          permissions: [{ and_rules: { rules: [{ header: { name: ':method', string_match: { exact: options.method ?? 'GET' } } }] } }],
          principals: [
            ...allowedPrincipals.map((p) => ({ authenticated: { principal_name: { exact: p } } })),
            { and_ids: { ids: [{ not_id: { authenticated: {} } }, options.allowUnauthenticated ? { any: true } : { direct_remote_ip: { address_prefix: '127.0.0.0', prefix_len: { value: 8 } } }] } },
          ],
        },
      },
    },
  });
  const filters: unknown[] = [
    { name: 'envoy.filters.http.rbac.deny', typed_config: deny },
    { name: 'envoy.filters.http.rbac.allow', typed_config: allow },
  ];
  if (options.rateLimitTokens !== undefined) {
    filters.push({
      name: 'envoy.filters.http.local_ratelimit',
      typed_config: packAny(TypeUrl.localRateLimit, {
        stat_prefix: 'inbound',
        token_bucket: { max_tokens: options.rateLimitTokens, tokens_per_fill: { value: options.rateLimitTokens }, fill_interval: { seconds: 3600 } },
        filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
        filter_enforced: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
      }),
    });
  }
  filters.push({ name: 'envoy.filters.http.router', typed_config: packAny(TypeUrl.router, {}) });
  return filters;
}

/** The decoded inbound listener for `port` under `mode`, as the control plane shapes it. */
export function inboundListener(port: number, mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE', allowedPrincipals: string[], options: { rateLimitTokens?: number; method?: string; allowUnauthenticated?: boolean } = {}): Listener {
  const hcm = packAny(TypeUrl.httpConnectionManager, {
    stat_prefix: `inbound_${port}`,
    route_config: { name: `inbound|${port}`, virtual_hosts: [{ name: 'inbound|http', domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, non_forwarding_action: {} }] }] },
    http_filters: httpFilters(allowedPrincipals, options),
  });
  const chain = (name: string, tls: boolean, match?: object) => ({
    name,
    ...(match ? { filter_chain_match: match } : {}),
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
    ...(tls ? { transport_socket: DOWNSTREAM_MTLS } : {}),
  });
  const chains = mode === 'STRICT' ? [chain('mtls', true)] : mode === 'DISABLE' ? [chain('plain', false)] : [chain('mtls', true, { transport_protocol: 'tls' }), chain('plain', false)];
  const name = `xds.istio.io/grpc/lds/inbound/0.0.0.0:${port}`;
  const decoded = decodeResource(TypeUrl.listener, packAny(TypeUrl.listener, { name, address: { socket_address: { address: '0.0.0.0', port_value: port } }, filter_chains: chains }));
  if (!decoded.result.ok) throw new Error(decoded.result.error);
  return decoded.result.value as Listener;
}

/** A decoded ISTIO_MUTUAL cluster expecting `sans`, optionally auto mTLS (transport_socket_matches). */
export function mtlsCluster(name: string, sans: string[], options: { auto?: boolean } = {}): Cluster {
  const socket = {
    name: 'envoy.transport_sockets.tls',
    typed_config: packAny(TypeUrl.upstreamTlsContext, {
      sni: `outbound_.9080_._.${name}`,
      common_tls_context: {
        tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
        combined_validation_context: {
          default_validation_context: { match_subject_alt_names: sans.map((s) => ({ exact: s })) },
          validation_context_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' },
        },
        alpn_protocols: ['istio', 'http/1.1'],
      },
    }),
  };
  const message = {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {} }, service_name: name },
    connect_timeout: { seconds: 5 },
    ...(options.auto
      ? { transport_socket_matches: [{ name: 'tlsMode-istio', match: { fields: { tlsMode: { stringValue: 'istio' } } }, transport_socket: socket }, { name: 'tlsMode-disabled', match: {} }] }
      : { transport_socket: socket }),
  };
  const decoded = decodeResource(TypeUrl.cluster, packAny(TypeUrl.cluster, message));
  if (!decoded.result.ok) throw new Error(decoded.result.error);
  return decoded.result.value as Cluster;
}
