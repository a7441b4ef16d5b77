/**
 * Route weights: a route whose destinations all carry weight 0 sends traffic nowhere (WEFT0102,
 * an error). Weights need not sum to 100: since Istio 1.15 each destination gets weight/sum.
 */
import { FindingCode } from '../finding.ts';
import { reportPerObject, type Analyzer } from '../analysis-context.ts';

/** WEFT0102 over http, tcp and tls routes. */
export const zeroWeightAnalyzer: Analyzer = {
  name: 'zero-weights',
  run(input, report) {
    for (const vs of input.virtualServices) reportPerObject(zeroWeightAnalyzer, vs, report, (report) => {
      for (const kind of ['http', 'tcp', 'tls'] as const) {
        const rules = (vs.spec[kind] ?? []) as { route?: { weight?: number }[] }[];
        rules.forEach((rule, i) => {
          const route = rule.route ?? [];
          if (route.length === 0) return;
          route.forEach((r, j) => {
            if (r.weight !== undefined && r.weight < 0) report('error', FindingCode.invalidValue, vs, ['spec', kind, i, 'route', j, 'weight'], `must not be negative (got ${r.weight})`);
          });
          // One destination without a weight takes 100%; explicit weights that are all 0 route nowhere.
          const explicit = route.every((r) => r.weight !== undefined);
          if (explicit && route.every((r) => r.weight === 0)) {
            report('error', FindingCode.allWeightsZero, vs, ['spec', kind, i, 'route'], `every destination has weight 0, so no destination would receive traffic`);
          }
        });
      }
    });
  },
};
