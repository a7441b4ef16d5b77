/**
 * Resources that contradict each other: two VirtualServices for one host on the mesh gateway
 * (IST0109), several namespace-wide Sidecars in one namespace (IST0111), two ServiceEntries
 * declaring the same host (WEFT0004).
 */
import { resolveHostname } from '../../registry/hostname.ts';
import { FindingCode } from '../finding.ts';
import type { Analyzer } from '../analysis-context.ts';
import { resourceName } from '../resource-parse.ts';
import { boundGateways } from './walk.ts';

/** IST0109: one host, several mesh-gateway VirtualServices (Istio merges them unpredictably). */
export const conflictingVirtualServiceAnalyzer: Analyzer = {
  name: 'conflicting-virtual-services',
  run(input, report) {
    const byHost = new Map<string, { vsIndex: number; hostIndex: number }[]>();
    input.virtualServices.forEach((vs, vsIndex) => {
      if (!boundGateways(vs).includes('mesh')) return;
      (vs.spec.hosts ?? []).forEach((h, hostIndex) => {
        const host = resolveHostname(h, vs.namespace, input.domainSuffix);
        const list = byHost.get(host) ?? [];
        if (!list.some((e) => e.vsIndex === vsIndex)) list.push({ vsIndex, hostIndex });
        byHost.set(host, list);
      });
    });
    for (const [host, list] of byHost) {
      if (list.length < 2) continue;
      const names = list.map((e) => resourceName(input.virtualServices[e.vsIndex]!)).join(', ');
      for (const e of list) {
        report('error', FindingCode.conflictingVirtualServiceHosts, input.virtualServices[e.vsIndex]!, ['spec', 'hosts', e.hostIndex], `${host} is also a host of another VirtualService on the mesh gateway (${names}); merge them into one resource`);
      }
    }
  },
};

/** IST0111: more than one Sidecar without workloadSelector in a namespace. */
export const sidecarSelectorAnalyzer: Analyzer = {
  name: 'sidecar-selectors',
  run(input, report) {
    const byNs = new Map<string, typeof input.sidecars[number][]>();
    for (const sc of input.sidecars) {
      if (sc.spec.workloadSelector?.labels && Object.keys(sc.spec.workloadSelector.labels).length > 0) continue;
      const list = byNs.get(sc.namespace);
      if (list) list.push(sc);
      else byNs.set(sc.namespace, [sc]);
    }
    for (const [ns, list] of byNs) {
      if (list.length < 2) continue;
      for (const sc of list) {
        report('error', FindingCode.multipleSidecarsWithoutSelector, sc, ['spec'], `namespace ${ns} has ${list.length} Sidecars without workloadSelector (${list.map((s) => s.name).join(', ')}); which applies is undefined`);
      }
    }
  },
};

/** WEFT0004: two ServiceEntries declaring one host; the first (in file order) is used. */
export const duplicateServiceEntryHostAnalyzer: Analyzer = {
  name: 'duplicate-service-entry-host',
  run(input, report) {
    const seen = new Map<string, string>();
    for (const se of input.serviceEntries) {
      (se.spec.hosts ?? []).forEach((h, i) => {
        const host = resolveHostname(h, se.namespace, input.domainSuffix);
        const first = seen.get(host);
        if (first) report('warning', FindingCode.duplicateResource, se, ['spec', 'hosts', i], `${host} is already declared by ${first}; this declaration is ignored`);
        else seen.set(host, resourceName(se));
      });
    }
  },
};
