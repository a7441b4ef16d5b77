/**
 * Waiting until the shop's instances are endpoints of their services, as a caller sees it: a
 * Weft `Mesh` in the demo process (a plain xDS client of the control plane) resolves each
 * service and looks for the instance's port among the endpoints of its subset's cluster.
 *
 * Instances register themselves: the register hook sends `WEFT_SERVICE`, `WEFT_PORT` and
 * `WEFT_LABELS` as node metadata on its ADS stream, and the control plane adds the instance as an
 * endpoint while that stream lives. Nothing is declared for them.
 */
import type { Mesh } from '@weft/core';
import type { ShopInstance } from './shop.ts';
import { sleep } from './traffic.ts';

/** The port each shop service declares in `examples/mesh/services.yaml`. */
export const SERVICE_PORTS: Readonly<Record<ShopInstance['service'], number>> = { frontend: 8080, catalog: 50051, ratings: 9080, inventory: 50051 };

function hostOf(service: string, namespace: string): string {
  return `${service}.${namespace}.svc.cluster.local`;
}

/** True when the demo's Mesh sees `instance` as an endpoint of its (subset) cluster. */
export function isEndpointVisible(mesh: Mesh, instance: ShopInstance, namespace: string): boolean {
  const svcPort = SERVICE_PORTS[instance.service];
  const host = hostOf(instance.service, namespace);
  const snapshot = mesh.resolve(`${host}:${svcPort}`);
  if (!snapshot) return false;
  const cluster = `outbound|${svcPort}|${instance.version && instance.service !== 'frontend' && instance.service !== 'inventory' ? instance.version : ''}|${host}`;
  for (let i = 0; i < 8; i++) {
    try {
      if (snapshot.pickEndpoint(cluster, { method: 'GET', path: '/', headers: {} }).port === instance.port) return true;
    } catch {
      return false;
    }
  }
  return false;
}

/** Polls until every instance is visible or `timeoutMs` passed; resolves to the ones still missing. */
export async function waitForEndpoints(mesh: Mesh, instances: readonly ShopInstance[], namespace: string, timeoutMs: number): Promise<ShopInstance[]> {
  const deadline = Date.now() + timeoutMs;
  let missing = [...instances];
  for (;;) {
    missing = missing.filter((i) => !isEndpointVisible(mesh, i, namespace));
    if (missing.length === 0 || Date.now() >= deadline) return missing;
    await sleep(200);
  }
}
