/**
 * `/debug/health`: the WorkloadGroup probes in force and each probed endpoint's state (health,
 * last result, consecutive successes/failures), as JSON.
 */
import type { EndpointHealthMonitor } from '../health/endpoint-health.ts';
import { sendJson, type AdminServer } from './admin-server.ts';

/** Mounts `/debug/health` on `admin`: GET answers `monitor.report()` (groups, probed endpoints, problems) as JSON. */
export function mountHealthRoutes(admin: AdminServer, monitor: EndpointHealthMonitor): void {
  admin.route('/debug/health', (_req, res) => sendJson(res, 200, monitor.report()));
}
