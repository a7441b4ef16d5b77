/**
 * WorkloadGroup probes: a probe the health checker cannot run is reported where it is. An
 * `exec` probe is a valid Istio field Weft cannot apply (the control plane cannot run commands
 * inside a workload): WEFT0104, a warning, and the group is not probed. Any other bad probe
 * (two actions, a named port, a bad path or threshold) is an error (WEFT0107), so the config
 * is not published.
 */
import { isMeshError } from '@weft/xds-client';
import { probeOfWorkloadGroup } from '../../health/workload-group.ts';
import type { Analyzer } from '../analysis-context.ts';
import { FindingCode } from '../finding.ts';

/** `spec.probe.httpGet.httpHeaders[0]` → `['spec', 'probe', 'httpGet', 'httpHeaders', 0]`. */
function pathOf(field: string): (string | number)[] {
  return field.split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== '').map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** WEFT0104 / WEFT0107 over `spec.probe` of every WorkloadGroup. */
export const workloadGroupProbeAnalyzer: Analyzer = {
  name: 'workload-group-probes',
  run(input, report) {
    for (const g of input.workloadGroups ?? []) {
      try {
        probeOfWorkloadGroup(g);
      } catch (err) {
        const field = isMeshError(err) && typeof err.details?.['field'] === 'string' ? err.details['field'] : 'spec.probe';
        const message = err instanceof Error ? err.message.replace(/^WorkloadGroup [^:]*: \S+ /, '') : String(err);
        if (field === 'spec.probe.exec') {
          report('warning', FindingCode.unsupportedFeature, g, pathOf(field), 'is not applied by Weft: the control plane cannot run commands inside a workload, so the group is not probed (use httpGet, tcpSocket or grpc)');
        } else report('error', FindingCode.invalidValue, g, pathOf(field), message);
      }
    }
  },
};
