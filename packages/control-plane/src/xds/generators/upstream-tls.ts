/**
 * Upstream TLS of a cluster (CDS `transport_socket` / `transport_socket_matches`) from the
 * DestinationRule `tls` in force for it (top level → port level → subset, as merged by the
 * index), the way istiod sends it:
 *
 * - ISTIO_MUTUAL: UpstreamTlsContext with the workload's certificate from provider instance
 *   `default`, roots from `default`/`ROOTCA` (both in `default_validation_context` and the
 *   deprecated `validation_context_certificate_provider_instance`), peer SANs `spiffe://<td>/ns/<ns>/sa/<sa>` of the
 *   service's workloads (or the DestinationRule's `subjectAltNames`), SNI
 *   `outbound_.<port>_.<subset>_.<host>`.
 * - No `tls` and the service has mesh workloads as endpoints whose PeerAuthentication does not
 *   DISABLE mTLS: auto mTLS — a match `{tlsMode: istio}` with the ISTIO_MUTUAL socket and a
 *   default plaintext match, so each endpoint is reached the way its EDS metadata
 *   (`envoy.transport_socket_match`) says. gRPC clients ignore socket matches (an omission).
 * - SIMPLE / MUTUAL: TLS with the DestinationRule's `sni`, `caCertificates` (file), and for
 *   MUTUAL its client certificate and key files. `credentialName` (a Kubernetes secret) cannot
 *   be read here and is an omission. DISABLE: plaintext.
 */
import { TypeUrl } from '@weft/xds-client';
import type { WorkloadInstance } from '../../model/mesh-model.ts';
import { CERT_PROVIDER_INSTANCE, IDENTITY_CERT_NAME, ROOT_CERT_NAME } from './cert-providers.ts';
import { packResource } from './pack.ts';
import { effectiveMtls } from './peer-authn.ts';
import type { GeneratorContext } from './types.ts';
import { toStruct } from './types.ts';

/** The endpoint metadata filter (and match) key that selects a transport socket. */
export const TRANSPORT_SOCKET_MATCH_KEY = 'envoy.transport_socket_match';

/** Istio `ClientTLSSettings`. */
interface ClientTlsView {
  mode?: string;
  clientCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  credentialName?: string;
  subjectAltNames?: string[];
  sni?: string;
  insecureSkipVerify?: boolean;
}

/**
 * True for a workload that speaks Istio mTLS: a self-registered Weft workload, or a
 * WorkloadEntry (or any endpoint) labelled `security.istio.io/tlsMode: istio`. ServiceEntry
 * static endpoints and external hosts are not. EDS marks such endpoints with
 * `filter_metadata["envoy.transport_socket_match"] = {tlsMode: "istio"}`.
 */
export function isMeshWorkload(w: WorkloadInstance): boolean {
  return w.origin === 'registration' || w.labels['security.istio.io/tlsMode'] === 'istio';
}

/** Istio's SNI for a mesh cluster: `outbound_.<port>_.<subset>_.<host>`. */
export function istioSni(hostname: string, port: number, subset: string): string {
  return `outbound_.${port}_.${subset}_.${hostname}`;
}

/** `spiffe://<td>/ns/<ns>/sa/<sa>` of every workload of the service, sorted, without duplicates. */
function serviceIdentities(ctx: GeneratorContext, hostname: string): string[] {
  const td = ctx.index.model.trustDomain;
  const ids = new Set<string>();
  for (const w of ctx.index.endpointsFor(hostname, '')) ids.add(`spiffe://${td}/ns/${w.namespace}/sa/${w.serviceAccount || 'default'}`);
  return [...ids].sort();
}

function istioMutualSocket(sans: readonly string[], sni: string): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: packResource(TypeUrl.upstreamTlsContext, {
      common_tls_context: {
        tls_certificate_provider_instance: { instance_name: CERT_PROVIDER_INSTANCE, certificate_name: IDENTITY_CERT_NAME },
        combined_validation_context: {
          // the current field (grpc-js-xds requires it) beside the deprecated one istiod also sends
          default_validation_context: {
            match_subject_alt_names: sans.map((exact) => ({ exact })),
            ca_certificate_provider_instance: { instance_name: CERT_PROVIDER_INSTANCE, certificate_name: ROOT_CERT_NAME },
          },
          validation_context_certificate_provider_instance: { instance_name: CERT_PROVIDER_INSTANCE, certificate_name: ROOT_CERT_NAME },
        },
      },
      sni,
    }),
  };
}

