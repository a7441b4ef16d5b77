/**
 * The process's one meshed workload, shared by every register hook loaded into it
 * (`@weft/http-adapter/register`, `@weft/grpc-adapter/register`): one xds-client and Mesh (so one
 * ADS stream registers the workload once), the workload identity when `WEFT_MTLS=on`, and the
 * workload telemetry (metrics, tracing, access log, admin server, load reports). The first caller
 * starts it; later callers in the same process get the same instance, even when they load a
 * second copy of this module (the instance lives under a global symbol).
 *
 * Served ports come from `WEFT_PORT` (`9080`, or `http:9080,grpc:9090`); with `WEFT_SERVICE` set,
 * the workload's own listener of each port is watched, which opens the ADS stream that carries
 * the node metadata the control plane registers the workload from. The node metadata announces
 * that the workload's servers take the metadata exchange once per connection (Weft's inbound
 * telemetry remembers the peer of a connection), so callers need not repeat it on every request.
 */
import { createXdsClient, loadBootstrap, withNodeMetadata, NodeMetadataKey, type MeshError } from '@weft/xds-client';
import { PEER_EXCHANGE_PER_CONNECTION } from '../telemetry/peer-metadata.ts';
import { Mesh } from '../mesh/mesh.ts';
import { createIdentityFromEnv, isMtlsEnabled } from '../identity/identity-from-env.ts';
import type { WorkloadIdentity } from '../identity/workload-identity.ts';
import { startWorkloadTelemetry } from '../telemetry/workload-telemetry.ts';
import type { WorkloadTelemetryHandle } from '../telemetry/workload-telemetry.ts';

/** Environment as the register hooks read it. */
export type WorkloadEnv = Readonly<Record<string, string | undefined>>;

/** What {@link startProcessWorkload} started. */
export interface ProcessWorkload {
  readonly env: WorkloadEnv;
  readonly mesh: Mesh;
  /** Metrics, tracer, access log, load stats, admin server, LRS. */
  readonly telemetry: WorkloadTelemetryHandle;
  /** The workload identity when `WEFT_MTLS=on` (certificate possibly not issued yet). */
  readonly identity: WorkloadIdentity | undefined;
  /** `WEFT_SERVICE`, when set. */
  readonly service: string | undefined;
  /** Ports from `WEFT_PORT`, when `WEFT_SERVICE` is set; else empty. */
  readonly servedPorts: readonly number[];
  /** Stops telemetry and closes the Mesh and its xds-client; idempotent. */
  close(): Promise<void>;
}

const SHARED = Symbol.for('weft.processWorkload');
type Holder = { [SHARED]?: Promise<ProcessWorkload> };

/** Ports of a `WEFT_PORT` value: `9080` or `name:port` entries separated by commas. */
export function parseServedPorts(value: string | undefined): number[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((e) => Number(e.trim().split(':').pop()))
    .filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
}

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

function warn(message: string): void {
  process.emitWarning(`weft: ${message}`, { code: 'WEFT_REGISTER' });
}

async function start(env: WorkloadEnv): Promise<ProcessWorkload> {
  const xds = createXdsClient({ env, bootstrap: withNodeMetadata(loadBootstrap({ env }), { [NodeMetadataKey.weftPeerExchange]: PEER_EXCHANGE_PER_CONNECTION }) });
  const mesh = await Mesh.create({ xdsClient: xds });
  let identity: WorkloadIdentity | undefined;
  if (isMtlsEnabled(env)) {
    identity = createIdentityFromEnv(env, xds.bootstrap);
    mesh.setIdentity(identity);
    identity.onError((err) => warn(`${err.code}: ${err.message}`));
    try {
      await identity.ready({ timeoutMs: positive(env['WEFT_CERT_TIMEOUT_MS'], 15_000) });
    } catch (err) {
      warn(`mTLS is on but no certificate yet (${(err as MeshError).code}): ${(err as Error).message}`);
    }
  }
  const telemetry = await startWorkloadTelemetry({ env, mesh, configDump: () => xds.dump(), bootstrap: xds.bootstrap });
  const service = env['WEFT_SERVICE'] || undefined;
  const servedPorts = service === undefined ? [] : parseServedPorts(env['WEFT_PORT']);
  for (const port of servedPorts) {
    try {
      mesh.resolve(`${service}:${port}`, port); // opens the ADS stream that registers this workload
    } catch (err) {
      warn(`cannot watch ${service}:${port}: ${(err as Error).message}`);
    }
  }
  let closed: Promise<void> | undefined;
  return {
    env,
    mesh,
    telemetry,
    identity,
    service,
    servedPorts,
    close: () =>
      (closed ??= (async () => {
        await telemetry.close();
        identity?.close();
        await mesh.close();
        xds.close();
      })()),
  };
}

/**
 * The process's shared workload: started on the first call (from `env`, default
 * `process.env`), the same promise after. Rejects only when the Mesh cannot be created (bad
 * bootstrap); every other part that fails is reported as a `WEFT_REGISTER`/`WEFT_TELEMETRY`
 * process warning and the rest runs.
 */
export function startProcessWorkload(env: WorkloadEnv = process.env): Promise<ProcessWorkload> {
  const holder = globalThis as Holder;
  holder[SHARED] ??= start(env);
  return holder[SHARED];
}
