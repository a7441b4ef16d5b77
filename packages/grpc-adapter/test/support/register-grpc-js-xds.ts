/** Child-process preload for register.test.ts: registers @grpc/grpc-js-xds before Weft. */
import { register } from '@grpc/grpc-js-xds';

register();
