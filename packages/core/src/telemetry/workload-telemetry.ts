/**
 * Everything telemetry a meshed workload runs, started in one call from the environment — what
 * the register hooks call once per process: the {@link MeshTelemetry} (identity from `WEFT_*`,
 * access log from `WEFT_ACCESS_LOG`, sampling from `WEFT_TRACE_SAMPLING`), the OpenTelemetry SDK
 * when `OTEL_*` configure an exporter, the sampling rate following the listeners' tracing
 * config, the admin server on `WEFT_ADMIN_PORT`, and LRS load reports to the xDS server
 * (`WEFT_LOAD_REPORTING=off` disables them). Nothing here throws: a part that cannot start is
 * reported as a process warning (`WEFT_TELEMETRY`) and the rest runs.
 */
import type { XdsBootstrap } from '@weft/xds-client';
import type { LrsClient } from '@weft/xds-client';
import { startAdminServerFromEnv } from '../admin/admin-server.ts';
import type { AdminServerHandle } from '../admin/admin-server.ts';
import type { Mesh } from '../mesh/mesh.ts';
import { followListenerSampling } from './listener-sampling.ts';
import { startLoadReporting } from './load-reporting.ts';
import { meshTelemetryFromEnv } from './mesh-telemetry.ts';
import type { MeshTelemetry } from './mesh-telemetry.ts';
import { startTelemetryFromEnv } from './otel-sdk-start.ts';
import type { TelemetrySdkHandle } from './otel-sdk-start.ts';

/** Options of {@link startWorkloadTelemetry}. */
export interface WorkloadTelemetryOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The process's Mesh (admin `/clusters`, `/ready`, sampling updates). */
  readonly mesh?: Mesh;
  /** The xds-client's `dump()` for `/config_dump`. */
  readonly configDump?: () => unknown;
  /** The bootstrap for LRS (default: loaded from `env`). */
  readonly bootstrap?: XdsBootstrap;
}

/** What {@link startWorkloadTelemetry} started; `close()` stops all of it (idempotent). */
export interface WorkloadTelemetryHandle {
  readonly telemetry: MeshTelemetry;
  readonly admin: AdminServerHandle | undefined;
  readonly loadReporting: LrsClient | undefined;
  readonly sdk: TelemetrySdkHandle | undefined;
  close(): Promise<void>;
}

function warn(what: string, err: unknown): void {
  process.emitWarning(`weft: ${what}: ${(err as Error).message}`, { code: 'WEFT_TELEMETRY' });
}

/** See the module comment. */
export async function startWorkloadTelemetry(options: WorkloadTelemetryOptions = {}): Promise<WorkloadTelemetryHandle> {
  const env = options.env ?? process.env;
  const telemetry = meshTelemetryFromEnv(env);
  const sdk = await startTelemetryFromEnv(env, { tracer: telemetry.tracer });
  const sampling = options.mesh === undefined ? undefined : followListenerSampling(options.mesh, telemetry.tracer);
  let admin: AdminServerHandle | undefined;
  try {
    admin = await startAdminServerFromEnv(env, { telemetry, mesh: options.mesh, configDump: options.configDump });
  } catch (err) {
    warn('the workload admin server is not running', err);
  }
  let loadReporting: LrsClient | undefined;
  if ((env['WEFT_LOAD_REPORTING'] ?? 'on').toLowerCase() !== 'off') {
    try {
      loadReporting = startLoadReporting({ store: telemetry.loadStats, env, bootstrap: options.bootstrap });
    } catch (err) {
      warn('load reporting is off', err);
    }
  }
  let closed: Promise<void> | undefined;
  return {
    telemetry,
    admin,
    loadReporting,
    sdk,
    close: () =>
      (closed ??= (async () => {
        sampling?.cancel();
        loadReporting?.close();
        await admin?.close();
        await sdk?.shutdown();
        await telemetry.close();
      })()),
  };
}
