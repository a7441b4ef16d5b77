/**
 * `/debug/graph`: the service graph aggregated from LRS load reports (nodes, edges with
 * requests/s, error rate, in-progress, latency, mTLS), as JSON.
 */
import type { ServiceGraph } from '../lrs/service-graph.ts';
import { sendJson, type AdminServer } from './admin-server.ts';

/** Mounts `/debug/graph` on `admin`: GET answers the graph's current document as JSON. */
export function mountGraphRoutes(admin: AdminServer, graph: ServiceGraph): void {
  admin.route('/debug/graph', (_req, res) => sendJson(res, 200, graph.document()));
}
