/**
 * The ADS transport: one bidirectional stream at a time to one of the bootstrap's xDS servers,
 * speaking Delta (`DeltaAggregatedResources`, the default) or SotW (`StreamAggregatedResources`,
 * used when selected or when the server answers UNIMPLEMENTED to Delta). It sends
 * subscriptions, hands every response to its {@link AdsStreamHandler} and sends the ACK or NACK
 * the handler decides on. It reconnects with exponential backoff and jitter (reset after a
 * stream that received a response), falls back to the next server when one cannot be reached
 * (gRFC A71, the primary is tried again on every reconnect), and never keeps the process alive.
 */
import * as grpc from '@grpc/grpc-js';
import {
  adsServiceDefinition,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DeltaResource,
  type DiscoveryRequest,
  type DiscoveryResponse,
  type XdsNode,
  nodeForWire,
} from './ads-service.ts';
import type { XdsServerConfig } from './bootstrap.ts';
import { ErrorCode, MeshError } from './errors.ts';
import { XdsSocketTracker } from './internal/socket-unref.ts';
import { readFileSync } from 'node:fs';
import type { AnyMessage } from './protos.ts';

/** Which ADS variant to speak. `auto`: Delta, falling back to SotW on UNIMPLEMENTED. */
export type AdsProtocol = 'auto' | 'delta' | 'sotw';

/** Reconnect backoff (gRPC connection-backoff shape, with a 2 s cap). */
export interface BackoffOptions {
  /** Default 1,000. */
  readonly initialMs?: number;
  /** Default 2,000: short, so a restarted control plane is picked up within ~5 s (issue 5: converge in 5 s). */
  readonly maxMs?: number;
  /** Default 1.6. */
  readonly multiplier?: number;
  /** Default 0.2 (±20 %). */
  readonly jitter?: number;
}

/** What the stream asks of its owner (the xDS client). All callbacks are synchronous. */
export interface AdsStreamHandler {
  /** Current subscriptions: type URL → resource names (empty set = nothing wanted). */
  subscriptions(): ReadonlyMap<string, ReadonlySet<string>>;
  /** Delta: versions of cached resources of a type, sent on a new stream. */
  cachedVersions(typeUrl: string): Record<string, string>;
  /** A SotW response; returns the NACK detail, or undefined to ACK. */
  onSotwResponse(typeUrl: string, version: string, resources: readonly AnyMessage[]): string | undefined;
  /** A Delta response; returns the NACK detail, or undefined to ACK. */
  onDeltaResponse(typeUrl: string, resources: readonly DeltaResource[], removed: readonly string[]): string | undefined;
  /** A stream was opened and the subscriptions were (re)sent. */
  onStreamStarted(serverUri: string, protocol: 'delta' | 'sotw'): void;
  /** A stream ended; `hadResponse` tells whether it received anything. */
  onStreamFailed(error: MeshError, hadResponse: boolean): void;
}

/** Options of {@link AdsStream}. */
export interface AdsStreamOptions {
  readonly servers: readonly XdsServerConfig[];
  readonly node: XdsNode;
  readonly protocol: AdsProtocol;
  readonly backoff?: BackoffOptions;
  readonly handler: AdsStreamHandler;
}

type AdsClient = grpc.Client & {
  StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  DeltaAggregatedResources(): grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
};

let AdsClientCtor: grpc.ServiceClientConstructor | undefined;

function credentials(server: XdsServerConfig): grpc.ChannelCredentials {
  const c = server.channelCredentials;
  if (c.type === 'insecure') return grpc.credentials.createInsecure();
  const read = (path: string | undefined): Buffer | null => (path ? readFileSync(path) : null);
  return grpc.credentials.createSsl(read(c.caCertificateFile), read(c.privateKeyFile), read(c.certificateFile));
}

interface SotwTypeState {
  ackedVersion: string;
  nonce: string;
}

