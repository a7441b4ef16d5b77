/**
 * The control plane's xDS server: `envoy.service.discovery.v3.AggregatedDiscoveryService` on a
 * grpc-js Server, both SotW and delta, fed from a {@link ModelSource} (the config store). A
 * model change is debounced, turned into snapshots (once per client profile) and pushed to
 * every stream; a snapshot that fails its consistency check is reported and never reaches a
 * client. Self-registering nodes are added to the registry while their stream lives.
 *
 * A push round writes to streams for up to `pushSliceMs` per event-loop turn (the clock is read
 * every {@link PUSH_BATCH_SIZE} streams), then yields with `setImmediate`, so a round over many
 * thousands of streams does not starve incoming requests. Within a slice nothing else runs: the
 * ACKs of the streams already written are read after the slice, not between its writes, which
 * would delay the last streams of the round by the reading of every earlier stream's ACK (for
 * 1,000 streams the default slice holds the whole round). A newer round replaces one still in
 * progress (its remaining streams get the newer snapshot).
 */
import { Server, ServerCredentials, status, type ServerDuplexStream } from '@grpc/grpc-js';
import { MeshError, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type DiscoveryRequest, type DiscoveryResponse } from '@weft/xds-client';
import type { MeshModel } from '../model/mesh-model.ts';
import type { ClientCapabilities } from './client-capabilities.ts';
import { createXdsMetrics, settlePushMetrics, type XdsMetrics } from './metrics.ts';
import { createSelfRegistrar, workloadFromNode, type RegistryLike, type WorkloadReadiness } from './self-registration.ts';
import { ClientConnection, type ConnectionHost, type ConnectionLimits } from './server/client-connection.ts';
import { DeltaConnection } from './server/delta-connection.ts';
import { serverAdsDefinition } from './server/ads-definition.ts';
import { SotwConnection } from './server/sotw-connection.ts';
import { onStreamEnd } from './server/stream-end.ts';
import { createSnapshotCache, type SnapshotCache } from './snapshot-cache.ts';
import { clientSync, configDump, type SyncReport } from './sync-report.ts';

/** Streams pushed between two reads of the clock in a push round. */
export const PUSH_BATCH_SIZE = 64;

/** Default longest run of a push round before it yields to the event loop. */
export const DEFAULT_PUSH_SLICE_MS = 50;

/** A push round in progress: the model it pushes and the streams still to visit. */
interface PushRound {
  model: MeshModel;
  queue: ClientConnection[];
  next: number;
  pushed: number;
  /** `performance.now()` of the first change this round answers (0: a direct pushNow). */
  triggeredAt: number;
}

/** Where models come from: the config store satisfies it. */
export interface ModelSource {
  /** The model in force. */
  readonly current: MeshModel;
  /** Called after each newly published model; returns a disposable that stops the calls. */
  onChange(listener: (model: MeshModel) => void): { [Symbol.dispose](): void };
  /**
   * Called with a model about to be published (the config store's debounce is still running):
   * the server builds its snapshots for the profiles of its clients ahead, so the push that
   * follows the publish starts writing at once. Optional.
   */
  onPending?(listener: (model: MeshModel) => void): { [Symbol.dispose](): void };
  /** Where self-registering nodes are added; absent means no self-registration. */
  readonly registry?: RegistryLike;
}

/** Options of {@link createXdsServer}. */
export interface XdsServerOptions {
  source: ModelSource;
  /** Delay that coalesces model changes into one push (istiod: 100 ms). Default 100. */
  debounceMs?: number;
  /** How long a self-registered node stays an endpoint after its last stream ended. Default 5000. */
  registrationGraceMs?: number;
  /** Per-stream limits; defaults: 10,000 names per type, 1,024-character names, 1,000 ms removal delay. */
  limits?: Partial<ConnectionLimits>;
  /** Metrics to record into; a fresh set by default. */
  metrics?: XdsMetrics;
  /**
   * Longest a push round writes before it yields to the event loop (checked every
   * {@link PUSH_BATCH_SIZE} streams; 0: one batch per turn). Default {@link DEFAULT_PUSH_SLICE_MS}.
   */
  pushSliceMs?: number;
}

