/**
 * Subsets: a VirtualService destination that names a subset no DestinationRule for its host
 * defines (IST0101, an error: Envoy would have no such cluster), and DestinationRule subsets whose
 * labels select no known workload (IST0173).
 *
 * Both are linear in the number of resources: DestinationRules and endpoints are indexed by host
 * once per analysis (exact hosts in a map; only wildcard hosts, usually few, are scanned).
 */
import type { AnalysisInput } from '../analysis-context.ts';
import type { WorkloadInstance } from '../../model/mesh-model.ts';
import { hostMatches, resolveHostname } from '../../registry/hostname.ts';
import { labelsMatch } from '../../registry/service-index.ts';
import { FindingCode } from '../finding.ts';
import type { Analyzer } from '../analysis-context.ts';
import { forEachDestination } from './walk.ts';

/** Subset names defined per DestinationRule host: exact hosts by name, wildcard hosts in order. */
interface SubsetIndex {
  exact: Map<string, Set<string>>;
  wildcard: { host: string; names: Set<string> }[];
}

function indexSubsets(input: AnalysisInput): SubsetIndex {
  const exact = new Map<string, Set<string>>();
  const wildcard: SubsetIndex['wildcard'] = [];
  for (const dr of input.destinationRules) {
    const host = resolveHostname(dr.spec.host ?? '', dr.namespace, input.domainSuffix);
    const names = new Set<string>();
    for (const s of dr.spec.subsets ?? []) names.add(s.name);
    if (host === '*' || host.startsWith('*.')) {
      wildcard.push({ host, names });
      continue;
    }
    const known = exact.get(host);
    if (known) for (const n of names) known.add(n);
    else exact.set(host, names);
  }
  return { exact, wildcard };
}

/** IST0101 for undefined subsets. */
export const undefinedSubsetAnalyzer: Analyzer = {
  name: 'undefined-subset',
  run(input, report) {
    let index: SubsetIndex | undefined;
    for (const vs of input.virtualServices) {
      forEachDestination(vs, ({ destination, path }) => {
        const subset = destination.subset;
        if (!subset) return;
        index ??= indexSubsets(input);
        const host = resolveHostname(destination.host, vs.namespace, input.domainSuffix);
        // A DestinationRule's host covers the destination's as hostMatches(drHost, host) says:
        // equal, `*`, or a `*.suffix` the host ends with.
        const defined = index.exact.get(host)?.has(subset) === true || index.wildcard.some((w) => w.names.has(subset) && hostMatches(w.host, host));
        if (!defined) {
          report('error', FindingCode.referencedResourceNotFound, vs, [...path, 'subset'], `"${subset}" is not defined by any DestinationRule for ${host}`);
        }
      });
    }
  },
};

/** The known workloads of the hosts a DestinationRule host covers, memoized per host. */
function endpointsCovered(input: AnalysisInput): (host: string) => readonly WorkloadInstance[] {
  const memo = new Map<string, readonly WorkloadInstance[]>();
  return (host) => {
    let eps = memo.get(host);
    if (eps) return eps;
    if (host === '*' || host.startsWith('*.')) {
      const all: WorkloadInstance[] = [];
      for (const [h, list] of input.endpoints) if (hostMatches(host, h)) all.push(...list);
      eps = all;
    } else {
      eps = input.endpoints.get(host) ?? [];
    }
    memo.set(host, eps);
    return eps;
  };
}

/**
 * IST0173: a subset whose labels match none of the host's known endpoints. A warning when the
 * host has endpoints (none of them fits), an info when it has none yet (workloads may register
 * themselves at runtime).
 */
export const subsetSelectsNothingAnalyzer: Analyzer = {
  name: 'subset-selects-nothing',
  run(input, report) {
    const covered = endpointsCovered(input);
    for (const dr of input.destinationRules) {
      const subsets = dr.spec.subsets ?? [];
      if (subsets.length === 0) continue;
      const host = resolveHostname(dr.spec.host ?? '', dr.namespace, input.domainSuffix);
      const eps = covered(host);
      subsets.forEach((subset, i) => {
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
