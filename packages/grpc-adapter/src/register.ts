/**
 * Zero-code entry: `node --import @weft/grpc-adapter/register app.js`.
 *
 * Starts (or joins, when the HTTP hook is loaded too) the process's one workload — core's
 * `startProcessWorkload`: the Mesh over an xds-client built from the A27 bootstrap
 * (`GRPC_XDS_BOOTSTRAP` / `GRPC_XDS_BOOTSTRAP_CONFIG`) or the `WEFT_*` variables
 * (`WEFT_XDS_ADDRESS`, default `localhost:15010`), the identity (`WEFT_MTLS=on`), and the
 * workload telemetry (metrics, traces, access log, admin server on `WEFT_ADMIN_PORT`, load
 * reports). Then, in the application's grpc-js (a peer dependency: the copy the app imports):
 *
 * - Clients: `xds:///host:port` and `weft:///host:port` targets resolve through Weft (short
 *   names such as `xds:///reviews:9080` resolve in the workload's namespace), and every meshed
 *   call is recorded (`istio_requests_total{reporter="source"}` with `grpc_response_status`,
 *   CLIENT spans, access log, load reports).
 * - Servers: with `WEFT_SERVICE` and `WEFT_PORT` set the workload registers itself, and a plain
 *   `new grpc.Server()` that the application binds on a served port is served with the inbound
 *   policy from xDS — PeerAuthentication (STRICT / PERMISSIVE mTLS), AuthorizationPolicy
 *   (PERMISSION_DENIED), inbound local rate limit (UNAVAILABLE, or RESOURCE_EXHAUSTED) and fault
 *   injection — plus `reporter="destination"` telemetry; see `internal/server-bind-hook.ts` for
 *   how (public connection injectors and interceptor credentials; `bindAsync` is wrapped to learn
 *   the port). `WEFT_SECURITY_LOG=1` prints each denial and refused connection.
 *
 * A failure here never crashes the application: a bad bootstrap makes meshed calls fail
 * UNAVAILABLE with `WEFT_ERR_BOOTSTRAP_INVALID` in their details, and servers bind unmeshed.
 * This module is the only place with import-time side effects; the workload holds only unref'd
 * sockets and timers, so the process still exits by itself.
 */
import { startProcessWorkload } from '@weft/core';
import { ErrorCode, isMeshError, MeshError } from '@weft/xds-client';
import { registerWeftGrpc } from './internal/registration.ts';
import { lazyConfigSource, meshConfigSource } from './internal/mesh-source.ts';
import { watchServedPorts } from './internal/served-ports.ts';
import { hookServerBinds } from './internal/server-bind-hook.ts';

try {
  const workload = await startProcessWorkload(process.env);
  const telemetry = workload.telemetry.telemetry;
  registerWeftGrpc({ source: meshConfigSource(workload.mesh), telemetry });
  if (workload.servedPorts.length > 0) {
    const isSecurityLogged = workload.env['WEFT_SECURITY_LOG'] === '1';
    const served = watchServedPorts({
      mesh: workload.mesh,
      ports: workload.servedPorts,
      isMtlsEnabled: workload.identity !== undefined,
      telemetry,
      onError: (err: MeshError) => {
        if (isSecurityLogged) process.stderr.write(`weft: ${err.code}: ${err.message}\n`);
      },
    });
    hookServerBinds(served.security);
  }
} catch (err) {
  process.emitWarning(`weft: the gRPC mesh is not active: ${(err as Error).message}`, { code: 'WEFT_REGISTER' });
  // Meshed targets then fail with the reason instead of waiting for a mesh that never comes.
  registerWeftGrpc({ source: lazyConfigSource(() => Promise.reject(isMeshError(err) ? err : new MeshError(ErrorCode.xdsUnavailable, `the gRPC mesh could not start: ${String(err)}`, { cause: err }))) });
}
