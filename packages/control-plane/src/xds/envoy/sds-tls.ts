/**
 * TLS for Envoy: the shared generators write transport sockets for proxyless gRPC, whose
 * certificates come from certificate provider instance `default` (gRFC A29). Envoy takes them
 * from SDS instead, as istio-proxy does: the workload's chain and key as secret `default`, the
 * trust roots as `ROOTCA`, both fetched over the ADS stream. This module rewrites a packed
 * Upstream/DownstreamTlsContext accordingly and leaves every other field (SANs, SNI, files of
 * DestinationRule SIMPLE/MUTUAL TLS) as it was. The result is Envoy JSON (`"@type"`), encoded
 * strictly later (proto-json.ts).
 */
import { messageType, TO_OBJECT_OPTIONS, TypeUrl, type AnyMessage } from '@weft/xds-client';
import { SDS_IDENTITY_SECRET, SDS_ROOT_SECRET } from './ports.ts';

/** The SDS config source of the secrets: the ADS stream. */
export const SDS_OVER_ADS = { ads: {}, resource_api_version: 'V3' };

const TLS_TYPES = new Set<string>([TypeUrl.upstreamTlsContext, TypeUrl.downstreamTlsContext]);

/** A packed message as a plain object without protobufjs' virtual oneof keys (so it re-encodes strictly). */
export function unpackPlain(any: AnyMessage): Record<string, unknown> {
  const type = messageType(any.type_url);
  return type.toObject(type.decode(any.value), { ...TO_OBJECT_OPTIONS, oneofs: false }) as Record<string, unknown>;
}

function rootsSecret(): Record<string, unknown> {
  return { name: SDS_ROOT_SECRET, sds_config: SDS_OVER_ADS };
}

/** Rewrites the certificate-provider references of a CommonTlsContext to SDS; true when it did. */
function commonToSds(common: Record<string, unknown>): boolean {
  let isChanged = false;
  if (common.tls_certificate_provider_instance) {
    delete common.tls_certificate_provider_instance;
    common.tls_certificate_sds_secret_configs = [{ name: SDS_IDENTITY_SECRET, sds_config: SDS_OVER_ADS }];
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
export function socketForEnvoy(socket: Record<string, unknown>): EnvoySocket {
  const typed = socket.typed_config as AnyMessage | undefined;
  if (!typed || !TLS_TYPES.has(typed.type_url) || !(typed.value instanceof Uint8Array)) return { socket, isSds: false };
  const context = unpackPlain(typed);
  const common = (context.common_tls_context ?? {}) as Record<string, unknown>;
  const isSds = commonToSds(common);
  if (!isSds) return { socket, isSds };
  context.common_tls_context = common;
  return { socket: { ...socket, typed_config: { '@type': typed.type_url, ...context } }, isSds };
}

/** The DownstreamTlsContext socket of an mTLS inbound chain (client certificate required), over SDS. */
export function downstreamSdsSocket(): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TypeUrl.downstreamTlsContext,
      require_client_certificate: true,
      common_tls_context: {
        tls_certificate_sds_secret_configs: [{ name: SDS_IDENTITY_SECRET, sds_config: SDS_OVER_ADS }],
        combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: rootsSecret() },
      },
    },
  };
}
