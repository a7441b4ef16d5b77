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
 * With `WEFT_MTLS=on` the Mesh gets the workload identity (see docs/security.md), so channels
 * built with `createWeftChannelCredentials({ certificateProviders })` and servers built with
 * `createWeftServer({ security })` can use it; channels with insecure credentials stay plaintext
 * (grpc-js fixes credentials per channel, as grpc-js-xds does with `XdsChannelCredentials`).
 *
 * This module is the only place with import-time side effects; the Mesh it creates holds only
 * unref'd sockets and timers, so the process still exits by itself.
 */
import { Mesh, createIdentityFromEnv, isMtlsEnabled } from '@weft/core';
import { registerWeftGrpc } from './internal/registration.ts';
import { lazyConfigSource, meshConfigSource } from './internal/mesh-source.ts';

registerWeftGrpc({
  source: lazyConfigSource(async () => {
    const mesh = await Mesh.fromEnv();
    if (isMtlsEnabled()) {
      try {
        const identity = createIdentityFromEnv();
        identity.onError((err) => process.emitWarning(`weft: ${err.code}: ${err.message}`, { code: 'WEFT_CERT' }));
        mesh.setIdentity(identity);
      } catch (err) {
        process.emitWarning(`weft: WEFT_MTLS=on but no workload identity: ${(err as Error).message}`, { code: 'WEFT_CERT' });
      }
    }
    return meshConfigSource(mesh);
  }),
});
