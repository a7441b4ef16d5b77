/**
 * Workload selectors of policies (AuthorizationPolicy, PeerAuthentication, Sidecar, EnvoyFilter)
 * that match no known workload in their namespace (IST0127 NoMatchingWorkloadsFound). A warning
 * when the namespace has known workloads and none matches; an info while it has none (workloads
 * may register themselves at runtime). Policies in the root namespace select across the mesh.
 */
import type { ConfigObject, WorkloadInstance } from '../../model/mesh-model.ts';
import { labelsMatch } from '../../registry/service-index.ts';
import { FindingCode } from '../finding.ts';
import type { Analyzer, Report } from '../analysis-context.ts';

function check(obj: ConfigObject<unknown>, labels: Record<string, string> | undefined, path: (string | number)[], byNamespace: ReadonlyMap<string, readonly WorkloadInstance[]>, report: Report): void {
  if (!labels || Object.keys(labels).length === 0) return;
  const inScope = byNamespace.get(obj.namespace) ?? [];
  if (inScope.some((w) => labelsMatch(labels, w.labels))) return;
  const text = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
  if (inScope.length === 0) report('info', FindingCode.noMatchingWorkloads, obj, path, `selects ${text}, and no workload in namespace ${obj.namespace} is known yet (self-registering workloads are matched when they connect)`);
  else report('warning', FindingCode.noMatchingWorkloads, obj, path, `selects ${text}, which matches none of the ${inScope.length} known workload(s) in namespace ${obj.namespace}`);
}

/** IST0127 over the selectors of policies. */
export const selectorAnalyzer: Analyzer = {
  name: 'selectors',
  run(input, report) {
    // Known workloads by namespace (each once, though it may back several services).
    const seen = new Set<string>();
    const workloads = new Map<string, WorkloadInstance[]>();
    for (const list of input.endpoints.values()) {
      for (const w of list) {
        if (seen.has(w.id)) continue;
        seen.add(w.id);
        const inNamespace = workloads.get(w.namespace);
        if (inNamespace) inNamespace.push(w);
        else workloads.set(w.namespace, [w]);
      }
    }
    for (const ap of input.authorizationPolicies) check(ap, ap.spec.selector?.matchLabels, ['spec', 'selector', 'matchLabels'], workloads, report);
    for (const pa of input.peerAuthentications) check(pa, pa.spec.selector?.matchLabels, ['spec', 'selector', 'matchLabels'], workloads, report);
    for (const sc of input.sidecars) check(sc, sc.spec.workloadSelector?.labels, ['spec', 'workloadSelector', 'labels'], workloads, report);
    for (const ef of input.envoyFilters) check(ef, ef.spec.workloadSelector?.labels, ['spec', 'workloadSelector', 'labels'], workloads, report);
  },
};
