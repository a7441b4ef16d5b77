/**
 * Who a workload is, as Istio's standard metrics name it: the local workload (from the
 * `WEFT_*` environment) and peers (from EDS endpoint metadata, from Istio's metadata-exchange
 * header, or from an mTLS certificate). A {@link PeerIdentity} is immutable and cached by its
 * source, so the per-request path only looks it up.
 */

/** The identity half of Istio's standard labels, for one side (source or destination) of a request. */
export interface PeerIdentity {
  /** Workload (Deployment) name; `unknown` when not known. */
  readonly workload: string;
  readonly namespace: string;
  /** SPIFFE principal (`spiffe://td/ns/n/sa/s`) or `unknown`. */
  readonly principal: string;
  /** `app` label (or `unknown`). */
  readonly app: string;
  /** `version` label (or `unknown`). */
  readonly version: string;
  /** `service.istio.io/canonical-name`, else `app`, else the workload name. */
  readonly canonicalService: string;
  /** `service.istio.io/canonical-revision`, else `version`, else `latest`. */
  readonly canonicalRevision: string;
  /** Istio cluster id (`CLUSTER_ID`) or `unknown`. */
  readonly cluster: string;
  /** Service account, when known (used to build the principal). */
  readonly serviceAccount?: string;
  /** Labels as sent, kept for the metadata-exchange header. */
  readonly labels: Readonly<Record<string, string>>;
}

/** The value Istio writes for every label it cannot know. */
export const UNKNOWN = 'unknown';

/** A peer nobody knows anything about. */
export const UNKNOWN_PEER: PeerIdentity = Object.freeze({
  workload: UNKNOWN,
  namespace: UNKNOWN,
  principal: UNKNOWN,
  app: UNKNOWN,
  version: UNKNOWN,
  canonicalService: UNKNOWN,
  canonicalRevision: UNKNOWN,
  cluster: UNKNOWN,
  labels: Object.freeze({}),
});

/** Inputs of {@link createPeerIdentity}; every field optional. */
export interface PeerIdentityInput {
  workload?: string;
  namespace?: string;
  serviceAccount?: string;
  principal?: string;
  labels?: Readonly<Record<string, string>>;
  cluster?: string;
  trustDomain?: string;
}

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/** Builds a frozen {@link PeerIdentity} with Istio's fallbacks for canonical service/revision. */
export function createPeerIdentity(input: PeerIdentityInput): PeerIdentity {
  const labels = input.labels ?? {};
  const workload = nonEmpty(input.workload) ?? UNKNOWN;
  const namespace = nonEmpty(input.namespace) ?? UNKNOWN;
  const app = nonEmpty(labels['app']) ?? nonEmpty(labels['app.kubernetes.io/name']) ?? UNKNOWN;
  const version = nonEmpty(labels['version']) ?? nonEmpty(labels['app.kubernetes.io/version']) ?? UNKNOWN;
  const principal =
    nonEmpty(input.principal) ??
    (input.serviceAccount !== undefined && input.serviceAccount !== '' && namespace !== UNKNOWN
      ? `spiffe://${input.trustDomain ?? 'cluster.local'}/ns/${namespace}/sa/${input.serviceAccount}`
      : UNKNOWN);
  return Object.freeze({
    workload,
    namespace,
    principal,
    app,
    version,
    canonicalService: nonEmpty(labels['service.istio.io/canonical-name']) ?? (app !== UNKNOWN ? app : workload),
    canonicalRevision: nonEmpty(labels['service.istio.io/canonical-revision']) ?? (version !== UNKNOWN ? version : 'latest'),
    cluster: nonEmpty(input.cluster) ?? UNKNOWN,
    serviceAccount: nonEmpty(input.serviceAccount),
    labels: Object.freeze({ ...labels }),
  });
}

function parseLabels(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (value ?? '').split(',')) {
    const i = pair.indexOf('=');
    if (i > 0) out[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
  }
  return out;
}

