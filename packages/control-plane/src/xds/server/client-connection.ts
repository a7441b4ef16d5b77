/**
 * What the SotW and delta streams share: the client's identity (node id, metadata, kind,
 * capabilities), per-type subscription and sync bookkeeping (sent version and nonce, ACKed
 * version, last NACK), backpressure (a stream that does not drain gets no new messages, only a
 * "dirty" mark per type), and make-before-break removal of clusters and assignments.
 */
import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { XdsNode } from '@weft/xds-client';
import type { MeshModel } from '../../model/mesh-model.ts';
import { capabilitiesFor, detectClientKind, type ClientCapabilities, type ClientKind, type Omission } from '../client-capabilities.ts';
import { placementOfNode, type ClientPlacement } from '../generators/locality-lb.ts';
import type { InboundWorkload } from '../generators/workload-selector.ts';
import { fromStruct } from '../generators/types.ts';
import { createInboundResources, inboundWorkloadFromMetadata, namespaceOfNode, type InboundResources } from '../inbound-resources.ts';
import { metricsForType, type TypeMetrics, type XdsMetrics } from '../metrics.ts';
import { INBOUND_LISTENER_PREFIX } from '../names.ts';
import { isSnapshotType, type EncodedResource, type Snapshot, type SnapshotTypeUrl } from '../snapshot.ts';
import { TypeUrl } from '@weft/xds-client';
import { sharedSet, subscriptionKey, type SharedSet } from './shared-sets.ts';

/** The last NACK a client sent for one type. */
export interface NackRecord {
  nonce: string;
  /** `version_info` the client says it still runs. */
  version: string;
  message: string;
  code: number;
  at: string;
}

/** Subscription and sync state of one resource type on one stream. */
export interface TypeState {
  typeUrl: SnapshotTypeUrl;
  isWildcard: boolean;
  subscribed: Set<string>;
  /** Resources last sent (SotW: the last response; delta: what the client holds). */
  sent: Map<string, EncodedResource>;
  /** When a vanished cluster/assignment may finally be removed (make-before-break). */
  removalDue: Map<string, number>;
  sentVersion: string;
  sentNonce: string;
  /** Epoch ms of the last response (0: none). */
  sentAt: number;
  ackedVersion: string;
  ackedNonce: string;
  lastNack: NackRecord | undefined;
  ackCount: number;
  nackCount: number;
  hasResponded: boolean;
  isDirty: boolean;
  /**
   * Key of the subscription among streams that may share resource sets (see `shared-sets.ts`):
   * undefined until computed (and after the subscription changed), null when it names
   * node-specific resources and cannot be shared.
   */
  shareKey: string | null | undefined;
  /** The type's per-push metric recorders, resolved on first use. */
  metrics?: TypeMetrics;
}

/** What a stream should hold for a type, and the shared set it came from (if any). */
export interface DesiredResources {
  resources: Map<string, EncodedResource>;
  /** Set when `resources` is a set shared with other streams (never mutate it then). */
  shared: SharedSet | undefined;
}

/** Limits that keep one client's memory bounded. */
export interface ConnectionLimits {
  /** Most resource names one stream may subscribe to per type. */
  maxNamesPerType: number;
  /** Longest accepted resource name. */
  maxNameLength: number;
  /** How long a vanished cluster or assignment is still sent, so routes move off it first. */
  removalDelayMs: number;
}

/** The services a stream needs from its server. */
export interface ConnectionHost {
  snapshotFor(caps: ClientCapabilities): Snapshot | undefined;
  /**
   * The model in force, for the per-node inbound listeners
   * (`xds.istio.io/grpc/lds/inbound/<ip>:<port>`); without it those names are answered as absent.
   */
  model?(): MeshModel;
  metrics: XdsMetrics;
  limits: ConnectionLimits;
  /** Called once when the first request named the node. */
  onIdentified(conn: ClientConnection): void;
  /** Called once when the stream ends, however it ends. */
  onClosed(conn: ClientConnection): void;
}

/** Types whose empty first subscription means "everything" (wildcard), as in the xDS spec. */
export const WILDCARD_TYPES: ReadonlySet<string> = new Set<string>([TypeUrl.listener, TypeUrl.cluster]);

