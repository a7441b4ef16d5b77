/**
 * Destination hosts and ports: hosts no ServiceEntry declares and no workload registered
 * (WEFT0101, a warning: workloads may register themselves at runtime), destination ports a
 * ServiceEntry does not declare (WEFT0103, an error), and destinations without a port on a
 * service that has several (IST0112, an error as in Istio).
 */
import type { ServiceModel } from '../../model/mesh-model.ts';
import { hostMatches, resolveHostname } from '../../registry/hostname.ts';
import { FindingCode } from '../finding.ts';
import type { AnalysisInput, Analyzer } from '../analysis-context.ts';
import { forEachDestination } from './walk.ts';

/**
 * The service a host resolves to: the exact one, else the first (in registry order) whose
 * `*.suffix` hostname covers it. The wildcard services are listed once per analysis, so a
 * lookup is a map hit plus a scan of the (usually few) wildcard services.
 */
function serviceFinder(input: AnalysisInput): (host: string) => ServiceModel | undefined {
  let wildcards: ServiceModel[] | undefined;
  return (host) => {
    const exact = input.services.get(host);
    if (exact) return exact;
    wildcards ??= [...input.services.values()].filter((svc) => svc.hostname.startsWith('*.'));
    for (const svc of wildcards) if (hostMatches(svc.hostname, host)) return svc;
    return undefined;
  };
}

/** WEFT0101 / WEFT0103 / IST0112 over VirtualService destinations, WEFT0101 over DestinationRule hosts. */
export const destinationHostAnalyzer: Analyzer = {
  name: 'destination-host',
  run(input, report) {
    const findService = serviceFinder(input);
    for (const vs of input.virtualServices) {
      const reported = new Set<string>();
      forEachDestination(vs, ({ destination, path }) => {
        const host = resolveHostname(destination.host, vs.namespace, input.domainSuffix);
        if (host.includes('*')) return;
        const svc = findService(host);
        if (!svc) {
          // Once per VirtualService and host: the first destination that names it.
          if (reported.has(host)) return;
          reported.add(host);
          report('warning', FindingCode.unknownHost, vs, [...path, 'host'], `${host} is not declared by any ServiceEntry and no workload has registered it (yet); it resolves once a workload registers itself`);
          return;
        }
        const port = destination.port?.number;
        if (port !== undefined) {
          if (svc.origin === 'ServiceEntry' && !svc.ports.some((p) => p.number === port)) {
            report('error', FindingCode.undeclaredPort, vs, [...path, 'port', 'number'], `port ${port} is not declared by the ServiceEntry for ${host} (declared: ${svc.ports.map((p) => p.number).join(', ') || 'none'})`);
          }
        } else if (svc.origin === 'ServiceEntry' && svc.ports.length > 1 && path.includes('route')) {
          report('error', FindingCode.destinationPortRequired, vs, path, `routes to ${host}, which exposes ports ${svc.ports.map((p) => p.number).join(', ')}; set destination.port to say which`);
        }
      });
    }
    for (const dr of input.destinationRules) {
      const host = resolveHostname(dr.spec.host ?? '', dr.namespace, input.domainSuffix);
      if (host.includes('*')) continue;
      const svc = findService(host);
      if (!svc) {
        report('warning', FindingCode.unknownHost, dr, ['spec', 'host'], `${host} is not declared by any ServiceEntry and no workload has registered it (yet)`);
        continue;
      }
      (dr.spec.trafficPolicy?.portLevelSettings ?? []).forEach((pls, i) => {
        const port = pls.port?.number;
        if (port !== undefined && svc.origin === 'ServiceEntry' && !svc.ports.some((p) => p.number === port)) {
          report('error', FindingCode.undeclaredPort, dr, ['spec', 'trafficPolicy', 'portLevelSettings', i, 'port', 'number'], `port ${port} is not declared by the ServiceEntry for ${host}`);
        }
      });
    }
  },
};