/**
 * This workload's identity from the `WEFT_*` variables (`WEFT_SERVICE`, `WEFT_NAMESPACE`,
 * `WEFT_LABELS`, `WEFT_SERVICE_ACCOUNT`, `WEFT_CLUSTER_ID`, `WEFT_TRUST_DOMAIN`). A client-only
 * process (no `WEFT_SERVICE`) is `unknown` except for its namespace. The `app` label defaults
 * to the service name, as a Kubernetes Deployment would carry it.
 */
export function localWorkloadFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): PeerIdentity {
  const service = nonEmpty(env['WEFT_SERVICE']);
  const labels = parseLabels(env['WEFT_LABELS']);
  if (service !== undefined && labels['app'] === undefined) labels['app'] = service;
  return createPeerIdentity({
    workload: nonEmpty(env['WEFT_WORKLOAD_NAME']) ?? service,
    namespace: nonEmpty(env['WEFT_NAMESPACE']) ?? 'default',
    serviceAccount: nonEmpty(env['WEFT_SERVICE_ACCOUNT']) ?? service,
    labels,
    cluster: nonEmpty(env['WEFT_CLUSTER_ID']) ?? 'Kubernetes',
    trustDomain: nonEmpty(env['WEFT_TRUST_DOMAIN']),
  });
}

const byMetadata = new WeakMap<object, PeerIdentity>();

/**
 * The identity of an EDS endpoint from its metadata (`filter_metadata.istio`: `workload` as
 * `name;namespace;…`, `namespace`, `labels`), cached per metadata object (metadata objects are
 * immutable and shared by every snapshot of an endpoint). Unknown fields are `unknown`.
 */
export function peerFromEndpointMetadata(metadata: Readonly<Record<string, unknown>> | undefined): PeerIdentity {
  if (metadata === undefined) return UNKNOWN_PEER;
  const cached = byMetadata.get(metadata);
  if (cached !== undefined) return cached;
  const istio = metadata['istio'];
  let peer = UNKNOWN_PEER;
  if (istio !== null && typeof istio === 'object') {
    const m = istio as Record<string, unknown>;
    const parts = typeof m['workload'] === 'string' ? m['workload'].split(';') : [];
    const labels: Record<string, string> = {};
    if (m['labels'] !== null && typeof m['labels'] === 'object') {
      for (const [k, v] of Object.entries(m['labels'] as Record<string, unknown>)) if (typeof v === 'string') labels[k] = v;
    }
    peer = createPeerIdentity({
      workload: parts[0],
      namespace: typeof m['namespace'] === 'string' ? m['namespace'] : parts[1],
      // Weft's control plane sends `name;namespace;serviceAccount`; Istio's third part is the canonical service.
      serviceAccount: typeof m['service_account'] === 'string' ? m['service_account'] : parts.length === 3 ? parts[2] : undefined,
      labels,
      cluster: typeof m['cluster'] === 'string' ? m['cluster'] : parts[4],
    });
    // The principal is only known from a TLS handshake; without mTLS Istio reports `unknown`.
    if (peer.principal !== UNKNOWN) peer = Object.freeze({ ...peer, principal: UNKNOWN });
  }
  byMetadata.set(metadata, peer);
  return peer;
}

/** Per peer, its variants with a principal set; bounded per peer (a peer has few identities). */
const byPrincipal = new WeakMap<PeerIdentity, Map<string, PeerIdentity>>();
const MAX_PRINCIPALS_PER_PEER = 64;

/**
 * `peer` with `principal` set (from a verified mTLS certificate). The same (peer, principal) gives
 * the same object every time: metric series are keyed by identity objects, so a fresh object per
 * request would make a new series per request.
 */
export function withPrincipal(peer: PeerIdentity, principal: string | undefined): PeerIdentity {
  if (principal === undefined || principal === peer.principal) return peer;
  let variants = byPrincipal.get(peer);
  if (variants === undefined) byPrincipal.set(peer, (variants = new Map()));
  let found = variants.get(principal);
  if (found === undefined) {
    if (variants.size >= MAX_PRINCIPALS_PER_PEER) variants.clear();
    found = Object.freeze({ ...peer, principal });
    variants.set(principal, found);
  }
  return found;
}
