/**
 * Zero-code entry: `node --import @weft/http-adapter/register app.js`.
 *
 * Starts (or joins, when the gRPC hook is loaded too) the process's one workload — core's
 * `startProcessWorkload`: the Mesh over an xds-client built from the A27 bootstrap
 * (`GRPC_XDS_BOOTSTRAP` / `GRPC_XDS_BOOTSTRAP_CONFIG`) or the `WEFT_*` variables, the identity,
 * and the workload telemetry (metrics, traces, access log, admin server, load reports) — and makes the mesh dispatcher undici's global dispatcher, so global `fetch` and undici's
 * `request`/`stream`/`Client`/`Pool` users are meshed. With `WEFT_SERVICE` and `WEFT_PORT` set,
 * the workload's own listener is watched (which opens the ADS stream that registers it) and the
 * http server the application starts on `WEFT_PORT` is wrapped with the inbound policy.
 *
 * Extra variables: `WEFT_OUTBOUND_POLICY` (`ALLOW_ANY` default, or `REGISTRY_ONLY`),
 * `WEFT_FIRST_CONFIG_TIMEOUT_MS` (default 5,000), `WEFT_LOCAL_REPLIES` (`response` default, or `error`).
 *
 * Security: the inbound listener of each served port (PeerAuthentication, AuthorizationPolicy,
 * inbound rate limit) is watched and enforced on the server. With `WEFT_MTLS=on` the workload
 * identity is created first (a bounded wait of `WEFT_CERT_TIMEOUT_MS`, default 15,000; on
 * failure a `WEFT_ERR_CERT_*` warning is printed and the identity keeps retrying), outbound
 * connections use mTLS where the cluster says so, and served ports default to PERMISSIVE until
 * their policy arrives. `WEFT_SECURITY_LOG=1` prints each denial and refused connection.
 *
 * This module is the only one with import-time side effects. The xDS client connects on the
 * first watched host; its sockets and timers are unref'd, so the process still exits by itself. A failure here never crashes the application: it is reported on stderr and the
 * process runs unmeshed.
 */
import { setGlobalDispatcher } from 'undici';
import { startProcessWorkload } from '@weft/core';
import type { MeshError } from '@weft/xds-client';
import { watchMeshInbound } from './inbound/mesh-inbound.ts';
import { createMeshDispatcher } from './mesh-dispatcher.ts';
import { wrapServersListeningOn } from './inbound/listen-hook.ts';
import { startInboundTelemetry } from './telemetry/inbound-telemetry.ts';

try {
  const workload = await startProcessWorkload(process.env);
  const { env, mesh } = workload;
  const telemetry = workload.telemetry.telemetry;
  const timeout = Number(env['WEFT_FIRST_CONFIG_TIMEOUT_MS']);
  setGlobalDispatcher(
    createMeshDispatcher({
      mesh,
      telemetry,
      outboundTrafficPolicy: env['WEFT_OUTBOUND_POLICY'] === 'REGISTRY_ONLY' ? 'REGISTRY_ONLY' : 'ALLOW_ANY',
      firstConfigTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 5000,
      localReplies: env['WEFT_LOCAL_REPLIES'] === 'error' ? 'error' : 'response',
    }),
  );
  const isSecurityLogged = env['WEFT_SECURITY_LOG'] === '1';
  const logSecurity = (err: MeshError): void => {
    if (isSecurityLogged) process.stderr.write(`weft: ${err.code}: ${err.message}\n`);
  };
  startInboundTelemetry(telemetry, workload.servedPorts.length > 0 ? { ports: [...workload.servedPorts] } : {});
  for (const port of workload.servedPorts) {
    let options = {};
    try {
      options = watchMeshInbound(mesh, port, { isMtlsEnabled: workload.identity !== undefined, onError: logSecurity }).options;
    } catch (err) {
      process.emitWarning(`weft: no inbound policy for port ${port}: ${(err as Error).message}`, { code: 'WEFT_REGISTER' });
    }
    wrapServersListeningOn(port, options);
  }
} catch (err) {
  process.emitWarning(`weft: the HTTP mesh is not active: ${(err as Error).message}`, { code: 'WEFT_REGISTER' });
}
