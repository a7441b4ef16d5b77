/**
 * What TLS a cluster's connections need, compiled once per cluster update from the decoded CDS
 * `transport_socket` and `transport_socket_matches` (Istio auto mTLS), and resolved per
 * endpoint from its `filter_metadata["envoy.transport_socket_match"]`:
 *
 * - `none`: plaintext;
 * - `ISTIO_MUTUAL`: present the workload certificate, verify the server with the mesh roots and
 *   require its SPIFFE ID to be one of the cluster's subject alt names (exact `spiffe://` URIs);
 * - `MUTUAL`: client certificate from a provider or from files, server verified against the
 *   SAN matchers;
 * - `SIMPLE`: server-only TLS, verified against the provider's roots, a CA file, or the system roots.
 *
 * File sources (DestinationRule `caCertificates`, `clientCertificate`/`privateKey`) are passed
 * on as paths (`validationFile`, `identityFiles`); the adapter reads them when it builds the
 * TLS context of a pool.
 *
 * The adapters call {@link CompiledUpstreamTls.forEndpoint} when they open a pool for an
 * endpoint (not per request) and {@link UpstreamTlsRequirement.checkPeer} after each handshake.
 */
import type { PeerCertificate } from 'node:tls';
import type { Cluster, Metadata, SanMatcher, TransportSocketMatch, UpstreamTls } from '@weft/xds-client';
import { ErrorCode, MeshError } from '@weft/xds-client';
import { compileStringMatcher } from '../route/string-matcher.ts';
import { parseSpiffeId, spiffeUrisOf, verifyPeerSpiffeId } from '../identity/spiffe-id.ts';
import type { CertificateProviders } from './certificate-providers.ts';

/** The kinds of upstream TLS (Istio's DestinationRule `tls.mode` names). */
export type UpstreamTlsMode = 'none' | 'ISTIO_MUTUAL' | 'MUTUAL' | 'SIMPLE';

/** The TLS one endpoint's connections need. Immutable; shared by every endpoint with the same socket. */
export interface UpstreamTlsRequirement {
  readonly mode: UpstreamTlsMode;
  /** Key for connection pools: endpoints with different requirements never share a pool. */
  readonly key: string;
  /** SNI to send; absent = the request's host name. */
  readonly sni?: string;
  /** Provider instance of the client certificate (`MUTUAL`, `ISTIO_MUTUAL`). */
  readonly identityInstance?: string;
  /** Provider instance of the roots; absent (and no `validationFile`) = system roots. */
  readonly validationInstance?: string;
  /** PEM file of the trust roots (`trusted_ca.filename`), read by the adapter when it connects. */
  readonly validationFile?: string;
  /** PEM files of the client certificate chain and key (`tls_certificates` filenames), for `MUTUAL`. */
  readonly identityFiles?: { readonly certificateChain: string; readonly privateKey: string };
  /** Exact SPIFFE IDs the server may present (from the SAN matchers); empty = any of the trust domain. */
  readonly expectedSpiffeIds: readonly string[];
  readonly alpnProtocols: readonly string[];
  /** Where credentials come from (the Mesh's providers). */
  readonly providers: CertificateProviders | undefined;
  /**
   * Checks the server certificate after the chain was verified by TLS: SPIFFE ID and SAN
   * matchers. Returns a MeshError (`WEFT_ERR_CERT_INVALID` or `WEFT_ERR_UNAUTHORIZED`) or undefined.
   */
  checkPeer(cert: PeerCertificate): MeshError | undefined;
}

/** A cluster's TLS, resolved per endpoint. */
export interface CompiledUpstreamTls {
  /** The requirement for an endpoint with `metadata` (the cluster-wide one when there are no matches). */
  forEndpoint(metadata: Metadata | Readonly<Record<string, unknown>> | undefined): UpstreamTlsRequirement;
  /** True when some endpoint may need TLS. */
  readonly isTlsPossible: boolean;
}

const PLAINTEXT: UpstreamTlsRequirement = Object.freeze({
  mode: 'none' as const,
  key: 'none',
  expectedSpiffeIds: Object.freeze([]) as readonly string[],
  alpnProtocols: Object.freeze([]) as readonly string[],
  providers: undefined,
  checkPeer: () => undefined,
});

const MATCH_KEY = 'envoy.transport_socket_match';

function sanOf(cert: PeerCertificate, type: SanMatcher['sanType']): string[] {
  const all = (cert.subjectaltname ?? '').split(/,\s*/).filter(Boolean);
  const prefix = type === 'URI' ? 'URI:' : type === 'DNS' ? 'DNS:' : type === 'EMAIL' ? 'email:' : type === 'IP_ADDRESS' ? 'IP Address:' : '';
  return all.filter((s) => prefix === '' || s.startsWith(prefix)).map((s) => s.slice(s.indexOf(':') + 1));
}