function fileTlsSocket(tls: ClientTlsView, isMutual: boolean): Record<string, unknown> {
  const validation: Record<string, unknown> = {};
  if (tls.caCertificates && !tls.insecureSkipVerify) validation.trusted_ca = { filename: tls.caCertificates };
  if (tls.subjectAltNames?.length) validation.match_subject_alt_names = tls.subjectAltNames.map((exact) => ({ exact }));
  const common: Record<string, unknown> = {};
  if (Object.keys(validation).length) common.validation_context = validation;
  if (isMutual && tls.clientCertificate && tls.privateKey) {
    common.tls_certificates = [{ certificate_chain: { filename: tls.clientCertificate }, private_key: { filename: tls.privateKey } }];
  }
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: packResource(TypeUrl.upstreamTlsContext, { common_tls_context: common, ...(tls.sni ? { sni: tls.sni } : {}) }),
  };
}

/**
 * The transport fields of one cluster (`transport_socket` or `transport_socket_matches`), to
 * spread into the Cluster message; `{}` for plaintext. See the module comment.
 */
export function upstreamTransport(ctx: GeneratorContext, name: string, hostname: string, port: number, subset: string): Record<string, unknown> {
  const tls = ctx.index.trafficPolicyFor(hostname, port, subset).tls as ClientTlsView | undefined;
  const mode = tls?.mode ?? (tls ? 'DISABLE' : undefined);
  if (mode === 'ISTIO_MUTUAL') {
    const sans = tls?.subjectAltNames?.length ? [...tls.subjectAltNames] : serviceIdentities(ctx, hostname);
    return { transport_socket: istioMutualSocket(sans, tls?.sni || istioSni(hostname, port, subset)) };
  }
  if (mode === 'SIMPLE' || mode === 'MUTUAL') {
    if (tls?.credentialName) {
      ctx.omit({ type: 'cluster', resource: name, field: 'trafficPolicy.tls.credentialName', reason: 'Kubernetes secrets are not read; give clientCertificate/privateKey/caCertificates files instead' });
    }
    if (mode === 'MUTUAL' && !(tls?.clientCertificate && tls.privateKey)) {
      ctx.omit({ type: 'cluster', resource: name, field: 'trafficPolicy.tls.clientCertificate', reason: 'MUTUAL without clientCertificate and privateKey files: TLS is sent without a client certificate' });
    }
    return { transport_socket: fileTlsSocket(tls ?? {}, mode === 'MUTUAL') };
  }
  if (mode !== undefined) return {}; // DISABLE (or a mode the analyzer already reported)
  const svc = ctx.index.model.services.get(hostname);
  if (svc?.location === 'MESH_EXTERNAL') return {};
  const model = ctx.index.model;
  const servicePort = svc?.ports.find((p) => p.number === port);
  const acceptsMtls = (w: WorkloadInstance) => {
    const workloadPort = (servicePort && w.ports[servicePort.name]) ?? servicePort?.targetPort ?? port;
    return effectiveMtls(model, { namespace: w.namespace, labels: w.labels, serviceAccount: w.serviceAccount, workloadName: w.id }, workloadPort).mode !== 'DISABLE';
  };
  // like istiod: no auto mTLS towards workloads whose PeerAuthentication disables it
  if (!ctx.index.endpointsFor(hostname, '').some((w) => isMeshWorkload(w) && acceptsMtls(w))) return {};
  if (ctx.caps.kind === 'grpc' || ctx.caps.kind === 'grpc-js-xds') {
    ctx.omit({ type: 'cluster', resource: name, field: 'auto mTLS', reason: 'gRPC clients read transport_socket only, not transport_socket_matches (istiod leaves auto mTLS off for proxyless gRPC); set DestinationRule tls.mode ISTIO_MUTUAL for mTLS' });
  }
  return {
    transport_socket_matches: [
      { name: 'tlsMode-istio', match: toStruct({ tlsMode: 'istio' }), transport_socket: istioMutualSocket(serviceIdentities(ctx, hostname), istioSni(hostname, port, subset)) },
      { name: 'tlsMode-disabled', match: toStruct({}), transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } },
    ],
  };
}