/** The per-stream state; a new one is made for every stream. */
interface ActiveStream {
  readonly serverIndex: number;
  readonly protocol: 'delta' | 'sotw';
  readonly call: grpc.ClientDuplexStream<DiscoveryRequest | DeltaDiscoveryRequest, DiscoveryResponse | DeltaDiscoveryResponse>;
  hadResponse: boolean;
  isNodeSent: boolean;
  ended: boolean;
  /** SotW: acked version and last nonce per type. */
  readonly sotw: Map<string, SotwTypeState>;
  /** Delta: names subscribed on this stream per type, and last nonce. */
  readonly deltaNames: Map<string, Set<string>>;
  readonly deltaNonce: Map<string, string>;
}

/** See the module comment. Create, then {@link AdsStream.start}; {@link AdsStream.close} ends it. */
export class AdsStream {
  readonly #options: AdsStreamOptions;
  readonly #clients = new Map<number, AdsClient>();
  readonly #sotwOnly = new Set<number>();
  readonly #sockets = new XdsSocketTracker();
  #stream: ActiveStream | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #unrefTimer: NodeJS.Timeout | undefined;
  #isWatchingPrimary = false;
  #backoffMs: number;
  #closed = false;
  /** The node with its metadata as a Struct message, built on first send. */
  #wireNode: XdsNode | undefined;

  constructor(options: AdsStreamOptions) {
    if (options.servers.length === 0) throw new MeshError(ErrorCode.bootstrapInvalid, 'xDS bootstrap: xds_servers is empty');
    this.#options = options;
    this.#backoffMs = options.backoff?.initialMs ?? 1000;
    for (const s of options.servers) this.#sockets.addTarget(s.serverUri);
  }

  /** The server and protocol of the current stream, if one is open. */
  get current(): { serverUri: string; protocol: 'delta' | 'sotw' } | undefined {
    const s = this.#stream;
    const server = s ? this.#options.servers[s.serverIndex] : undefined;
    return s && server ? { serverUri: server.serverUri, protocol: s.protocol } : undefined;
  }