function compileRequirement(tls: UpstreamTls, where: string, providers: CertificateProviders | undefined): UpstreamTlsRequirement {
  const identityInstance = tls.identity?.type === 'certificateProvider' ? tls.identity.instanceName : undefined;
  const validationInstance = tls.validation?.type === 'certificateProvider' ? tls.validation.instanceName : undefined;
  if (tls.identity?.type === 'sds' || tls.validation?.type === 'sds') {
    throw new MeshError(ErrorCode.xdsInvalid, `${where}: SDS secrets are not supported by the SDK; use certificate provider instances`, { details: { field: where } });
  }
  const expectedSpiffeIds = tls.matchSubjectAltNames
    .filter((m) => m.matcher.type === 'exact' && m.matcher.value.startsWith('spiffe://'))
    .map((m) => (m.matcher as { value: string }).value);
  const isAllSpiffe = tls.matchSubjectAltNames.length > 0 && expectedSpiffeIds.length === tls.matchSubjectAltNames.length;
  const identityFiles = tls.identity?.type === 'file' ? { certificateChain: tls.identity.path, privateKey: tls.identity.privateKeyPath ?? '' } : undefined;
  const validationFile = tls.validation?.type === 'file' ? tls.validation.path : undefined;
  const mode: UpstreamTlsMode = identityFiles ? 'MUTUAL' : identityInstance === undefined ? 'SIMPLE' : isAllSpiffe || tls.matchSubjectAltNames.length === 0 ? 'ISTIO_MUTUAL' : 'MUTUAL';
  const sanTests = tls.matchSubjectAltNames.map((m, i) => ({ type: m.sanType, test: compileStringMatcher(m.matcher, `${where}.match_subject_alt_names[${i}]`) }));
  const trustDomain = expectedSpiffeIds.length > 0 ? parseSpiffeId(expectedSpiffeIds[0] as string)?.trustDomain : undefined;
  const checkPeer = (cert: PeerCertificate): MeshError | undefined => {
    try {
      if (mode === 'ISTIO_MUTUAL') {
        const td = trustDomain ?? (providers?.credentials(identityInstance as string)?.trustDomain) ?? parseSpiffeId(spiffeUrisOf(cert)[0] ?? '')?.trustDomain ?? 'cluster.local';
        verifyPeerSpiffeId(cert, { trustDomain: td, allowedIds: expectedSpiffeIds });
        return undefined;
      }
      if (sanTests.length === 0) return undefined;
      for (const s of sanTests) for (const v of sanOf(cert, s.type)) if (s.test(v)) return undefined;
      return new MeshError(ErrorCode.certInvalid, `upstream certificate SANs (${cert.subjectaltname ?? 'none'}) match none of the cluster's subject alt names`, {
        details: { reason: 'san-mismatch' },
      });
    } catch (err) {
      return err as MeshError;
    }
  };
  return Object.freeze({
    mode,
    key: `${mode}|${identityInstance ?? identityFiles?.certificateChain ?? ''}|${validationInstance ?? validationFile ?? ''}|${tls.sni ?? ''}|${expectedSpiffeIds.join(',')}|${tls.alpnProtocols.join(',')}`,
    ...(tls.sni ? { sni: tls.sni } : {}),
    ...(identityInstance !== undefined ? { identityInstance } : {}),
    ...(validationInstance !== undefined ? { validationInstance } : {}),
    ...(validationFile !== undefined ? { validationFile } : {}),
    ...(identityFiles ? { identityFiles } : {}),
    expectedSpiffeIds: Object.freeze(expectedSpiffeIds),
    alpnProtocols: tls.alpnProtocols,
    providers,
    checkPeer,
  });
}

function matches(match: Readonly<Record<string, unknown>>, values: Readonly<Record<string, unknown>> | undefined): boolean {
  for (const k in match) if (values === undefined || values[k] !== match[k]) return false;
  return true;
}

/**
 * Compiles a cluster's TLS. Throws `WEFT_ERR_XDS_INVALID` for SDS-based contexts or an invalid
 * SAN regex.
 */
export function compileUpstreamTls(cluster: Cluster, providers: CertificateProviders | undefined): CompiledUpstreamTls {
  const base = cluster.tls === undefined ? PLAINTEXT : compileRequirement(cluster.tls, `cluster ${cluster.name} transport_socket`, providers);
  const entries = (cluster.transportSocketMatches ?? []).map((m: TransportSocketMatch, i) => ({
    match: m.match,
    requirement: m.tls === undefined ? PLAINTEXT : compileRequirement(m.tls, `cluster ${cluster.name} transport_socket_matches[${i}]`, providers),
  }));
  const isTlsPossible = base.mode !== 'none' || entries.some((e) => e.requirement.mode !== 'none');
  if (entries.length === 0) return { isTlsPossible, forEndpoint: () => base };
  return {
    isTlsPossible,
    forEndpoint(metadata) {
      const values = (metadata as Metadata | undefined)?.[MATCH_KEY];
      for (const e of entries) if (matches(e.match, values)) return e.requirement;
      return base;
    },
  };
}

/** The plaintext requirement (no TLS). */
export const PLAINTEXT_UPSTREAM: UpstreamTlsRequirement = PLAINTEXT;
