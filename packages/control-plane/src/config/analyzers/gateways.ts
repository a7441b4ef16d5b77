/**
 * Gateway references: every name in a VirtualService's `gateways` (and in its matches'
 * `gateways`) other than the reserved `mesh` must name an existing Gateway, as `name` (same
 * namespace) or `namespace/name` (IST0101, an error).
 */
import { FindingCode } from '../finding.ts';
import type { Analyzer } from '../analysis-context.ts';

/** IST0101 for missing gateways. */
export const gatewayReferenceAnalyzer: Analyzer = {
  name: 'gateway-reference',
  run(input, report) {
    const known = new Set(input.gateways.map((g) => `${g.namespace}/${g.name}`));
    for (const vs of input.virtualServices) {
      const check = (ref: string, path: (string | number)[]): void => {
        if (ref === 'mesh') return;
        const full = ref.includes('/') ? ref : `${vs.namespace}/${ref}`;
        if (!known.has(full)) report('error', FindingCode.referencedResourceNotFound, vs, path, `gateway "${ref}" does not exist (no Gateway ${full})`);
      };
      (vs.spec.gateways ?? []).forEach((g, i) => check(g, ['spec', 'gateways', i]));
      (vs.spec.http ?? []).forEach((rule, i) =>
        (rule.match ?? []).forEach((m, j) => (m.gateways ?? []).forEach((g, k) => check(g, ['spec', 'http', i, 'match', j, 'gateways', k]))),
      );
    }
  },
};
