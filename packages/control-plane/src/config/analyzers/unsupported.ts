/**
 * Valid Istio fields that Weft does not apply, named one by one (WEFT0104, warnings): a user
 * must never believe a policy is in force when it is not. The list matches
 * docs/configuration.md; when a later change implements a field, it leaves this list.
 */
import type { ConfigObject } from '../../model/mesh-model.ts';
import { FindingCode } from '../finding.ts';
import { reportPerObject, type Analyzer, type Report } from '../analysis-context.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function flag(obj: ConfigObject<unknown>, value: unknown, path: (string | number)[], why: string, report: Report): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value) && value.length === 0) return;
  report('warning', FindingCode.unsupportedFeature, obj, path, `is not applied by Weft: ${why}`);
}

/** WEFT0104 over every kind. */
export const unsupportedFeatureAnalyzer: Analyzer = {
  name: 'unsupported-features',
  run(input, report) {
    for (const vs of input.virtualServices) reportPerObject(unsupportedFeatureAnalyzer, vs, report, (report) => {
      flag(vs, vs.spec.tcp, ['spec', 'tcp'], 'TCP routes (the SDK meshes HTTP and gRPC only)', report);
      flag(vs, vs.spec.tls, ['spec', 'tls'], 'TLS/SNI routes (the SDK meshes HTTP and gRPC only)', report);
      (vs.spec.http ?? []).forEach((rule, i) => {
        const r = rule as Obj;
        flag(vs, r['corsPolicy'], ['spec', 'http', i, 'corsPolicy'], 'CORS policies', report);
        flag(vs, r['delegate'], ['spec', 'http', i, 'delegate'], 'delegate VirtualServices', report);
        ((r['match'] as Obj[] | undefined) ?? []).forEach((m, j) => {
          flag(vs, m['sourceLabels'], ['spec', 'http', i, 'match', j, 'sourceLabels'], 'matching on the caller\'s labels', report);
          flag(vs, m['sourceNamespace'], ['spec', 'http', i, 'match', j, 'sourceNamespace'], 'matching on the caller\'s namespace', report);
        });
      });
    });
    for (const dr of input.destinationRules) reportPerObject(unsupportedFeatureAnalyzer, dr, report, (report) => {
      const spec = dr.spec as Obj;
      flag(dr, spec['workloadSelector'], ['spec', 'workloadSelector'], 'DestinationRules scoped to client workloads', report);
      const policies: [Obj | undefined, (string | number)[]][] = [[spec['trafficPolicy'] as Obj | undefined, ['spec', 'trafficPolicy']]];
      ((spec['subsets'] as Obj[] | undefined) ?? []).forEach((s, i) => policies.push([s['trafficPolicy'] as Obj | undefined, ['spec', 'subsets', i, 'trafficPolicy']]));
      for (const [tp, path] of policies) {
        if (!isObj(tp)) continue;
        flag(dr, tp['tunnel'], [...path, 'tunnel'], 'tunnelling (HTTP CONNECT)', report);
        flag(dr, tp['proxyProtocol'], [...path, 'proxyProtocol'], 'PROXY protocol', report);
        const lb = tp['loadBalancer'];
        if (isObj(lb)) {
          flag(dr, lb['warmupDurationSecs'], [...path, 'loadBalancer', 'warmupDurationSecs'], 'slow-start warm-up', report);
          flag(dr, lb['warmup'], [...path, 'loadBalancer', 'warmup'], 'slow-start warm-up', report);
        }
        const tls = tp['tls'];
        if (isObj(tls)) flag(dr, tls['credentialName'], [...path, 'tls', 'credentialName'], 'credentials from Kubernetes secrets (use caCertificates/clientCertificate files)', report);
      }
    });
    for (const sc of input.sidecars) reportPerObject(unsupportedFeatureAnalyzer, sc, report, (report) => {
      const spec = sc.spec as Obj;
      flag(sc, spec['ingress'], ['spec', 'ingress'], 'Sidecar ingress listeners', report);
      flag(sc, spec['inboundConnectionPool'], ['spec', 'inboundConnectionPool'], 'inbound connection pools', report);
      ((spec['egress'] as Obj[] | undefined) ?? []).forEach((e, i) => {
        flag(sc, e['port'], ['spec', 'egress', i, 'port'], 'port-scoped egress listeners (egress hosts apply to every port)', report);
        flag(sc, e['bind'], ['spec', 'egress', i, 'bind'], 'egress bind addresses', report);
        flag(sc, e['captureMode'], ['spec', 'egress', i, 'captureMode'], 'capture modes (there is no traffic capture)', report);
      });
      const otp = spec['outboundTrafficPolicy'];
      if (isObj(otp)) flag(sc, otp['egressProxy'], ['spec', 'outboundTrafficPolicy', 'egressProxy'], 'egress proxies', report);
    });
    for (const ap of input.authorizationPolicies) reportPerObject(unsupportedFeatureAnalyzer, ap, report, (report) => {
      const spec = ap.spec as Obj;
      if (spec['action'] === 'CUSTOM') flag(ap, spec['action'], ['spec', 'action'], 'CUSTOM (external authorization) actions; the policy is not enforced', report);
      flag(ap, spec['provider'], ['spec', 'provider'], 'external authorization providers', report);
      flag(ap, spec['targetRef'], ['spec', 'targetRef'], 'targetRef (use selector)', report);
      flag(ap, spec['targetRefs'], ['spec', 'targetRefs'], 'targetRefs (use selector)', report);
      ((spec['rules'] as Obj[] | undefined) ?? []).forEach((rule, i) => {
        ((rule['from'] as Obj[] | undefined) ?? []).forEach((f, j) => {
          const src = f['source'];
          if (!isObj(src)) return;
          for (const key of ['requestPrincipals', 'notRequestPrincipals'])
            flag(ap, src[key], ['spec', 'rules', i, 'from', j, 'source', key], 'JWT request principals (RequestAuthentication is not read)', report);
          for (const key of ['remoteIpBlocks', 'notRemoteIpBlocks'])
            flag(ap, src[key], ['spec', 'rules', i, 'from', j, 'source', key], 'remote IP blocks (X-Forwarded-For is not trusted)', report);
        });
        ((rule['when'] as Obj[] | undefined) ?? []).forEach((w, j) => {
          const key = String(w['key'] ?? '');
          const ok = ['request.headers[', 'source.ip', 'source.namespace', 'source.principal', 'destination.port', 'connection.sni'].some((p) => key.startsWith(p));
          if (!ok) flag(ap, key, ['spec', 'rules', i, 'when', j, 'key'], `condition key ${JSON.stringify(key)} (supported: request.headers[…], source.ip, source.namespace, source.principal, destination.port, connection.sni)`, report);
        });
      });
    });
    for (const se of input.serviceEntries) reportPerObject(unsupportedFeatureAnalyzer, se, report, (report) => {
      const spec = se.spec as Obj;
      if (Array.isArray(spec['addresses']) && spec['addresses'].length > 0)
        report('info', FindingCode.unsupportedFeature, se, ['spec', 'addresses'], 'is not used by Weft: clients address services by host name (there is no VIP capture)');
    });
  },
};