/** The order a new snapshot is pushed in, type by type (as istiod: CDS, EDS, LDS, RDS). */
const PUSH_ORDER: readonly SnapshotTypeUrl[] = [TypeUrl.cluster, TypeUrl.clusterLoadAssignment, TypeUrl.listener, TypeUrl.routeConfiguration];

let connectionCounter = 0;

/** One inbound listener resolver per server (host), shared by its streams. */
const inboundResolvers = new WeakMap<ConnectionHost, InboundResources>();

function inboundResolverOf(host: ConnectionHost): InboundResources {
  let r = inboundResolvers.get(host);
  if (!r) {
    r = createInboundResources();
    inboundResolvers.set(host, r);
  }
  return r;
}

/** Reads the node's metadata (a decoded `google.protobuf.Struct`) as plain JSON. */
export function nodeMetadata(node: XdsNode | undefined): Record<string, unknown> {
  const raw = node?.metadata as unknown;
  if (raw && typeof raw === 'object' && 'fields' in (raw as object)) return fromStruct(raw);
  return (raw as Record<string, unknown> | undefined) ?? {};
}

/** Base of {@link SotwConnection} and {@link DeltaConnection}; see the module comment. */
export abstract class ClientConnection {
  /** `sotw` or `delta`. */
  abstract readonly protocol: 'sotw' | 'delta';
  readonly connectionId: string;
  readonly connectedAt = new Date().toISOString();
  nodeId = '';
  node: XdsNode | undefined;
  metadata: Record<string, unknown> = {};
  kind: ClientKind = 'unknown';
  caps: ClientCapabilities = capabilitiesFor('unknown');
  namespace = 'default';
  /** Where the client runs (node locality + `LABELS`), for EDS locality priorities; undefined when it reports no locality. */
  placement: ClientPlacement | undefined;
  snapshot: Snapshot | undefined;
  readonly types = new Map<SnapshotTypeUrl, TypeState>();
  /** The same states in push order (CDS, EDS, LDS, RDS), for the push loop without map lookups. */
  private readonly pushOrder: (TypeState | undefined)[] = [undefined, undefined, undefined, undefined];
  /** Type URLs the client asked for that the server does not serve (bounded). */
  readonly unknownTypes = new Set<string>();
  isClosed = false;
  /** Omissions of the inbound listeners this stream asked for, by listener name. */
  readonly inboundOmissions = new Map<string, readonly Omission[]>();
  private inboundWorkload: InboundWorkload | undefined;
  protected nonceCounter = 0;
  protected removalTimer: NodeJS.Timeout | undefined;
  protected readonly host: ConnectionHost;
  protected readonly call: ServerDuplexStream<object, object>;

  constructor(host: ConnectionHost, call: ServerDuplexStream<object, object>) {
    this.host = host;
    this.call = call;
    this.connectionId = `c${++connectionCounter}`;
    call.on('drain', () => this.flushDirty());
  }

  /** Identifies the client from its first request's node; false (stream refused) when there is none. */
  protected identify(node: XdsNode | undefined): boolean {
    if (this.nodeId) return true;
    if (!node?.id || node.id.length > 1024) return false;
    this.node = node;
    this.nodeId = node.id;
    this.metadata = nodeMetadata(node);
    this.kind = detectClientKind(node, this.metadata);
    this.caps = capabilitiesFor(this.kind, node, this.metadata);
    this.namespace = namespaceOfNode(node, this.metadata);
    this.placement = placementOfNode(node.locality, this.metadata.LABELS);
    this.snapshot = this.host.snapshotFor(this.caps);
    this.host.metrics.connections.inc({ kind: this.kind, protocol: this.protocol });
    this.host.onIdentified(this);
    return true;
  }

