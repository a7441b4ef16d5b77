/**
 * The workload behind an Envoy sidecar, read from its node (the metadata `weft envoy-bootstrap`
 * writes): namespace, labels and service account (what inbound policies select on) and the
 * app's port (where the inbound cluster leads). It is part of an Envoy client's capabilities,
 * so Envoy nodes of the same workload shape share one snapshot.
 */
import type { XdsNode } from '@weft/xds-client';
import { inboundWorkloadFromMetadata, namespaceOfNode } from '../inbound-resources.ts';
import { parsePorts } from '../self-registration.ts';
import type { InboundWorkload } from '../generators/workload-selector.ts';

/** See the module comment. */
export interface EnvoyWorkload extends InboundWorkload {
  /** The app's port (first of `WEFT_PORTS`); undefined: the sidecar only proxies outbound. */
  appPort: number | undefined;
  /**
   * True when the bootstrap holds the workload's certificate as static secrets `default` and
   * `ROOTCA` (`weft envoy-bootstrap --certs-dir`, metadata {@link ENVOY_SECRETS_METADATA_KEY}
   * `static`): TLS contexts then name them. False: the sidecar has no certificate.
   */
  hasStaticSecrets: boolean;
}

/** Node metadata key saying where the sidecar's certificates are (`static`: in its bootstrap). */
export const ENVOY_SECRETS_METADATA_KEY = 'WEFT_ENVOY_SECRETS';

/** Reads the workload from a node; never throws (missing keys default as istiod does). */
export function envoyWorkloadFromNode(node: XdsNode | undefined, metadata: Readonly<Record<string, unknown>>): EnvoyWorkload {
  return {
    ...inboundWorkloadFromMetadata(metadata, namespaceOfNode(node, metadata)),
    appPort: parsePorts(metadata.WEFT_PORTS)[0]?.number,
    hasStaticSecrets: metadata[ENVOY_SECRETS_METADATA_KEY] === 'static',
  };
}

/** Equal for workloads that get equal resources (namespace, labels, service account, app port, secrets). */
export function envoyWorkloadKey(w: EnvoyWorkload | undefined): string {
  if (!w) return '';
  const labels = Object.keys(w.labels).sort().map((k) => `${k}=${w.labels[k]}`).join(',');
  return [w.namespace, labels, w.serviceAccount, w.appPort ?? '', w.hasStaticSecrets].join('\u0000');
}
