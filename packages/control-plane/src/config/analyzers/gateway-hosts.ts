/**
 * IST0132 VirtualServiceHostNotFoundInGateway (a warning, as in `istioctl analyze`): a
 * VirtualService bound to a Gateway declares hosts that none of that Gateway's servers lists,
 * so the gateway never routes them. Server hosts are `namespace/host` (`*`, `.` or a namespace
 * that may bind, then an FQDN, `*.suffix` or `*`); a host without `/` is `*` + `/` + host.
 * Missing gateways are IST0101 (gateways.ts), not reported here.
 */
import { FindingCode } from '../finding.ts';
import type { Analyzer } from '../analysis-context.ts';

/** True when wildcard-aware host `a` and `b` overlap (either side may be `*` or `*.suffix`). */
function hostsOverlap(a: string, b: string): boolean {
  if (a === '*' || b === '*' || a === b) return true;
  if (a.startsWith('*.') && b.endsWith(a.slice(1))) return true;
  if (b.startsWith('*.') && a.endsWith(b.slice(1))) return true;
  return false;
}

/** IST0132 for VirtualService hosts their Gateways do not serve. */
export const gatewayHostAnalyzer: Analyzer = {
  name: 'gateway-host',
  run(input, report) {
    const gateways = new Map(input.gateways.map((g) => [`${g.namespace}/${g.name}`, g]));
    for (const vs of input.virtualServices) {
      (vs.spec.gateways ?? []).forEach((ref, i) => {
        if (ref === 'mesh') return;
        const full = ref.includes('/') ? ref : `${vs.namespace}/${ref}`;
        const gw = gateways.get(full);
        if (!gw) return;
        const served: string[] = [];
        for (const server of gw.spec.servers ?? []) {
          for (const entry of server.hosts ?? []) {
            const slash = entry.indexOf('/');
            const ns = slash === -1 ? '*' : entry.slice(0, slash);
            const host = slash === -1 ? entry : entry.slice(slash + 1);
            const mayBind = ns === '*' || (ns === '.' ? vs.namespace === gw.namespace : ns === vs.namespace);
            if (mayBind) served.push(host);
          }
        }
        const missing = (vs.spec.hosts ?? []).filter((h) => !served.some((s) => hostsOverlap(s, h)));
        if (missing.length > 0) {
          report('warning', FindingCode.virtualServiceHostNotInGateway, vs, ['spec', 'gateways', i], `one or more host [${missing.join(', ')}] defined in VirtualService ${vs.namespace}/${vs.name} not found in Gateway ${full}`);
        }
      });
    }
  },
};
