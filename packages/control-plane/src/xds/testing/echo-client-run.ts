/**
 * The body of the echo-client fixture processes (grpc-js-xds's and Weft's): calls
 * `/test.Echo/Echo` on `target` with `credentials`, retrying while the answer is UNAVAILABLE (the
 * peer may load its certificates asynchronously), prints `{"code": <grpc status>, "details": …}`
 * and exits.
 */
import * as grpc from '@grpc/grpc-js';

const bytes = (b: Buffer) => b;
const echo = { Echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes } };

/** Runs the call loop, prints the outcome and exits the process. */
export async function runEchoClient(target: string, credentials: grpc.ChannelCredentials): Promise<never> {
  const Client = grpc.makeGenericClientConstructor(echo as unknown as grpc.ServiceDefinition, 'Echo');
  const client = new Client(target, credentials) as unknown as {
    Echo(r: Buffer, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void): void;
  };
  let code = grpc.status.UNAVAILABLE;
  let details = '';
  for (let i = 0; i < 10 && code === grpc.status.UNAVAILABLE; i++) {
    [code, details] = await new Promise<[grpc.status, string]>((resolve) => client.Echo(Buffer.from('hi'), { deadline: Date.now() + 5000 }, (e) => resolve(e ? [e.code, e.details] : [grpc.status.OK, ''])));
  }
  process.stdout.write(`${JSON.stringify({ code, details })}\n`);
  process.exit(0);
}
