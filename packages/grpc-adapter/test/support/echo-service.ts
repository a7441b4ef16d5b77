/**
 * The test service `weft.test.Echo` (all four call types), defined from a protobufjs JSON
 * descriptor, and a backend server on 127.0.0.1:0 that records what it served.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const root = protobuf.Root.fromJSON({
  nested: {
    weft: {
      nested: {
        test: {
          nested: {
            EchoMessage: {
              fields: { text: { type: 'string', id: 1 }, server: { type: 'string', id: 2 }, attempt: { type: 'uint32', id: 3 } },
            },
          },
        },
      },
    },
  },
});
const EchoMessage = root.lookupType('weft.test.EchoMessage');

/** One message of the echo service. */
export interface Echo {
  text: string;
  server?: string;
  attempt?: number;
}

const serialize = (v: Echo): Buffer => Buffer.from(EchoMessage.encode(EchoMessage.fromObject(v)).finish());
const deserialize = (b: Buffer): Echo => EchoMessage.toObject(EchoMessage.decode(b), { defaults: true }) as Echo;

function method(name: string, requestStream: boolean, responseStream: boolean) {
  return { path: `/weft.test.Echo/${name}`, requestStream, responseStream, requestSerialize: serialize, requestDeserialize: deserialize, responseSerialize: serialize, responseDeserialize: deserialize, originalName: name };
}

/** grpc-js service definition of `weft.test.Echo`. */
export const echoServiceDefinition = {
  Unary: method('Unary', false, false),
  Other: method('Other', false, false),
  ClientStream: method('ClientStream', true, false),
  ServerStream: method('ServerStream', false, true),
  Bidi: method('Bidi', true, true),
} as const;

/** The client class of the echo service. */
export const EchoClient = grpc.makeGenericClientConstructor(echoServiceDefinition as unknown as grpc.ServiceDefinition, 'Echo');

/** A typed view of the generic client. */
export interface EchoClientApi extends grpc.Client {
  Unary(req: Echo, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Echo) => void): grpc.ClientUnaryCall;
  Other(req: Echo, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Echo) => void): grpc.ClientUnaryCall;
  ClientStream(md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Echo) => void): grpc.ClientWritableStream<Echo>;
  ServerStream(req: Echo, md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientReadableStream<Echo>;
  Bidi(md?: grpc.Metadata, opts?: grpc.CallOptions): grpc.ClientDuplexStream<Echo, Echo>;
}

/** Creates an echo client for `target` with channel `options`. */
export function createEchoClient(target: string, options: grpc.ChannelOptions = {}): EchoClientApi {
  return new EchoClient(target, grpc.credentials.createInsecure(), options) as unknown as EchoClientApi;
}

/** Per-call decision of a backend: fail with `code`, or answer after `delayMs`. */
export interface BackendAction {
  code?: grpc.status;
  delayMs?: number;
}

/** A backend server and what it recorded. */
export interface Backend {
  readonly name: string;
  readonly port: number;
  readonly address: string;
  /** Unary/stream calls received, by method name. */
  readonly callsByMethod: Map<string, number>;
  /** Calls answered, by gRPC status code. */
  readonly statusCounts: Map<number, number>;
  /** Metadata of the last call received. */
  lastMetadata: grpc.Metadata | undefined;
  /** Decides each unary call's fate (default: answer OK at once). */
  behaviour: (method: string, metadata: grpc.Metadata, request: Echo) => BackendAction;
  close(): Promise<void>;
  readonly server: grpc.Server;
}

/** Starts a backend named `name` on 127.0.0.1:0. */
export async function startBackend(name: string, extraServices: (server: grpc.Server) => void = () => {}): Promise<Backend> {
  const server = new grpc.Server();
  const b: Backend = {
    name,
    port: 0,
    address: '',
    callsByMethod: new Map(),
    statusCounts: new Map(),
    lastMetadata: undefined,
    behaviour: () => ({}),
    close: () =>
      new Promise((resolve) => {
        server.forceShutdown();
        resolve();
      }),
    server,
  };
  const count = (m: string) => b.callsByMethod.set(m, (b.callsByMethod.get(m) ?? 0) + 1);
  const answer = (code: number) => b.statusCounts.set(code, (b.statusCounts.get(code) ?? 0) + 1);
  const unary = (m: string) => (call: grpc.ServerUnaryCall<Echo, Echo>, cb: grpc.sendUnaryData<Echo>) => {
    count(m);
    b.lastMetadata = call.metadata;
    const action = b.behaviour(m, call.metadata, call.request);
    const finish = () => {
      const code = action.code ?? grpc.status.OK;
      answer(code);
      if (code !== grpc.status.OK) cb({ code, details: `${name} failed on purpose` });
      else cb(null, { text: call.request.text, server: name, attempt: Number(call.metadata.get('grpc-previous-rpc-attempts')[0] ?? 0) });
    };
    if (action.delayMs) setTimeout(finish, action.delayMs).unref();
    else finish();
  };
  server.addService(echoServiceDefinition as unknown as grpc.ServiceDefinition, {
    Unary: unary('Unary'),
    Other: unary('Other'),
    ClientStream: (call: grpc.ServerReadableStream<Echo, Echo>, cb: grpc.sendUnaryData<Echo>) => {
      count('ClientStream');
      const texts: string[] = [];
      call.on('data', (m: Echo) => texts.push(m.text));
      call.on('end', () => {
        answer(0);
        cb(null, { text: texts.join(','), server: name });
      });
    },
    ServerStream: (call: grpc.ServerWritableStream<Echo, Echo>) => {
      count('ServerStream');
      for (let i = 0; i < 3; i++) call.write({ text: `${call.request.text}-${i}`, server: name });
      answer(0);
      call.end();
    },
    Bidi: (call: grpc.ServerDuplexStream<Echo, Echo>) => {
      count('Bidi');
      call.on('data', (m: Echo) => call.write({ text: m.text, server: name }));
      call.on('end', () => {
        answer(0);
        call.end();
      });
    },
  });
  extraServices(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return Object.assign(b, { port, address: `127.0.0.1:${port}` });
}

/** Promisified unary call. */
export function unary(client: EchoClientApi, req: Echo, opts: { metadata?: grpc.Metadata; deadlineMs?: number; method?: 'Unary' | 'Other' } = {}): Promise<Echo> {
  return new Promise((resolve, reject) => {
    const callOpts: grpc.CallOptions = opts.deadlineMs === undefined ? {} : { deadline: Date.now() + opts.deadlineMs };
    client[opts.method ?? 'Unary'](req, opts.metadata ?? new grpc.Metadata(), callOpts, (err, res) => (err ? reject(err) : resolve(res!)));
  });
}

/** Waits until `client`'s channel is READY (bounded by `timeoutMs`). */
export function waitReady(client: grpc.Client, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())));
}
