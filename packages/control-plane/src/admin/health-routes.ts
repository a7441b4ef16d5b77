/**
 * `/debug/health`: the WorkloadGroup probes in force and each probed endpoint's state (health,
 * last result, consecutive successes/failures), plus — when the xDS server is given — the
 * readiness of every self-registered workload (probe, ready or not, since when, last error), as
 * JSON.
 */
import type { EndpointHealthMonitor, HealthReport } from '../health/endpoint-health.ts';
import type { WorkloadReadiness } from '../xds/self-registration.ts';
import { sendJson, type AdminServer } from './admin-server.ts';

/** Where `/debug/health` reads self-registered workloads' readiness (the xDS server satisfies it). */
export interface ReadinessSource {
  readiness(): readonly WorkloadReadiness[];
}

/** Options of {@link mountHealthRoutes}. */
export interface HealthRoutesOptions {
  /** Adds `readiness` (one entry per self-registered workload) to the document; absent: the key is left out. */
  readiness?: ReadinessSource;
}

/** The `/debug/health` document: the monitor's report, and the readiness of self-registered workloads when known. */
export interface HealthDocument extends HealthReport {
  readiness?: readonly WorkloadReadiness[];
}

/**
 * Mounts `/debug/health` on `admin`: GET answers `monitor.report()` (groups, probed endpoints,
 * problems) and, with `options.readiness`, `readiness` (self-registered workloads) as JSON.
 */
export function mountHealthRoutes(admin: AdminServer, monitor: EndpointHealthMonitor, options: HealthRoutesOptions = {}): void {
  const { readiness } = options;
  admin.route('/debug/health', (_req, res) => {
    const doc: HealthDocument = readiness ? { ...monitor.report(), readiness: readiness.readiness() } : monitor.report();
    sendJson(res, 200, doc);
  });
}
