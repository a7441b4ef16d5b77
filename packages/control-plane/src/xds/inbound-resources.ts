/**
 * Per-node inbound listeners. Unlike the rest of a snapshot, the inbound listener depends on
 * who asks (namespace, labels, service account from the node metadata) and on the name it
 * asks for (`xds.istio.io/grpc/lds/inbound/<ip>:<port>`), so it is resolved per stream: built
 * on first request for a (model, name, workload, client profile) and encoded once per distinct
 * content. Equal bytes get equal versions, so a config change that leaves a workload's
 * inbound listener unchanged pushes nothing to it.
 */
import { createHash } from 'node:crypto';
import { TypeUrl, type XdsNode } from '@weft/xds-client';
import type { MeshModel } from '../model/mesh-model.ts';
import { capabilityProfileKey, type ClientCapabilities, type Omission } from './client-capabilities.ts';
import { buildInboundListener } from './generators/inbound-listener.ts';
import { packResource } from './generators/pack.ts';
import type { InboundWorkload } from './generators/workload-selector.ts';
import { parseInboundListenerName } from './names.ts';
import type { EncodedResource } from './snapshot.ts';

/** An inbound listener for one stream and what was left out of it. */
export interface InboundResult {
  /** Absent when the listener could not be encoded (the reason is in `omissions`). */
  resource: EncodedResource | undefined;
  omissions: readonly Omission[];
}

/** See the module comment. */
export interface InboundResources {
  /**
   * The inbound listener `name` for `workload` under `model`, or `undefined` when `name` is not
   * an inbound listener name. Never throws: a listener that cannot be encoded has no
   * `resource` and an omission saying why (validated config does not get there).
   */
  resolve(model: MeshModel, name: string, workload: InboundWorkload, caps: ClientCapabilities): InboundResult | undefined;
}

const MAX_ENTRIES = 10_000;

/**
 * A node's namespace: its metadata `NAMESPACE`, else the one in an Istio-style node id
 * (`sidecar~IP~POD.NS~NS.svc.cluster.local`), else `default`.
 */
export function namespaceOfNode(node: XdsNode | undefined, metadata: Readonly<Record<string, unknown>>): string {
  const ns = metadata.NAMESPACE;
  return typeof ns === 'string' && ns ? ns : node?.id?.split('~')[2]?.split('.')[1] || 'default';
}

/** Reads the serving workload from node metadata (Istio keys), defaulting like istiod. */
export function inboundWorkloadFromMetadata(metadata: Readonly<Record<string, unknown>>, namespace: string): InboundWorkload {
  const raw = metadata.LABELS;
  let labels: Record<string, string> = {};
  if (typeof raw === 'string') {
    labels = Object.fromEntries(raw.split(',').map((kv) => kv.split('=')).filter((kv): kv is [string, string] => kv.length === 2 && !!kv[0]).map(([k, v]) => [k.trim(), v.trim()]));
  } else if (raw && typeof raw === 'object') {
    labels = Object.fromEntries(Object.entries(raw).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  }
  const sa = metadata.SERVICE_ACCOUNT;
  const name = metadata.WORKLOAD_NAME;
  return {
    namespace,
    labels,
    serviceAccount: typeof sa === 'string' && sa ? sa : 'default',
    workloadName: typeof name === 'string' ? name : '',
  };
}

/** What the listener depends on: namespace and labels (policies select on those, not on the service account). */
function workloadKey(w: InboundWorkload): string {
  const labels = Object.keys(w.labels).sort().map((k) => `${k}=${w.labels[k]}`).join(',');
  return `${w.namespace}\u0000${labels}`;
}

/** Creates the resolver; it caches the current model's listeners only. */
export function createInboundResources(): InboundResources {
  let model: MeshModel | undefined;
  let built = new Map<string, InboundResult>();
  /** Encodings by content, kept across generations so unchanged listeners keep their object. */
  let byContent = new Map<string, EncodedResource>();
  return {
    resolve(m, name, workload, caps) {
      const address = parseInboundListenerName(name);
      if (!address) return undefined;
      if (m !== model) {
        model = m;
        built = new Map();
        if (byContent.size > MAX_ENTRIES) byContent = new Map();
      }
      const key = `${name}\u0000${workloadKey(workload)}\u0000${capabilityProfileKey(caps)}`;
      const hit = built.get(key);
      if (hit) return hit;
      const omissions: Omission[] = [];
      let resource: EncodedResource | undefined;
      try {
        const generated = buildInboundListener({ model: m, workload, name, address: address.address, port: address.port, caps, omit: (o) => omissions.push(o) });
        const json = JSON.stringify(generated.message);
        resource = byContent.get(json);
        if (!resource) {
          const any = packResource(TypeUrl.listener, generated.message);
          resource = { name, version: createHash('sha256').update(any.value).digest('hex').slice(0, 16), any, message: generated.message, json };
          byContent.set(json, resource);
        }
      } catch (err) {
        omissions.push({ type: 'listener', resource: name, field: 'inbound listener', reason: `cannot be encoded: ${(err as Error).message}; not sent` });
      }
      const result = { resource, omissions };
      if (built.size < MAX_ENTRIES) built.set(key, result);
      return result;
    },
  };
}
