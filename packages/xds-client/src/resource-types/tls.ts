/**
 * Decoding of TLS transport sockets (gRFC A29): where the identity certificate and the trust
 * roots come from (certificate provider plugin instances, as istiod sends to proxyless clients,
 * or SDS secret names) and which SANs an upstream peer must present (SPIFFE URIs for Istio).
 */
import { TypeUrl, unpackAny, type AnyMessage } from '../protos.ts';
import { arr, has, invalid, obj, str, stringMatcher, type Obj } from './common.ts';
import type { CertificateSource, SanMatcher, UpstreamTls } from './types.ts';

/** The plaintext transport socket, which some servers send explicitly. */
const RAW_BUFFER = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';

function providerInstance(value: unknown): CertificateSource | undefined {
  if (value === undefined || value === null) return undefined;
  const p = obj(value);
  return { type: 'certificateProvider', instanceName: str(p['instance_name']), certificateName: str(p['certificate_name']) };
}

/** The `filename` of a `DataSource`; inline bytes, strings and environment variables are rejected. */
function dataSourceFile(value: unknown, field: string): string {
  const d = obj(value);
  const filename = str(d['filename']);
  if (filename === '') invalid(field, 'only a filename is supported (inline bytes, strings and environment variables are not)');
  return filename;
}

/**
 * The identity or validation source of a `CommonTlsContext`, whichever form is used; undefined
 * when none is set. Files (`tls_certificates` chain and key filenames, `trusted_ca.filename`)
 * are accepted as `{type: 'file'}`; inline certificates and keys are rejected.
 */
export function certificateSource(common: Obj, which: 'identity' | 'validation', field: string): CertificateSource | undefined {
  if (which === 'identity') {
    const certs = arr(common['tls_certificates']);
    if (certs.length > 1) invalid(`${field}.tls_certificates`, 'at most one certificate is supported');
    const cert = certs[0];
    if (cert) {
      const path = dataSourceFile(cert['certificate_chain'], `${field}.tls_certificates[0].certificate_chain`);
      const privateKeyPath = dataSourceFile(cert['private_key'], `${field}.tls_certificates[0].private_key`);
      return { type: 'file', path, privateKeyPath };
    }
    const provider =
      providerInstance(common['tls_certificate_provider_instance']) ??
      providerInstance(common['tls_certificate_certificate_provider_instance']);
    if (provider) return provider;
    const sds = arr(common['tls_certificate_sds_secret_configs'])[0];
    return sds ? { type: 'sds', secretName: str(sds['name']) } : undefined;
  }
  const combined = obj(common['combined_validation_context']);
  const validation = obj(common['validation_context'] ?? combined['default_validation_context']);
  const provider =
    providerInstance(validation['ca_certificate_provider_instance']) ??
    providerInstance(combined['validation_context_certificate_provider_instance']) ??
    providerInstance(common['validation_context_certificate_provider_instance']);
  if (provider) return provider;
  const sds = common['validation_context_sds_secret_config'] ?? combined['validation_context_sds_secret_config'];
  if (sds) return { type: 'sds', secretName: str(obj(sds)['name']) };
  if (has(validation, 'trusted_ca')) return { type: 'file', path: dataSourceFile(validation['trusted_ca'], `${field}.validation_context.trusted_ca`) };
  return undefined;
}

function sanMatchers(common: Obj, field: string): SanMatcher[] {
  const combined = obj(common['combined_validation_context']);
  const v = obj(common['validation_context'] ?? combined['default_validation_context']);
  const typed = arr(v['match_typed_subject_alt_names']).map((m, i) => ({
    sanType: (str(m['san_type']) || 'ANY') as SanMatcher['sanType'],
    matcher: stringMatcher(m['matcher'], `${field}.match_typed_subject_alt_names[${i}].matcher`),
  }));
  const legacy = arr(v['match_subject_alt_names']).map((m, i) => ({
    sanType: 'ANY' as const,
    matcher: stringMatcher(m, `${field}.match_subject_alt_names[${i}]`),
  }));
  return [...typed, ...legacy];
}

/**
 * Decodes a cluster's `transport_socket`; undefined when it is absent or plaintext (a
 * `raw_buffer` socket, with or without its typed config, as Istio's `tlsMode-disabled` match sends).
 */
export function upstreamTls(value: unknown, field: string): UpstreamTls | undefined {
  const ts = obj(value);
  if (!has(ts, 'typed_config')) return undefined;
  const a = obj(ts['typed_config']) as unknown as AnyMessage;
  if (a.type_url === RAW_BUFFER) return undefined;
  if (a.type_url !== TypeUrl.upstreamTlsContext) invalid(`${field}.typed_config`, `unsupported transport socket ${a.type_url}`);
  let m: Obj;
  try {
    m = unpackAny(a);
  } catch (err) {
    return invalid(`${field}.typed_config`, `cannot decode UpstreamTlsContext: ${(err as Error).message}`);
  }
  const common = obj(m['common_tls_context']);
  const cf = `${field}.typed_config.common_tls_context`;
  const identity = certificateSource(common, 'identity', cf);
  const validation = certificateSource(common, 'validation', cf);
  return {
    ...(str(m['sni']) ? { sni: str(m['sni']) } : {}),
    ...(identity ? { identity } : {}),
    ...(validation ? { validation } : {}),
    matchSubjectAltNames: sanMatchers(common, `${cf}.validation_context`),
    alpnProtocols: arr(common['alpn_protocols']).map(String),
  };
}
