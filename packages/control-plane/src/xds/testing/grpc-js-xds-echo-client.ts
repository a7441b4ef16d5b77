/**
 * Test fixture process: a `@grpc/grpc-js-xds` client calling `/test.Echo/Echo` on an `xds:///`
 * target with XdsChannelCredentials (A29), bootstrap from `GRPC_XDS_BOOTSTRAP_CONFIG`, target
 * from argv[2]. Retries while the answer is UNAVAILABLE (certificates load asynchronously),
 * prints `{"code": <grpc status>}` and exits. A process of its own because grpc-js-xds never
 * closes the xDS client of a channel, which would keep a test process alive.
 */
import * as grpc from '@grpc/grpc-js';
import { XdsChannelCredentials, register } from '@grpc/grpc-js-xds';
import { runEchoClient } from './echo-client-run.ts';

register();
await runEchoClient(process.argv[2] ?? '', new XdsChannelCredentials(grpc.credentials.createInsecure()));
