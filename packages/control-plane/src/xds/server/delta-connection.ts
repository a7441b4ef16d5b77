/**
 * `DeltaAggregatedResources` (incremental xDS): subscriptions change by `resource_names_subscribe`
 * / `_unsubscribe`, responses carry only resources whose version the client does not hold and
 * the names of resources that went away. `initial_resource_versions` on a reconnect count as
 * already sent, so an unchanged resource is not sent twice. ACK/NACK follow the nonce as in SotW;
 * subscription changes are applied whatever the nonce.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { TypeUrl, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type DeltaResource } from '@weft/xds-client';
import type { EncodedResource } from '../snapshot.ts';
import { deltaResourceField, deltaResponse } from './wire.ts';
import { ClientConnection, WILDCARD_TYPES, type ConnectionHost, type TypeState } from './client-connection.ts';

/** Stand-in for a resource the client says it holds at a version we did not send on this stream. */
function held(name: string, version: string): EncodedResource {
  return { name, version, any: { type_url: '', value: new Uint8Array() }, message: {} };
}

/** One delta ADS stream; see the module comment. */
export class DeltaConnection extends ClientConnection {
  readonly protocol = 'delta' as const;
  /** Names newly subscribed that must be answered even when absent (as removed). */
  private readonly pendingAbsent = new Map<TypeState, Set<string>>();

  constructor(host: ConnectionHost, call: ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) {
    super(host, call as ServerDuplexStream<object, object>);
    call.on('data', (req: DeltaDiscoveryRequest) => this.onRequest(req));
  }

  private onRequest(req: DeltaDiscoveryRequest): void {
    const typeUrl = this.beginRequest(req.node, req.type_url ?? '', 'DeltaDiscoveryRequest');
    if (!typeUrl) return;
    const isFirst = !this.types.has(typeUrl);
    const st = this.typeState(typeUrl);
    const nonce = req.response_nonce ?? '';
    if (nonce) {
      if (nonce === st.sentNonce) {
        if (req.error_detail && (req.error_detail.code || req.error_detail.message)) this.recordNack(st, '', nonce, req.error_detail);
        else this.recordAck(st, st.sentVersion, nonce);
      } else this.host.metrics.badRequests.inc({ reason: 'stale_nonce' });
    }
    const subscribe = req.resource_names_subscribe ?? [];
    const unsubscribe = req.resource_names_unsubscribe ?? [];
    if (this.refuseOverLimits(st, subscribe)) return;
    if (isFirst) {
      const initial = Object.entries(req.initial_resource_versions ?? {}).slice(0, this.host.limits.maxNamesPerType);
      for (const [name, version] of initial) st.sent.set(name, held(name, version));
      if (subscribe.length === 0 && WILDCARD_TYPES.has(typeUrl)) st.isWildcard = true;
    }
    const absent = this.pendingAbsent.get(st) ?? new Set<string>();
    for (const name of subscribe) {
      if (name === '*') st.isWildcard = true;
      else {
        st.subscribed.add(name);
        absent.add(name);
      }
    }
    for (const name of unsubscribe) {
      if (name === '*') st.isWildcard = false;
      else {
        st.subscribed.delete(name);
        st.sent.delete(name);
        st.removalDue.delete(name);
        absent.delete(name);
      }
    }
    if (absent.size) this.pendingAbsent.set(st, absent);
    if (isFirst || subscribe.length || unsubscribe.length) {
      this.subscriptionChanged(st);
      this.respond(st, isFirst);
    }
  }

  protected respond(st: TypeState, isForced: boolean): boolean {
    if (!this.canRespond(st)) return false;
    const desired = this.desired(st).resources;
    const resources: DeltaResource[] = [];
    const fields: Buffer[] = [];
    let bytes = 0;
    for (const [name, r] of desired) {
      if (st.sent.get(name)?.version === r.version) continue;
      resources.push({ name, version: r.version });
      // the field names the resource: shared by every stream only when asked for by its own name
      const field = name === r.name ? (r.deltaField ??= deltaResourceField(name, r.version, r.any)) : deltaResourceField(name, r.version, r.any);
      fields.push(field);
      bytes += field.length;
    }
    const removed: string[] = [];
    for (const name of st.sent.keys()) if (!desired.has(name)) removed.push(name);
    const absent = this.pendingAbsent.get(st);
    if (absent) {
      for (const name of absent) if (!desired.has(name) && !st.sent.has(name)) removed.push(name);
      this.pendingAbsent.delete(st);
    }
    if (!resources.length && !removed.length && !isForced) return false;
    for (const name of removed) st.sent.delete(name);
    for (const r of resources) st.sent.set(r.name as string, desired.get(r.name as string) as EncodedResource);
    const nonce = this.nextNonce();
    this.markSent(st, this.snapshot?.version ?? '', nonce);
    return this.write(st, deltaResponse(st.sentVersion, fields, st.typeUrl, removed, nonce), bytes);
  }
}
