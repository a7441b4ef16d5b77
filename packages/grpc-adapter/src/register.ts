/**
 * Zero-code entry: `node --import @weft/grpc-adapter/register app.js`.
 *
 * Registers Weft in the application's grpc-js (peer dependency: the copy the app imports), so
 * `xds:///host:port` and `weft:///host:port` targets resolve through Weft. The process's
 * `Mesh` (`@weft/core`) is created on the first meshed channel, from the same A27 bootstrap
 * grpc-js-xds reads (`GRPC_XDS_BOOTSTRAP`, `GRPC_XDS_BOOTSTRAP_CONFIG`), else from `WEFT_*`
 * variables (`WEFT_XDS_ADDRESS`, default `localhost:15010`); short names such as
 * `xds:///reviews:9080` resolve in the workload's namespace. A bad bootstrap never crashes the
 * process: meshed calls fail UNAVAILABLE with `WEFT_ERR_BOOTSTRAP_INVALID` in their details.
 *
 * This module is the only place with import-time side effects; the Mesh it creates holds only
 * unref'd sockets and timers, so the process still exits by itself.
 */
import { Mesh } from '@weft/core';
import { registerWeftGrpc } from './internal/registration.ts';
import { lazyConfigSource, meshConfigSource } from './internal/mesh-source.ts';

registerWeftGrpc({ source: lazyConfigSource(async () => meshConfigSource(await Mesh.fromEnv())) });