/** A running (or not yet listening) xDS server. */
export interface XdsServer {
  /** Binds `host:port` (port 0 picks one) without TLS and resolves to the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** `host:port` once listening. */
  readonly address: string | undefined;
  /** The grpc-js server, for mounting more services (the CA) beside ADS. */
  readonly grpcServer: Server;
  readonly metrics: XdsMetrics;
  /** Live streams that have identified their node. */
  connections(): readonly ClientConnection[];
  /** The `/debug/syncz` document. */
  syncReport(): SyncReport;
  /** What the streams of `nodeId` were sent, decoded; empty when no such node is connected. */
  configDump(nodeId: string): Record<string, unknown>[];
  /** Readiness of every self-registered workload (probe, ready or not, since when, last error), for `/debug/health`. */
  readiness(): WorkloadReadiness[];
  /**
   * Starts a push round of the current model now, skipping the debounce (tests, benchmarks):
   * the first batch of streams is written before it returns, the rest on following turns.
   */
  pushNow(): void;
  /** Called when a push round has visited every stream, with the model generation and the number of streams pushed. */
  onPushed(listener: (generation: number, streams: number) => void): { [Symbol.dispose](): void };
  /**
   * Graceful stop: every stream ends with UNAVAILABLE (clients reconnect elsewhere), then the
   * server shuts down, forcibly after `graceMs` (default 2000). Idempotent.
   */
  close(graceMs?: number): Promise<void>;
}

