/**
 * A small hand-rolled ADS server for the xds-client tests: a real grpc-js Server on
 * 127.0.0.1 with `adsServiceDefinition()`, holding resources set by the test and pushing them
 * over SotW and/or Delta. It can misbehave on purpose: hang (never answer), send resources
 * nobody asked for, or lack the Delta method (UNIMPLEMENTED). It records every request.
 */
import * as grpc from '@grpc/grpc-js';
import {
  adsServiceDefinition,
  packAny,
  type AnyMessage,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from '@weft/xds-client';

/** Options of {@link FakeAdsServer}. */
export interface FakeAdsServerOptions {
  /** Methods served; the others answer UNIMPLEMENTED. Default both. */
  readonly protocols?: readonly ('sotw' | 'delta')[];
  /** Accept streams but never answer. */
  readonly isHanging?: boolean;
  /** Also send these resources (type URL → name → object) with every response of that type. */
  readonly unrequested?: ReadonlyMap<string, ReadonlyMap<string, object>>;
  /** Server credentials; default insecure. */
  readonly credentials?: grpc.ServerCredentials;
}

/** One request the server received. */
export interface RecordedRequest {
  readonly protocol: 'sotw' | 'delta';
  readonly request: DiscoveryRequest & DeltaDiscoveryRequest;
}

interface Stream {
  readonly protocol: 'sotw' | 'delta';
  readonly call: grpc.ServerDuplexStream<DiscoveryRequest & DeltaDiscoveryRequest, DiscoveryResponse | DeltaDiscoveryResponse>;
  /** Subscribed names per type. */
  readonly names: Map<string, Set<string>>;
  /** Delta: version sent per type+name. */
  readonly sent: Map<string, Map<string, string>>;
}

/** See the module comment. */
export class FakeAdsServer {
  readonly requests: RecordedRequest[] = [];
  readonly #resources = new Map<string, Map<string, { any: AnyMessage; version: string }>>();
  readonly #streams = new Set<Stream>();
  readonly #options: FakeAdsServerOptions;
  #server: grpc.Server | undefined;
  /** Versions start at a random base so a restarted server does not reuse the old versions. */
  #version = Math.floor(Math.random() * 1e6) * 1000;
  #nonce = 0;
  port = 0;

  constructor(options: FakeAdsServerOptions = {}) {
    this.#options = options;
  }

  /** Starts listening on 127.0.0.1 (`port` 0 picks one); resolves with the port. */
  async start(port = 0): Promise<number> {
    const server = new grpc.Server();
    const protocols = this.#options.protocols ?? ['sotw', 'delta'];
    const impl: grpc.UntypedServiceImplementation = {};
    if (protocols.includes('sotw')) impl['StreamAggregatedResources'] = (call: Stream['call']) => this.#onStream('sotw', call);
    if (protocols.includes('delta')) impl['DeltaAggregatedResources'] = (call: Stream['call']) => this.#onStream('delta', call);
    server.addService(adsServiceDefinition(), impl);
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, this.#options.credentials ?? grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.#server = server;
    return this.port;
  }

  /** `127.0.0.1:<port>`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Sets (adds or replaces) a resource and pushes it to subscribers. */
  set(typeUrl: string, name: string, resource: object): void {
    let byName = this.#resources.get(typeUrl);
    if (!byName) this.#resources.set(typeUrl, (byName = new Map()));
    byName.set(name, { any: packAny(typeUrl, resource), version: String(++this.#version) });
    this.#pushAll(typeUrl);
  }

  /** Removes a resource and tells subscribers. */
  remove(typeUrl: string, name: string): void {
    this.#resources.get(typeUrl)?.delete(name);
    this.#version++;
    this.#pushAll(typeUrl);
  }

  /** Requests of one type, in arrival order. */
  requestsOf(typeUrl: string): RecordedRequest[] {
    return this.requests.filter((r) => r.request.type_url === typeUrl);
  }

  /** Number of streams open now. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Stops at once, ending every stream with UNAVAILABLE (as a killed server would). */
  stop(): void {
    for (const s of this.#streams) s.call.destroy(Object.assign(new Error('server stopping'), { code: grpc.status.UNAVAILABLE }));
    this.#streams.clear();
    this.#server?.forceShutdown();
    this.#server = undefined;
  }

  #onStream(protocol: 'sotw' | 'delta', call: Stream['call']): void {
    const s: Stream = { protocol, call, names: new Map(), sent: new Map() };
    this.#streams.add(s);
    call.on('data', (request: DiscoveryRequest & DeltaDiscoveryRequest) => this.#onRequest(s, request));
    call.on('error', () => this.#streams.delete(s));
    call.on('end', () => {
      this.#streams.delete(s);
      call.end();
    });
    call.on('cancelled', () => this.#streams.delete(s));
  }

  #onRequest(s: Stream, request: DiscoveryRequest & DeltaDiscoveryRequest): void {
    this.requests.push({ protocol: s.protocol, request });
    const typeUrl = request.type_url ?? '';
    if (this.#options.isHanging) return;
    if (s.protocol === 'sotw') {
      const before = [...(s.names.get(typeUrl) ?? [])].sort().join(',');
      const names = new Set(request.resource_names ?? []);
      s.names.set(typeUrl, names);
      // Answer a new subscription (first request or changed names); an ACK/NACK needs no answer.
      if (!request.response_nonce || before !== [...names].sort().join(',')) this.#push(s, typeUrl);
      return;
    }
    let names = s.names.get(typeUrl);
    if (!names) s.names.set(typeUrl, (names = new Set()));
    const sent = s.sent.get(typeUrl) ?? new Map<string, string>();
    s.sent.set(typeUrl, sent);
    for (const [name, version] of Object.entries(request.initial_resource_versions ?? {})) sent.set(name, version);
    for (const n of request.resource_names_subscribe ?? []) names.add(n);
    for (const n of request.resource_names_unsubscribe ?? []) {
      names.delete(n);
      sent.delete(n);
    }
    if ((request.resource_names_subscribe ?? []).length > 0) this.#push(s, typeUrl);
  }

  #pushAll(typeUrl: string): void {
    for (const s of this.#streams) this.#push(s, typeUrl);
  }

  #push(s: Stream, typeUrl: string): void {
    if (this.#options.isHanging) return;
    const names = s.names.get(typeUrl);
    if (!names) return;
    const byName = this.#resources.get(typeUrl) ?? new Map<string, { any: AnyMessage; version: string }>();
    const extra = [...(this.#options.unrequested?.get(typeUrl) ?? new Map<string, object>())].map(([name, r]) => ({ name, any: packAny(typeUrl, r) }));
    const nonce = String(++this.#nonce);
    if (s.protocol === 'sotw') {
      const resources = [...names].flatMap((n) => {
        const r = byName.get(n);
        return r ? [r.any] : [];
      });
      s.call.write({ type_url: typeUrl, version_info: String(this.#version), nonce, resources: [...resources, ...extra.map((e) => e.any)] });
      return;
    }
    const sent = s.sent.get(typeUrl) ?? new Map<string, string>();
    s.sent.set(typeUrl, sent);
    const changed = [...names].flatMap((n) => {
      const r = byName.get(n);
      if (!r || sent.get(n) === r.version) return [];
      sent.set(n, r.version);
      return [{ name: n, version: r.version, resource: r.any }];
    });
    const removed = [...names].filter((n) => !byName.has(n) && sent.has(n));
    for (const n of removed) sent.delete(n);
    const unrequested = extra.map((e) => ({ name: e.name, version: '1', resource: e.any }));
    if (changed.length === 0 && removed.length === 0 && unrequested.length === 0) return;
    s.call.write({ type_url: typeUrl, nonce, system_version_info: String(this.#version), resources: [...changed, ...unrequested], removed_resources: removed });
  }
}

/** Polls `predicate` every 10 ms until true; rejects after `timeoutMs` (bounded in count and time). */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const rounds = Math.ceil(timeoutMs / 10);
  for (let i = 0; i < rounds; i++) {
    if (predicate()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
