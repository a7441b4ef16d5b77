/**
 * `StreamAggregatedResources` (state of the world): every response carries the full set of the
 * resources the client subscribes to for that type. A request whose nonce is not the last one
 * sent for its type is stale and ignored; a request with the current nonce is an ACK, or a NACK
 * when it carries `error_detail` (recorded, nothing resent: the client keeps its last good
 * config). A type is pushed again only when the resources the client subscribes to changed.
 */
import { createHash } from 'node:crypto';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { TypeUrl, type DiscoveryRequest, type DiscoveryResponse } from '@weft/xds-client';
import type { EncodedResource } from '../snapshot.ts';
import { sotwResourceField, sotwResponseHead, withNonce } from './wire.ts';
import { ClientConnection, WILDCARD_TYPES, type ConnectionHost, type TypeState } from './client-connection.ts';

/** Version of a set of resources: the resource's own version for one, else a hash of names and versions. */
export function setVersion(desired: ReadonlyMap<string, EncodedResource>): string {
  if (desired.size === 1) {
    const [[name, r]] = desired as unknown as [[string, EncodedResource]];
    if (name === r.name) return r.version;
  }
  const hash = createHash('sha256');
  for (const name of [...desired.keys()].sort()) hash.update(name).update('\0').update(desired.get(name)?.version ?? '');
  return hash.digest('hex').slice(0, 16);
}

const NO_NAMES: ReadonlySet<string> = new Set();

/** True when `names` (without `*`) are exactly the names of `subscribed`. */
function isSameSubscription(names: readonly string[], subscribed: ReadonlySet<string>): boolean {
  let count = 0;
  for (const n of names) {
    if (n === '*') continue;
    if (!subscribed.has(n)) return false;
    count++;
  }
  // duplicates make count larger than the set: treated as a change, which recomputes the same set
  return count === subscribed.size;
}

/** One SotW ADS stream; see the module comment. */
export class SotwConnection extends ClientConnection {
  readonly protocol = 'sotw' as const;

  constructor(host: ConnectionHost, call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) {
    super(host, call as ServerDuplexStream<object, object>);
    call.on('data', (req: DiscoveryRequest) => this.onRequest(req));
  }

  private onRequest(req: DiscoveryRequest): void {
    const typeUrl = this.beginRequest(req.node, req.type_url ?? '', 'DiscoveryRequest');
    if (!typeUrl) return;
    const st = this.typeState(typeUrl);
    const nonce = req.response_nonce ?? '';
    if (nonce) {
      if (nonce !== st.sentNonce) {
        this.host.metrics.badRequests.inc({ reason: 'stale_nonce' });
        return;
      }
      if (req.error_detail && (req.error_detail.code || req.error_detail.message)) this.recordNack(st, req.version_info ?? '', nonce, req.error_detail);
      else this.recordAck(st, req.version_info ?? '', nonce);
    }
    const names = req.resource_names ?? [];
    // a SotW request replaces the subscription: its names alone are checked against the limits
    if (this.refuseOverLimits(st, names, NO_NAMES)) return;
    const isWildcard = names.includes('*') || (names.length === 0 && WILDCARD_TYPES.has(typeUrl) && (!st.hasResponded || st.isWildcard));
    // an ACK repeats the subscription: nothing is allocated unless it changed
    const isChanged = isWildcard !== st.isWildcard || !isSameSubscription(names, st.subscribed);
    if (isChanged) {
      st.isWildcard = isWildcard;
      st.subscribed = new Set(names.filter((n) => n !== '*'));
      this.subscriptionChanged(st);
    }
    if (!st.hasResponded) this.respond(st, true);
    else if (isChanged) this.respond(st, true);
  }

  protected respond(st: TypeState, isForced: boolean): boolean {
    if (!this.canRespond(st)) return false;
    const { resources, shared } = this.desired(st);
    if (!isForced && sameVersions(resources, st.sent)) return false;
    // a set shared with other streams carries its version and encoded body: only the nonce is this stream's
    const version = shared ? (shared.version ??= setVersion(resources)) : setVersion(resources);
    let head = shared?.sotwHead;
    let bytes = shared?.bytes ?? 0;
    if (!head) {
      bytes = 0;
      const fields: Buffer[] = [];
      for (const r of resources.values()) {
        r.sotwField ??= sotwResourceField(r.any);
        bytes += r.sotwField.length;
        fields.push(r.sotwField);
      }
      head = sotwResponseHead(version, fields, st.typeUrl);
      if (shared) {
        shared.sotwHead = head;
        shared.bytes = bytes;
      }
    }
    const nonce = this.nextNonce();
    st.sent = resources;
    this.markSent(st, version, nonce);
    return this.write(st, withNonce(head, nonce), bytes);
  }
}

/** True when both sets hold the same names at the same versions. */
function sameVersions(a: ReadonlyMap<string, EncodedResource>, b: ReadonlyMap<string, EncodedResource>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [name, r] of a) if (b.get(name)?.version !== r.version) return false;
  return true;
}