/** Creates the server; nothing listens until {@link XdsServer.listen}. */
export function createXdsServer(options: XdsServerOptions): XdsServer {
  const { source } = options;
  const debounceMs = options.debounceMs ?? 100;
  const pushSliceMs = options.pushSliceMs ?? DEFAULT_PUSH_SLICE_MS;
  const metrics = options.metrics ?? createXdsMetrics();
  const limits: ConnectionLimits = { maxNamesPerType: 10_000, maxNameLength: 1024, removalDelayMs: 1000, ...options.limits };
  const cache: SnapshotCache = createSnapshotCache(() => metrics.snapshotFailures.inc());
  const registrar = createSelfRegistrar(source.registry, options.registrationGraceMs ?? 5000);
  const live = new Set<ClientConnection>();
  /** Every open stream, identified or not (close() ends them all). */
  const streams = new Set<ClientConnection>();
  const pushListeners = new Set<(generation: number, streams: number) => void>();
  const grpcServer = new Server({ 'grpc.max_concurrent_streams': 100_000 });
  let address: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let firstTriggerAt = 0;
  let round: PushRound | undefined;
  let batchTimer: NodeJS.Immediate | undefined;
  let closing: Promise<void> | undefined;

  const host: ConnectionHost = {
    metrics,
    limits,
    snapshotFor: (caps: ClientCapabilities) => cache.get(source.current, caps),
    model: () => source.current,
    onIdentified(conn) {
      live.add(conn);
      registrar.connected(conn.nodeId, conn.node ? workloadFromNode(conn.node, conn.metadata, conn.namespace) : undefined);
    },
    onClosed(conn) {
      if (live.delete(conn)) registrar.disconnected(conn.nodeId);
    },
  };

  function pushNow(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (batchTimer) clearImmediate(batchTimer);
    batchTimer = undefined;
    // a round still in progress is superseded: its unvisited streams are in this queue too
    round = { model: source.current, queue: [...live], next: 0, pushed: 0, triggeredAt: round?.triggeredAt || firstTriggerAt };
    firstTriggerAt = 0;
    pushBatch();
  }

  /** Pushes the round's next slice of streams; schedules the rest or finishes the round. */
  function pushBatch(): void {
    batchTimer = undefined;
    const r = round;
    if (!r || closing) return;
    const sliceEnd = performance.now() + pushSliceMs;
    do {
      const end = Math.min(r.next + PUSH_BATCH_SIZE, r.queue.length);
      for (; r.next < end; r.next++) {
        const conn = r.queue[r.next] as ClientConnection;
        if (conn.isClosed) continue;
        const snap = cache.get(r.model, conn.caps);
        if (snap && snap !== conn.snapshot) {
          conn.push(snap);
          r.pushed++;
        }
      }
    } while (r.next < r.queue.length && performance.now() < sliceEnd);
    if (r.next < r.queue.length) {
      batchTimer = setImmediate(pushBatch);
      batchTimer.unref();
      return;
    }
    round = undefined;
    if (r.triggeredAt) metrics.convergence.observe((performance.now() - r.triggeredAt) / 1000);
    // after this turn's native work, which sends the bytes the round wrote
    setImmediate(settlePushMetrics, metrics).unref();
    for (const l of pushListeners) l(r.model.generation, r.pushed);
  }

  // the cache builds once per client profile: streams of a profile already built return at once
  const pending = source.onPending?.((model) => {
    for (const conn of live) cache.prepare(model, conn.caps);
  });

  const subscription = source.onChange(() => {
    metrics.pushTriggers.inc({ type: 'config' });
    if (timer) return;
    firstTriggerAt = performance.now();
    // no debounce (the source coalesces changes itself): push once the source's listeners ran, not after a timer's 1 ms
    if (debounceMs === 0) return queueMicrotask(pushNow);
    timer = setTimeout(pushNow, debounceMs);
    timer.unref();
  });

  function attach(conn: ClientConnection, call: ServerDuplexStream<object, object>): void {
    streams.add(conn);
    const done = () => {
      streams.delete(conn);
      conn.markClosed();
    };
    onStreamEnd(call, done);
  }

  grpcServer.addService(serverAdsDefinition(), {
    StreamAggregatedResources(call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) {
      if (closing) return call.emit('error', { code: status.UNAVAILABLE, details: 'control plane shutting down' });
      attach(new SotwConnection(host, call), call as ServerDuplexStream<object, object>);
    },
    DeltaAggregatedResources(call: ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) {
      if (closing) return call.emit('error', { code: status.UNAVAILABLE, details: 'control plane shutting down' });
      attach(new DeltaConnection(host, call), call as ServerDuplexStream<object, object>);
    },
  });

  return {
    grpcServer,
    metrics,
    get address() {
      return address;
    },
    listen(bindHost, port) {
      return new Promise((resolve, reject) => {
        const target = bindHost.includes(':') ? `[${bindHost}]:${port}` : `${bindHost}:${port}`;
        grpcServer.bindAsync(target, ServerCredentials.createInsecure(), (err, bound) => {
          if (err) {
            reject(new MeshError('WEFT_ERR_USAGE', `xDS server cannot listen on ${target}: ${err.message}`, { cause: err, details: { address: target } }));
            return;
          }
          address = bindHost.includes(':') ? `[${bindHost}]:${bound}` : `${bindHost}:${bound}`;
          resolve(bound);
        });
      });
    },
    connections: () => [...live],
    syncReport() {
      const model = source.current;
      return { generation: model.generation, version: model.version, clients: [...live].map(clientSync), snapshotFailures: cache.failures };
    },
    configDump: (nodeId) => [...live].filter((c) => c.nodeId === nodeId).map(configDump),
    readiness: () => registrar.readiness(),
    pushNow,
    onPushed(listener) {
      pushListeners.add(listener);
      return { [Symbol.dispose]: () => void pushListeners.delete(listener) };
    },
    close(graceMs = 2000) {
      closing ??= (async () => {
        subscription[Symbol.dispose]();
        pending?.[Symbol.dispose]();
        if (timer) clearTimeout(timer);
        if (batchTimer) clearImmediate(batchTimer);
        round = undefined;
        registrar.close();
        for (const conn of [...streams]) conn.end(status.UNAVAILABLE, 'control plane shutting down');
        streams.clear();
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            grpcServer.forceShutdown();
            resolve();
          }, graceMs);
          force.unref();
          grpcServer.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
      })();
      return closing;
    },
  };
}