  /**
   * The common start of every request, SotW or delta: identifies the node (the stream ends
   * with INVALID_ARGUMENT when its first request names none) and checks the type. Returns the
   * type URL to serve, or `undefined` when the request needs nothing more (stream ended, or an
   * unknown type, which is recorded).
   */
  protected beginRequest(node: XdsNode | undefined, typeUrl: string, requestName: string): SnapshotTypeUrl | undefined {
    if (this.isClosed) return undefined;
    if (!this.identify(node)) {
      this.host.metrics.badRequests.inc({ reason: 'no_node' });
      this.end(status.INVALID_ARGUMENT, `the first ${requestName} of a stream must carry node.id`);
      return undefined;
    }
    if (!isSnapshotType(typeUrl)) {
      this.noteUnknownType(typeUrl);
      return undefined;
    }
    return typeUrl;
  }

  /**
   * Ends the stream with RESOURCE_EXHAUSTED when `names` added to `current` (default: the type's
   * subscription) exceed its limits; true when it did.
   */
  protected refuseOverLimits(st: TypeState, names: readonly string[], current: ReadonlySet<string> = st.subscribed): boolean {
    const problem = this.exceedsLimits(st.typeUrl, current, names);
    if (!problem) return false;
    this.host.metrics.badRequests.inc({ reason: 'limits' });
    this.end(status.RESOURCE_EXHAUSTED, problem);
    return true;
  }

  /** False when no response may be written now: the stream is closed, or full (the type is then marked dirty). */
  protected canRespond(st: TypeState): boolean {
    if (this.isClosed) return false;
    if (this.isBlocked()) {
      st.isDirty = true;
      return false;
    }
    return true;
  }

  /** Records the version and nonce of the response about to be written for `st`. */
  protected markSent(st: TypeState, version: string, nonce: string): void {
    st.sentVersion = version;
    st.sentNonce = nonce;
    st.sentAt = Date.now();
    st.hasResponded = true;
  }

  protected typeState(typeUrl: SnapshotTypeUrl): TypeState {
    let st = this.types.get(typeUrl);
    if (!st) {
      st = {
        typeUrl, isWildcard: false, subscribed: new Set(), sent: new Map(), removalDue: new Map(),
        sentVersion: '', sentNonce: '', sentAt: 0, ackedVersion: '', ackedNonce: '', lastNack: undefined,
        ackCount: 0, nackCount: 0, hasResponded: false, isDirty: false, shareKey: undefined,
      };
      this.types.set(typeUrl, st);
      const order = PUSH_ORDER.indexOf(typeUrl);
      if (order >= 0) this.pushOrder[order] = st;
    }
    return st;
  }

  /** True when `names` would push the type over its limits (the stream is then ended). */
  protected exceedsLimits(typeUrl: SnapshotTypeUrl, current: ReadonlySet<string>, names: readonly string[]): string | undefined {
    const { maxNamesPerType, maxNameLength } = this.host.limits;
    for (const n of names) if (typeof n !== 'string' || n.length > maxNameLength) return `a resource name is longer than ${maxNameLength} characters`;
    if (current.size + names.length > maxNamesPerType && new Set([...current, ...names]).size > maxNamesPerType) {
      return `more than ${maxNamesPerType} subscriptions for ${typeUrl}`;
    }
    return undefined;
  }

  protected recordAck(st: TypeState, version: string, nonce: string): void {
    st.ackedVersion = version;
    st.ackedNonce = nonce;
    st.ackCount++;
  }

  protected recordNack(st: TypeState, version: string, nonce: string, detail: { code?: number; message?: string }): void {
    st.lastNack = { nonce, version, message: detail.message ?? '', code: detail.code ?? 0, at: new Date().toISOString() };
    st.nackCount++;
    this.host.metrics.rejects.inc({ type: typeLabelOf(st.typeUrl) });
  }

  /** To be called after a type's subscription (names or wildcard) changed. */
  protected subscriptionChanged(st: TypeState): void {
    st.shareKey = undefined;
  }

  /**
   * The resources this stream should hold for a type right now: the subscribed (or all its
   * namespace may see, for a wildcard) resources of the snapshot, node-specific inbound
   * listeners, plus vanished clusters/assignments still inside their removal delay. When the
   * namespace view of the snapshot failed its consistency check, what was sent stays.
   */
  protected desired(st: TypeState): DesiredResources {
    const snap = this.snapshot;
    if (!snap) return { resources: new Map(), shared: undefined };
    const shared = this.sharedDesired(snap, st);
    if (shared) return { resources: shared.resources, shared };
    return { resources: this.ownDesired(snap, st), shared: undefined };
  }

