/**
 * Test fixture process: a `@grpc/grpc-js-xds` client calling `/test.Echo/Echo` on an `xds:///`
 * target with XdsChannelCredentials (A29), bootstrap from `GRPC_XDS_BOOTSTRAP_CONFIG`, target
 * from argv[2]. Retries while the answer is UNAVAILABLE (certificates load asynchronously),
 * prints `{"code": <grpc status>}` and exits. A process of its own because grpc-js-xds never
 * closes the xDS client of a channel, which would keep a test process alive.
 */
import * as grpc from '@grpc/grpc-js';
import { XdsChannelCredentials, register } from '@grpc/grpc-js-xds';

register();
const target = process.argv[2] ?? '';
const bytes = (b: Buffer) => b;
const echo = { Echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: bytes, requestDeserialize: bytes, responseSerialize: bytes, responseDeserialize: bytes } };
const Client = grpc.makeGenericClientConstructor(echo as unknown as grpc.ServiceDefinition, 'Echo');
const client = new Client(target, new XdsChannelCredentials(grpc.credentials.createInsecure())) as unknown as {
  Echo(r: Buffer, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void): void;
};
let code = grpc.status.UNAVAILABLE;
let details = '';
for (let i = 0; i < 10 && code === grpc.status.UNAVAILABLE; i++) {
  [code, details] = await new Promise<[grpc.status, string]>((resolve) => client.Echo(Buffer.from('hi'), { deadline: Date.now() + 5000 }, (e) => resolve(e ? [e.code, e.details] : [grpc.status.OK, ''])));
}
process.stdout.write(`${JSON.stringify({ code, details })}\n`);
process.exit(0);
