/**
 * A tiny grpc-js server for the e2e tests: `/test.Echo/Who` and `/test.Echo/Special` answer
 * with the name the server was started with (its subset), as raw bytes (no proto needed).
 */
import { Server, ServerCredentials, type ServiceDefinition, type handleUnaryCall } from '@grpc/grpc-js';

const identity = (b: Buffer) => b;

/** The Echo service definition, shared by the test servers and clients. */
export const echoService: ServiceDefinition = {
  Who: { path: '/test.Echo/Who', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  Special: { path: '/test.Echo/Special', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
} as ServiceDefinition;

/** Starts a server on 127.0.0.1:0 answering `name`; resolves to its port and a stop function. */
export async function startEchoBackend(name: string): Promise<{ port: number; stop(): Promise<void> }> {
  const server = new Server();
  const answer: handleUnaryCall<Buffer, Buffer> = (_call, cb) => cb(null, Buffer.from(name));
  server.addService(echoService, { Who: answer, Special: answer });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return {
    port,
    stop: () => new Promise<void>((resolve) => {
      const t = setTimeout(() => { server.forceShutdown(); resolve(); }, 1000);
      t.unref();
      server.tryShutdown(() => { clearTimeout(t); resolve(); });
    }),
  };
}