  /** Opens the first stream (to the first server). Idempotent. */
  start(): void {
    if (this.#closed || this.#stream || this.#retryTimer) return;
    this.#connect(0);
  }

  /** Sends the current subscription of `typeUrl` on the open stream (nothing when none is open). */
  updateSubscription(typeUrl: string): void {
    const s = this.#stream;
    if (!s || s.ended) return;
    const names = this.#options.handler.subscriptions().get(typeUrl) ?? new Set<string>();
    if (s.protocol === 'sotw') {
      const state = s.sotw.get(typeUrl) ?? { ackedVersion: '', nonce: '' };
      s.sotw.set(typeUrl, state);
      this.#send(s, { type_url: typeUrl, resource_names: [...names], version_info: state.ackedVersion, response_nonce: state.nonce });
      return;
    }
    const sent = s.deltaNames.get(typeUrl) ?? new Set<string>();
    const subscribe = [...names].filter((n) => !sent.has(n));
    const unsubscribe = [...sent].filter((n) => !names.has(n));
    if (subscribe.length === 0 && unsubscribe.length === 0 && s.deltaNames.has(typeUrl)) return;
    s.deltaNames.set(typeUrl, new Set(names));
    const request: DeltaDiscoveryRequest = { type_url: typeUrl, resource_names_subscribe: subscribe, resource_names_unsubscribe: unsubscribe };
    this.#send(s, request);
  }

  /** Ends the stream, cancels the retry timer and closes every channel. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#unrefTimer);
    this.#retryTimer = undefined;
    const s = this.#stream;
    this.#stream = undefined;
    if (s) {
      s.ended = true;
      s.call.cancel();
    }
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
    this.#sockets.close();
  }

  #client(index: number): AdsClient {
    let client = this.#clients.get(index);
    if (!client) {
      const server = this.#options.servers[index];
      if (!server) throw new Error(`no xDS server ${index}`);
      AdsClientCtor ??= grpc.makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');
      client = new AdsClientCtor(server.serverUri, credentials(server), {
        'grpc.keepalive_time_ms': 30_000,
        'grpc.keepalive_timeout_ms': 10_000,
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 1_000,
      }) as unknown as AdsClient;
      this.#clients.set(index, client);
    }
    return client;
  }

  #connect(serverIndex: number): void {
    this.#retryTimer = undefined;
    if (this.#closed) return;
    const server = this.#options.servers[serverIndex];
    if (!server) return;
    const protocol = this.#options.protocol === 'sotw' || this.#sotwOnly.has(serverIndex) ? 'sotw' : 'delta';
    let client: AdsClient;
    try {
      client = this.#client(serverIndex);
    } catch (err) {
      this.#onEnd(undefined, new MeshError(ErrorCode.xdsUnavailable, `xDS server ${server.serverUri}: ${(err as Error).message}`, { cause: err }), serverIndex);
      return;
    }
    const call = (protocol === 'delta' ? client.DeltaAggregatedResources() : client.StreamAggregatedResources()) as ActiveStream['call'];
    const s: ActiveStream = {
      serverIndex,
      protocol,
      call,
      hadResponse: false,
      isNodeSent: false,
      ended: false,
      sotw: new Map(),
      deltaNames: new Map(),
      deltaNonce: new Map(),
    };
    this.#stream = s;
    call.on('metadata', () => this.#sockets.unrefAll());
    call.on('data', (message: DiscoveryResponse | DeltaDiscoveryResponse) => this.#onMessage(s, message));
    call.on('error', () => {
      /* The status event carries the outcome. */
    });
    call.on('status', (status: grpc.StatusObject) => this.#onStatus(s, status));
    const handler = this.#options.handler;
    for (const typeUrl of handler.subscriptions().keys()) {
      if (protocol === 'delta') {
        const names = handler.subscriptions().get(typeUrl) ?? new Set<string>();
        s.deltaNames.set(typeUrl, new Set(names));
        const versions = handler.cachedVersions(typeUrl);
        this.#send(s, { type_url: typeUrl, resource_names_subscribe: [...names], initial_resource_versions: versions });
      } else {
        this.updateSubscription(typeUrl);
      }
    }
    handler.onStreamStarted(server.serverUri, protocol);
    if (serverIndex > 0) this.#watchPrimary();
    // A TLS server that accepts the call but never answers would otherwise keep its socket ref'd.
    clearTimeout(this.#unrefTimer);
    this.#unrefTimer = setTimeout(() => this.#sockets.unrefAll(), 1000);
    this.#unrefTimer.unref();
  }

  #send(s: ActiveStream, request: DiscoveryRequest | DeltaDiscoveryRequest): void {
    if (s.ended) return;
    if (!s.isNodeSent) {
      request.node = this.#wireNode ??= nodeForWire(this.#options.node);
      s.isNodeSent = true;
    }
    s.call.write(request);
  }

  #onMessage(s: ActiveStream, message: DiscoveryResponse | DeltaDiscoveryResponse): void {
    if (s.ended || this.#stream !== s) return;
    if (!s.hadResponse) {
      s.hadResponse = true;
      this.#sockets.unrefAll();
      this.#backoffMs = this.#options.backoff?.initialMs ?? 1000;
    }
    const typeUrl = message.type_url ?? '';
    const nonce = message.nonce ?? '';
    const handler = this.#options.handler;
    if (s.protocol === 'sotw') {
      const m = message as DiscoveryResponse;
      const version = m.version_info ?? '';
      const detail = handler.onSotwResponse(typeUrl, version, m.resources ?? []);
      const state = s.sotw.get(typeUrl) ?? { ackedVersion: '', nonce: '' };
      state.nonce = nonce;
      if (detail === undefined) state.ackedVersion = version;
      s.sotw.set(typeUrl, state);
      const names = handler.subscriptions().get(typeUrl) ?? new Set<string>();
      this.#send(s, {
        type_url: typeUrl,
        version_info: state.ackedVersion,
        resource_names: [...names],
        response_nonce: nonce,
        ...(detail === undefined ? {} : { error_detail: { code: grpc.status.INVALID_ARGUMENT, message: detail } }),
      });
      return;
    }
    const m = message as DeltaDiscoveryResponse;
    const detail = handler.onDeltaResponse(typeUrl, m.resources ?? [], m.removed_resources ?? []);
    s.deltaNonce.set(typeUrl, nonce);
    this.#send(s, {
      type_url: typeUrl,
      response_nonce: nonce,
      ...(detail === undefined ? {} : { error_detail: { code: grpc.status.INVALID_ARGUMENT, message: detail } }),
    });
  }

  #onStatus(s: ActiveStream, status: grpc.StatusObject): void {
    if (s.ended) return;
    s.ended = true;
    if (this.#stream !== s) return;
    this.#stream = undefined;
    const server = this.#options.servers[s.serverIndex];
    if (s.protocol === 'delta' && status.code === grpc.status.UNIMPLEMENTED && this.#options.protocol === 'auto') {
      // The server has no Delta ADS: speak SotW to it from now on, at once.
      this.#sotwOnly.add(s.serverIndex);
      this.#connect(s.serverIndex);
      return;
    }
    const error = new MeshError(
      ErrorCode.xdsUnavailable,
      `xDS stream to ${server?.serverUri ?? '?'} ended: ${grpc.status[status.code] ?? status.code} ${status.details}`.trim(),
      { details: { serverUri: server?.serverUri, grpcCode: status.code } },
    );
    this.#onEnd(s, error, s.serverIndex);
  }

  #onEnd(s: ActiveStream | undefined, error: MeshError, serverIndex: number): void {
    const hadResponse = s?.hadResponse ?? false;
    this.#options.handler.onStreamFailed(error, hadResponse);
    if (this.#closed) return;
    if (hadResponse) {
      // A stream that worked: reconnect at once, preferring the primary server again.
      this.#connect(0);
      return;
    }
    if (serverIndex + 1 < this.#options.servers.length) {
      this.#connect(serverIndex + 1);
      return;
    }
    const b = this.#options.backoff ?? {};
    const jitter = b.jitter ?? 0.2;
    const delay = this.#backoffMs * (1 + jitter * (Math.random() * 2 - 1));
    this.#backoffMs = Math.min(this.#backoffMs * (b.multiplier ?? 1.6), b.maxMs ?? 2_000);
    this.#retryTimer = setTimeout(() => this.#connect(0), delay);
    this.#retryTimer.unref();
    this.#watchPrimary();
  }

  /**
   * While a retry waits, or while a fallback server is in use, asks the primary server's
   * channel to keep connecting (with grpc-js's own, shorter connection backoff) and moves to the
   * primary at once when it becomes READY: a restarted control plane is picked up as soon as it
   * listens, and a fallback is left when the primary returns (gRFC A71). One watch chain at
   * most; it ends when that has happened or the channel shuts down.
   */
  #watchPrimary(): void {
    if (this.#isWatchingPrimary || this.#closed) return;
    let channel: ReturnType<grpc.Client['getChannel']>;
    try {
      channel = this.#client(0).getChannel();
    } catch {
      return;
    }
    this.#isWatchingPrimary = true;
    const watch = (state: grpc.connectivityState): void => {
      channel.watchConnectivityState(state, Infinity, () => {
        const now = channel.getConnectivityState(false);
        const onFallback = this.#stream !== undefined && this.#stream.serverIndex > 0;
        if (this.#closed || (this.#retryTimer === undefined && !onFallback) || now === grpc.connectivityState.SHUTDOWN) {
          this.#isWatchingPrimary = false;
          return;
        }
        if (now === grpc.connectivityState.READY) {
          this.#isWatchingPrimary = false;
          clearTimeout(this.#retryTimer);
          this.#retryTimer = undefined;
          const fallback = this.#stream;
          if (fallback) {
            // gRFC A71: the primary is back; leave the fallback server, keeping the cache.
            fallback.ended = true;
            this.#stream = undefined;
            fallback.call.cancel();
          }
          this.#connect(0);
          return;
        }
        watch(channel.getConnectivityState(true));
      });
    };
    watch(channel.getConnectivityState(true));
  }
}

