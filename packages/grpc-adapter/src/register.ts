/**
 * Zero-code entry: `node --import @weft/grpc-adapter/register app.js`.
 *
 * Registers Weft in the application's grpc-js (peer dependency: the copy the app imports), so
 * `xds:///host:port` and `weft:///host:port` targets resolve through Weft. The xDS client is
 * created on the first meshed channel, from the same A27 bootstrap grpc-js-xds reads
 * (`GRPC_XDS_BOOTSTRAP`, `GRPC_XDS_BOOTSTRAP_CONFIG`), else from `WEFT_*` variables
 * (`WEFT_XDS_ADDRESS`, default `localhost:15010`). A bad bootstrap never crashes the process:
 * meshed calls fail UNAVAILABLE with `WEFT_ERR_BOOTSTRAP_INVALID` in their details.
 *
 * This module is the only place with import-time side effects; it owns the process's one xDS
 * client, whose sockets and timers are unref'd so the process still exits by itself.
 */
import { createXdsClient, ErrorCode, MeshError } from '@weft/xds-client';
import type { XdsClient, XdsConfigWatcher } from '@weft/xds-client';
import { registerWeftGrpc } from './internal/registration.ts';
import type { XdsConfigSource } from './internal/config-source.ts';

let client: XdsClient | undefined;
let bootstrapError: MeshError | undefined;

const lazySource: XdsConfigSource = {
  watchXdsConfig(listenerName: string, watcher: XdsConfigWatcher) {
    if (client === undefined && bootstrapError === undefined) {
      try {
        client = createXdsClient();
      } catch (err) {
        bootstrapError = err instanceof MeshError ? err : new MeshError(ErrorCode.bootstrapInvalid, `xDS bootstrap failed: ${String(err)}`, { cause: err });
      }
    }
    if (client === undefined) throw bootstrapError ?? new MeshError(ErrorCode.bootstrapInvalid, `no xDS client for ${listenerName}`);
    return client.watchXdsConfig(listenerName, watcher);
  },
};

registerWeftGrpc({ source: lazySource });
