/**
 * TLS for Envoy: the shared generators write transport sockets for proxyless gRPC, whose
 * certificates come from certificate provider instance `default` (gRFC A29). Envoy takes them
 * from SDS instead, as istio-proxy does: the workload's chain and key as secret `default`, the
 * trust roots as `ROOTCA`, both fetched over the ADS stream. This module rewrites a packed
 * Upstream/DownstreamTlsContext accordingly and leaves every other field (SANs, SNI, files of
 * DestinationRule SIMPLE/MUTUAL TLS) as it was. The result is Envoy JSON (`"@type"`), encoded
 * strictly later (proto-json.ts).
 *
 * Where the secrets come from ({@link SecretSource}): `static` — the sidecar's bootstrap holds
 * them (`weft envoy-bootstrap --certs-dir`), so a reference is the name alone, which Envoy
 * resolves in `static_resources.secrets`; `ads` — the reference carries `sds_config: {ads: {}}`
 * (the control plane does not serve SDS yet, so such a handshake cannot complete).
 */
import { messageType, TO_OBJECT_OPTIONS, TypeUrl, type AnyMessage } from '@weft/xds-client';
import { SDS_IDENTITY_SECRET, SDS_ROOT_SECRET } from './ports.ts';

/** The SDS config source of the secrets: the ADS stream. */
export const SDS_OVER_ADS = { ads: {}, resource_api_version: 'V3' };

/** Where a sidecar's secrets come from; see the module comment. */
export type SecretSource = 'static' | 'ads';

/** An SdsSecretConfig naming `name` from `source`. */
export function secretRef(name: string, source: SecretSource): Record<string, unknown> {
  return source === 'static' ? { name } : { name, sds_config: SDS_OVER_ADS };
}

const TLS_TYPES = new Set<string>([TypeUrl.upstreamTlsContext, TypeUrl.downstreamTlsContext]);

/** A packed message as a plain object without protobufjs' virtual oneof keys (so it re-encodes strictly). */
export function unpackPlain(any: AnyMessage): Record<string, unknown> {
  const type = messageType(any.type_url);
  return type.toObject(type.decode(any.value), { ...TO_OBJECT_OPTIONS, oneofs: false }) as Record<string, unknown>;
}

/** Rewrites the certificate-provider references of a CommonTlsContext to SDS; true when it did. */
function commonToSds(common: Record<string, unknown>, source: SecretSource): boolean {
  const rootsSecret = () => secretRef(SDS_ROOT_SECRET, source);
  let isChanged = false;
  if (common.tls_certificate_provider_instance) {
    delete common.tls_certificate_provider_instance;
    common.tls_certificate_sds_secret_configs = [secretRef(SDS_IDENTITY_SECRET, source)];
    isChanged = true;
  }
  const combined = common.combined_validation_context as Record<string, unknown> | undefined;
  if (combined) {
    const base = (combined.default_validation_context ?? {}) as Record<string, unknown>;
    if (combined.validation_context_certificate_provider_instance || base.ca_certificate_provider_instance) {
      delete combined.validation_context_certificate_provider_instance;
      delete base.ca_certificate_provider_instance;
      combined.default_validation_context = base;
      combined.validation_context_sds_secret_config = rootsSecret();
      isChanged = true;
    }
  }
  const plain = common.validation_context as Record<string, unknown> | undefined;
  if (plain?.ca_certificate_provider_instance) {
    delete plain.ca_certificate_provider_instance;
    delete common.validation_context;
    common.combined_validation_context = { default_validation_context: plain, validation_context_sds_secret_config: rootsSecret() };
    isChanged = true;
  }
  return isChanged;
}

/** What {@link socketForEnvoy} made of a transport socket. */
export interface EnvoySocket {
  socket: Record<string, unknown>;
  /** True when it now names SDS secrets. */
  isSds: boolean;
}

/**
 * A transport socket as Envoy takes it: TLS contexts whose certificates came from certificate
 * providers now name the SDS secrets; any other socket is returned unchanged.
 */
export function socketForEnvoy(socket: Record<string, unknown>, source: SecretSource): EnvoySocket {
  const typed = socket.typed_config as AnyMessage | undefined;
  if (!typed || !TLS_TYPES.has(typed.type_url) || !(typed.value instanceof Uint8Array)) return { socket, isSds: false };
  const context = unpackPlain(typed);
  const common = (context.common_tls_context ?? {}) as Record<string, unknown>;
  const isSds = commonToSds(common, source);
  if (!isSds) return { socket, isSds };
  context.common_tls_context = common;
  return { socket: { ...socket, typed_config: { '@type': typed.type_url, ...context } }, isSds };
}

/** The DownstreamTlsContext socket of an mTLS inbound chain (client certificate required), secrets from `source`. */
export function downstreamSdsSocket(source: SecretSource): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TypeUrl.downstreamTlsContext,
      require_client_certificate: true,
      common_tls_context: {
        tls_certificate_sds_secret_configs: [secretRef(SDS_IDENTITY_SECRET, source)],
        combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: secretRef(SDS_ROOT_SECRET, source) },
      },
    },
  };
}
