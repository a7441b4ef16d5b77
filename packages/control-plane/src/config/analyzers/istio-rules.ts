/**
 * Rules Istio's own validation enforces (in CEL rules or istiod's validation webhook) that the
 * generated JSON schema does not express: port ranges, unique names, required hosts, host forms.
 * All are WEFT0107 errors: istiod would refuse the object too.
 */
import type { ConfigObject } from '../../model/mesh-model.ts';
import { FindingCode } from '../finding.ts';
import { reportPerObject, type Analyzer, type Report } from '../analysis-context.ts';

function port(obj: ConfigObject<unknown>, value: unknown, path: (string | number)[], report: Report): void {
  if (typeof value !== 'number') return;
  if (!Number.isInteger(value) || value < 1 || value > 65535) report('error', FindingCode.invalidValue, obj, path, `must be a port number in 1..65535 (got ${value})`);
}

function unique(obj: ConfigObject<unknown>, values: readonly unknown[], path: (i: number) => (string | number)[], what: string, report: Report): void {
  const seen = new Set<unknown>();
  values.forEach((v, i) => {
    if (v === undefined) return;
    if (seen.has(v)) report('error', FindingCode.invalidValue, obj, path(i), `duplicate ${what} ${JSON.stringify(v)}`);
    seen.add(v);
  });
}

/** WEFT0107 for the rules above. */
export const istioRulesAnalyzer: Analyzer = {
  name: 'istio-rules',
  run(input, report) {
    for (const vs of input.virtualServices) reportPerObject(istioRulesAnalyzer, vs, report, (report) => {
      if ((vs.spec.hosts ?? []).length === 0) report('error', FindingCode.invalidValue, vs, ['spec', 'hosts'], 'must list at least one host');
      for (const kind of ['http', 'tcp', 'tls'] as const) {
        ((vs.spec[kind] ?? []) as { route?: { destination?: { port?: { number?: number } } }[] }[]).forEach((rule, i) =>
          (rule.route ?? []).forEach((r, j) => port(vs, r.destination?.port?.number, ['spec', kind, i, 'route', j, 'destination', 'port', 'number'], report)),
        );
      }
    });
    for (const dr of input.destinationRules) reportPerObject(istioRulesAnalyzer, dr, report, (report) => {
      const subsets = dr.spec.subsets ?? [];
      unique(dr, subsets.map((s) => s.name), (i) => ['spec', 'subsets', i, 'name'], 'subset name', report);
      (dr.spec.trafficPolicy?.portLevelSettings ?? []).forEach((p, i) => port(dr, p.port?.number, ['spec', 'trafficPolicy', 'portLevelSettings', i, 'port', 'number'], report));
    });
    for (const se of input.serviceEntries) reportPerObject(istioRulesAnalyzer, se, report, (report) => {
      const ports = se.spec.ports ?? [];
      ports.forEach((p, i) => {
        port(se, p.number, ['spec', 'ports', i, 'number'], report);
        port(se, p.targetPort, ['spec', 'ports', i, 'targetPort'], report);
      });
      unique(se, ports.map((p) => p.number), (i) => ['spec', 'ports', i, 'number'], 'port number', report);
      unique(se, ports.map((p) => p.name), (i) => ['spec', 'ports', i, 'name'], 'port name', report);
      (se.spec.endpoints ?? []).forEach((ep, i) => {
        for (const [name, n] of Object.entries(ep.ports ?? {})) port(se, n, ['spec', 'endpoints', i, 'ports', name], report);
      });
    });
    for (const we of input.workloadEntries) reportPerObject(istioRulesAnalyzer, we, report, (report) => {
      for (const [name, n] of Object.entries(we.spec.ports ?? {})) port(we, n, ['spec', 'ports', name], report);
    });
    for (const gw of input.gateways) reportPerObject(istioRulesAnalyzer, gw, report, (report) => {
      (gw.spec.servers ?? []).forEach((s, i) => port(gw, s.port?.number, ['spec', 'servers', i, 'port', 'number'], report));
    });
    for (const sc of input.sidecars) reportPerObject(istioRulesAnalyzer, sc, report, (report) => {
      (sc.spec.egress ?? []).forEach((e, i) =>
        (e.hosts ?? []).forEach((h, j) => {
          const slash = h.indexOf('/');
          if (slash <= 0 || slash === h.length - 1) report('error', FindingCode.invalidValue, sc, ['spec', 'egress', i, 'hosts', j], `${JSON.stringify(h)} must have the form namespace/host (for example ./reviews.shop.svc.cluster.local or istio-system/*)`);
        }),
      );
    });
    for (const pa of input.peerAuthentications) reportPerObject(istioRulesAnalyzer, pa, report, (report) => {
      const hasSelector = Object.keys(pa.spec.selector?.matchLabels ?? {}).length > 0;
      if (pa.spec.portLevelMtls && Object.keys(pa.spec.portLevelMtls).length > 0 && !hasSelector) {
        report('error', FindingCode.invalidValue, pa, ['spec', 'portLevelMtls'], 'requires a workload selector (Istio applies port-level mTLS only to selected workloads)');
      }
    });
  },
};
