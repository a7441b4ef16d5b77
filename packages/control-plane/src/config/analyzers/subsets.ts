/**
 * Subsets: a VirtualService destination that names a subset no DestinationRule for its host
 * defines (IST0101, an error: Envoy would have no such cluster), and DestinationRule subsets whose
 * labels select no known workload (IST0173).
 */
import { hostMatches, resolveHostname } from '../../registry/hostname.ts';
import { labelsMatch } from '../../registry/service-index.ts';
import { FindingCode } from '../finding.ts';
import type { Analyzer } from '../analysis-context.ts';
import { forEachDestination } from './walk.ts';

/** IST0101 for undefined subsets. */
export const undefinedSubsetAnalyzer: Analyzer = {
  name: 'undefined-subset',
  run(input, report) {
    const drs = input.destinationRules.map((dr) => ({ dr, host: resolveHostname(dr.spec.host ?? '', dr.namespace, input.domainSuffix) }));
    for (const vs of input.virtualServices) {
      forEachDestination(vs, ({ destination, path }) => {
        if (!destination.subset) return;
        const host = resolveHostname(destination.host, vs.namespace, input.domainSuffix);
        const defined = drs.some(({ dr, host: drHost }) => hostMatches(drHost, host) && (dr.spec.subsets ?? []).some((s) => s.name === destination.subset));
        if (!defined) {
          report('error', FindingCode.referencedResourceNotFound, vs, [...path, 'subset'], `"${destination.subset}" is not defined by any DestinationRule for ${host}`);
        }
      });
    }
  },
};

/**
 * IST0173: a subset whose labels match none of the host's known endpoints. A warning when the
 * host has endpoints (none of them fits), an info when it has none yet (workloads may register
 * themselves at runtime).
 */
export const subsetSelectsNothingAnalyzer: Analyzer = {
  name: 'subset-selects-nothing',
  run(input, report) {
    for (const dr of input.destinationRules) {
      const host = resolveHostname(dr.spec.host ?? '', dr.namespace, input.domainSuffix);
      const eps = [...input.endpoints.entries()].filter(([h]) => hostMatches(host, h)).flatMap(([, list]) => list);
      (dr.spec.subsets ?? []).forEach((subset, i) => {
        const labels = subset.labels ?? {};
        if (Object.keys(labels).length === 0) return;
        if (eps.some((e) => labelsMatch(labels, e.labels))) return;
        if (eps.length === 0) {
          report('info', FindingCode.subsetSelectsNoWorkload, dr, ['spec', 'subsets', i, 'labels'], `subset "${subset.name}" selects no known workload of ${host} yet (none is declared; self-registering workloads will be matched when they connect)`);
        } else {
          report('warning', FindingCode.subsetSelectsNoWorkload, dr, ['spec', 'subsets', i, 'labels'], `subset "${subset.name}" selects none of the ${eps.length} known workload(s) of ${host}`);
        }
      });
    }
  },
};
