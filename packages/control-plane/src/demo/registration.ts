/**
 * Waiting until the shop's instances are endpoints of their services, as a caller sees it: a
 * Weft `Mesh` in the demo process (a plain xDS client of the control plane) resolves each
 * service and looks for the instance's port among the endpoints of its subset's cluster.
 *
 * Instances register themselves (self-registration through their xDS stream). When that does
 * not happen within a few seconds, the demo declares them instead with Istio `WorkloadEntry`
 * objects in its own config copy — the way non-Kubernetes workloads are added in Istio — and
 * says so, so a broken self-registration is visible rather than hidden.
 */
import type { Mesh } from '@weft/core';
import type { ConfigDocument, ConfigWorkspace } from './config-workspace.ts';
import type { ShopInstance } from './shop.ts';
import { sleep } from './traffic.ts';

/** The port each shop service declares in `examples/mesh/services.yaml`. */
export const SERVICE_PORTS: Readonly<Record<ShopInstance['service'], number>> = { frontend: 8080, catalog: 50051, ratings: 9080, inventory: 50051 };

/** The file the fallback WorkloadEntries are written to, inside the demo's config copy. */
export const WORKLOAD_ENTRIES_FILE = 'demo-workload-entries.yaml';

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

/** The `WorkloadEntry` that declares `instance` (selected by its ServiceEntry's `app` label). */
export function workloadEntryFor(instance: ShopInstance, namespace: string): ConfigDocument {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadEntry',
    metadata: { name: instance.name, namespace },
    spec: {
      address: '127.0.0.1',
      ports: { [instance.portName]: instance.port },
      // tlsMode: the endpoint speaks Istio mTLS, so callers with WEFT_MTLS=on use it (auto mTLS).
      labels: { app: instance.service, ...(instance.version ? { version: instance.version } : {}), 'security.istio.io/tlsMode': 'istio' },
      serviceAccount: instance.service,
    },
  };
}

/** Writes the WorkloadEntries of `instances` (replacing the file's previous content). */
export function declareWorkloadEntries(config: ConfigWorkspace, instances: readonly ShopInstance[], namespace: string): void {
  config.write(WORKLOAD_ENTRIES_FILE, instances.map((i) => workloadEntryFor(i, namespace)));
}