  /**
   * The set this stream shares with every stream of the same view and subscription, or
   * undefined when its own state matters: inbound listeners in the subscription, removals still
   * pending, or a name the snapshot lacks that this stream was sent (its removal is deferred).
   */
  private sharedDesired(snap: Snapshot, st: TypeState): SharedSet | undefined {
    if (st.removalDue.size) return undefined;
    if (st.shareKey === undefined) st.shareKey = this.shareKeyOf(st);
    if (st.shareKey === null) return undefined;
    const set = sharedSet(snap, st.shareKey, () => this.buildShared(snap, st));
    if (!set) return undefined;
    if (set.missing.length && this.host.limits.removalDelayMs > 0 && (st.typeUrl === TypeUrl.cluster || st.typeUrl === TypeUrl.clusterLoadAssignment)) {
      for (const name of set.missing) if (st.sent.has(name)) return undefined;
    }
    // no inbound listener is subscribed (else the key is null): none of their omissions apply
    if (st.typeUrl === TypeUrl.listener && this.inboundOmissions.size) this.inboundOmissions.clear();
    return set;
  }

  /** The share key of a subscription; null when it names node-specific inbound listeners. */
  private shareKeyOf(st: TypeState): string | null {
    if (st.typeUrl === TypeUrl.listener) for (const name of st.subscribed) if (name.startsWith(INBOUND_LISTENER_PREFIX)) return null;
    // only assignments depend on where the client runs (locality LB priorities)
    const where = st.typeUrl === TypeUrl.clusterLoadAssignment && this.placement?.locality ? `\u0000${this.placement.locality}\u0000${JSON.stringify(this.placement.labels ?? {})}` : '';
    return subscriptionKey(st.typeUrl, `${this.namespace}${where}`, st.isWildcard, st.subscribed);
  }

  /** Resolves a shareable subscription against the snapshot (no per-stream state involved). */
  private buildShared(snap: Snapshot, st: TypeState): SharedSet | undefined {
    const visible = snap.resourcesFor(this.namespace);
    if (!visible) return undefined;
    const names = st.isWildcard ? new Set([...(visible.get(st.typeUrl)?.keys() ?? []), ...st.subscribed]) : st.subscribed;
    const resources = new Map<string, EncodedResource>();
    const missing: string[] = [];
    for (const name of names) {
      const r = snap.lookup(st.typeUrl, name, this.namespace, this.placement);
      if (r) resources.set(name, r);
      else missing.push(name);
    }
    return { resources, missing };
  }

  /** {@link desired} for a stream whose own state matters (see {@link sharedDesired}). */
  private ownDesired(snap: Snapshot, st: TypeState): Map<string, EncodedResource> {
    const out = new Map<string, EncodedResource>();
    const visible = snap.resourcesFor(this.namespace);
    // the client's namespace view failed its consistency check: it keeps what it has
    if (!visible) return new Map(st.sent);
    const names = st.isWildcard ? new Set([...(visible.get(st.typeUrl)?.keys() ?? []), ...st.subscribed]) : st.subscribed;
    const now = Date.now();
    const delay = this.host.limits.removalDelayMs;
    const isListener = st.typeUrl === TypeUrl.listener;
    if (isListener) for (const name of this.inboundOmissions.keys()) if (!names.has(name)) this.inboundOmissions.delete(name);
    for (const name of names) {
      const r = isListener && name.startsWith(INBOUND_LISTENER_PREFIX) ? this.inboundListener(name) : snap.lookup(st.typeUrl, name, this.namespace, this.placement);
      if (r) {
        out.set(name, r);
        st.removalDue.delete(name);
        continue;
      }
      const old = st.sent.get(name);
      const isDeferred = delay > 0 && old && (st.typeUrl === TypeUrl.cluster || st.typeUrl === TypeUrl.clusterLoadAssignment);
      if (isDeferred) {
        const due = st.removalDue.get(name) ?? now + delay;
        st.removalDue.set(name, due);
        if (due > now) {
          out.set(name, old);
          this.scheduleRemoval(due - now);
        } else st.removalDue.delete(name);
      }
    }
    return out;
  }

