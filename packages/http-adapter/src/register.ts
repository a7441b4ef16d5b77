/**
 * Zero-code entry: `node --import @weft/http-adapter/register app.js`.
 *
 * Creates the process's one Mesh (core's `Mesh.fromEnv`, over an xds-client built from the A27
 * bootstrap — `GRPC_XDS_BOOTSTRAP` / `GRPC_XDS_BOOTSTRAP_CONFIG` — or the `WEFT_*` variables)
 * and makes the mesh dispatcher undici's global dispatcher, so global `fetch` and undici's
 * `request`/`stream`/`Client`/`Pool` users are meshed. With `WEFT_SERVICE` and `WEFT_PORT` set,
 * the workload's own listener is watched (which opens the ADS stream that registers it) and the
 * http server the application starts on `WEFT_PORT` is wrapped with the inbound policy.
 *
 * Extra variables: `WEFT_OUTBOUND_POLICY` (`ALLOW_ANY` default, or `REGISTRY_ONLY`),
 * `WEFT_FIRST_CONFIG_TIMEOUT_MS` (default 5,000), `WEFT_LOCAL_REPLIES` (`response` default, or `error`).
 *
 * This module is the only one with import-time side effects. The xDS client connects on the
 * first watched host; its sockets and timers are unref'd, so the process still exits by itself. A failure here never crashes the application: it is reported on stderr and the
 * process runs unmeshed.
 */
import { setGlobalDispatcher } from 'undici';
import { Mesh } from '@weft/core';
import { createMeshDispatcher } from './mesh-dispatcher.ts';
import { wrapServersListeningOn } from './inbound/listen-hook.ts';

function servedPorts(value: string | undefined): number[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((e) => Number(e.trim().split(':').pop()))
    .filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
}

try {
  const env = process.env;
  const mesh = await Mesh.fromEnv(env);
  const policy = env.WEFT_OUTBOUND_POLICY === 'REGISTRY_ONLY' ? 'REGISTRY_ONLY' : 'ALLOW_ANY';
  const timeout = Number(env.WEFT_FIRST_CONFIG_TIMEOUT_MS);
  setGlobalDispatcher(
    createMeshDispatcher({
      mesh,
      outboundTrafficPolicy: policy,
      firstConfigTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 5000,
      localReplies: env.WEFT_LOCAL_REPLIES === 'error' ? 'error' : 'response',
    }),
  );
  const service = env.WEFT_SERVICE;
  for (const port of service ? servedPorts(env.WEFT_PORT) : []) {
    try {
      mesh.resolve(`${service}:${port}`, port); // opens the ADS stream that registers this workload
    } catch (err) {
      process.emitWarning(`weft: cannot watch ${service}:${port}: ${(err as Error).message}`, { code: 'WEFT_REGISTER' });
    }
    wrapServersListeningOn(port, {});
  }
} catch (err) {
  process.emitWarning(`weft: the HTTP mesh is not active: ${(err as Error).message}`, { code: 'WEFT_REGISTER' });
}
