/**
 * What a workload sees: a real `@weft/core` Mesh, connected over ADS to the demo's control
 * plane, resolves every service that has routing rules and routes sample requests through the
 * compiled route table — the whole chain config → control plane → xDS → xds-client → core,
 * without any application traffic yet.
 */
import { Mesh } from '@weft/core';
import type { MeshModel } from '../model/mesh-model.ts';
import { resolveHostname } from '../registry/hostname.ts';
import type { StepResult } from './reporter.ts';

const SAMPLE_REQUESTS = 1000;

/** Connects a Mesh to `xdsAddress` and routes {@link SAMPLE_REQUESTS} requests per routed service. */
export async function describeWorkloadView(model: MeshModel, xdsAddress: string, namespace: string): Promise<StepResult> {
  const mesh = await Mesh.create({
    namespace,
    xdsClientOptions: { env: { WEFT_XDS_ADDRESS: xdsAddress, WEFT_NAMESPACE: namespace } },
    firstConfigTimeoutMs: 10_000,
  });
  try {
    const lines: string[] = [];
    let routed = 0;
    const hosts = new Set(
      model.virtualServices.flatMap((vs) => (vs.spec.hosts ?? []).map((h) => resolveHostname(h, vs.namespace, model.domainSuffix))),
    );
    for (const hostname of hosts) {
      const port = model.services.get(hostname)?.ports[0]?.number;
      if (port === undefined) continue;
      const authority = `${hostname}:${port}`;
      const snapshot = await mesh.waitForHost(authority);
      const counts = new Map<string, number>();
      for (let i = 0; i < SAMPLE_REQUESTS; i++) {
        const { clusterName } = snapshot.route(authority, { method: 'GET', path: '/', headers: {} });
        counts.set(clusterName, (counts.get(clusterName) ?? 0) + 1);
      }
      const shares = [...counts].map(([cluster, n]) => `${cluster} ${((100 * n) / SAMPLE_REQUESTS).toFixed(1)}%`).join(', ');
      lines.push(`${authority}: ${snapshot.routeTable.virtualHosts.length} virtual hosts; GET / → ${shares}`);
      routed++;
    }
    return { ok: routed === hosts.size && routed > 0, detail: `${routed} services resolved over xDS by a Weft Mesh`, lines };
  } finally {
    await mesh.close();
  }
}