  /** The node-specific inbound listener `name` under the model in force, if the server has one. */
  private inboundListener(name: string): EncodedResource | undefined {
    const model = this.host.model?.();
    if (!model) return undefined;
    this.inboundWorkload ??= inboundWorkloadFromMetadata(this.metadata, this.namespace);
    const result = inboundResolverOf(this.host).resolve(model, name, this.inboundWorkload, this.caps);
    if (!result) return undefined;
    if (result.omissions.length) this.inboundOmissions.set(name, result.omissions);
    else this.inboundOmissions.delete(name);
    return result.resource;
  }

  /** Everything left out for this stream: its profile's snapshot omissions plus its inbound listeners'. */
  get omissions(): readonly Omission[] {
    const base = this.snapshot?.omissions ?? [];
    if (this.inboundOmissions.size === 0) return base;
    return [...base, ...[...this.inboundOmissions.values()].flat()];
  }

  private scheduleRemoval(ms: number): void {
    if (this.removalTimer) return;
    this.removalTimer = setTimeout(() => {
      this.removalTimer = undefined;
      for (const st of this.types.values()) if (st.removalDue.size) this.respond(st, false);
    }, ms + 5);
    this.removalTimer.unref();
  }

  /** Next nonce of this stream (unique per stream). */
  protected nextNonce(): string {
    return `${this.connectionId}-${++this.nonceCounter}`;
  }

  /** Writes a response unless the stream is closed; a full buffer marks the type dirty instead. */
  protected write(st: TypeState, message: object, bytes: number): boolean {
    if (this.isClosed) return false;
    const m = (st.metrics ??= metricsForType(this.host.metrics, typeLabelOf(st.typeUrl)));
    m.pushes.inc();
    m.configSize.observe(bytes);
    this.call.write(message);
    return true;
  }

  /** True when the previous writes have not drained: new pushes wait for 'drain'. */
  protected isBlocked(): boolean {
    return this.call.writableNeedDrain;
  }

  private flushDirty(): void {
    for (const st of this.types.values()) {
      if (st.isDirty && !this.isBlocked()) {
        st.isDirty = false;
        this.respond(st, false);
      }
    }
  }

  /** Sends what changed for one type; `isForced` sends even when nothing changed. True when a response was written. */
  protected abstract respond(st: TypeState, isForced: boolean): boolean;

  /** A new snapshot is in force: push every subscribed type whose resources changed. */
  push(snapshot: Snapshot): void {
    if (this.isClosed || !this.nodeId) return;
    this.snapshot = snapshot;
    for (const st of this.pushOrder) {
      if (!st?.hasResponded) continue;
      const started = performance.now();
      // only pushes that wrote a response are timed: an unchanged type is not a push
      if (this.respond(st, false)) (st.metrics ??= metricsForType(this.host.metrics, typeLabelOf(st.typeUrl))).pushTime.observe((performance.now() - started) / 1000);
    }
  }

  /** Ends the stream with a gRPC status (UNAVAILABLE on shutdown) and releases its state. */
  end(code: number, details: string): void {
    if (this.isClosed) return;
    this.markClosed();
    try {
      this.call.emit('error', { code, details });
    } catch {
      // the call may already be gone
    }
  }

  /** Marks the stream closed once (metrics, timers, server bookkeeping). */
  markClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.removalTimer) clearTimeout(this.removalTimer);
    if (this.nodeId) this.host.metrics.connections.dec({ kind: this.kind, protocol: this.protocol });
    this.host.onClosed(this);
  }

  /** Records an unknown type URL (bounded set) and counts it. */
  protected noteUnknownType(typeUrl: string): void {
    this.host.metrics.badRequests.inc({ reason: 'unknown_type' });
    if (this.unknownTypes.size < 16) this.unknownTypes.add(typeUrl.slice(0, 200));
  }
}

function typeLabelOf(typeUrl: string): string {
  if (typeUrl === TypeUrl.cluster) return 'cds';
  if (typeUrl === TypeUrl.clusterLoadAssignment) return 'eds';
  if (typeUrl === TypeUrl.listener) return 'lds';
  return 'rds';
}
