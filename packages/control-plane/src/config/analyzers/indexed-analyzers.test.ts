/**
 * The analyzers that index DestinationRules, services and workloads by host once per analysis
 * must report exactly what a direct scan of every pair reports. The scans below are the
 * reference (the obvious quadratic form of each rule); a mesh of many VirtualServices,
 * DestinationRules and ServiceEntries with short, fully qualified, cross-namespace, wildcard and
 * unknown hosts, defined and undefined subsets, is analysed both ways.
 *
 * Also: analyses that replay a frozen object's earlier findings (an unchanged document between
 * two config-store rebuilds) give the same findings as a fresh analysis, and a changed document
 * is checked again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Finding, ServiceModel, WorkloadInstance } from '../../model/mesh-model.ts';
import { buildCandidate, publishModel } from '../../model/build-model.ts';
import { hostMatches, resolveHostname } from '../../registry/hostname.ts';
import { buildServiceIndex, labelsMatch } from '../../registry/service-index.ts';
import { collectInto, type AnalysisInput, type Analyzer } from '../analysis-context.ts';
import { FindingCode } from '../finding.ts';
import { createReadCache, ofKind, readConfig } from '../read-config.ts';
import { destinationHostAnalyzer } from './hosts.ts';
import { selectorAnalyzer } from './selectors.ts';
import { subsetSelectsNothingAnalyzer, undefinedSubsetAnalyzer } from './subsets.ts';
import { forEachDestination } from './walk.ts';

const settings = { rootNamespace: 'istio-system', trustDomain: 'cluster.local', domainSuffix: 'svc.cluster.local' };
const namespaces = ['shop', 'pay', 'ops'];

/** A mesh that exercises every way a host can be written and matched. */
function meshYaml(count: number): string {
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    const ns = namespaces[i % namespaces.length]!;
    const other = namespaces[(i + 1) % namespaces.length]!;
    // Every fourth service has no endpoints; every fifth is a wildcard external host.
    const endpoints = i % 4 === 0 ? '' : `  endpoints:\n    - { address: 127.0.0.${(i % 250) + 1}, labels: { version: v${i % 3}, app: s${i} } }\n`;
    const host = i % 5 === 0 ? `"*.ext${i}.example.com"` : i % 2 ? `s${i}` : `s${i}.${ns}.svc.cluster.local`;
    const ports = i % 7 === 0 ? '[{ number: 80, name: http }, { number: 8080, name: http-alt }]' : '[{ number: 80, name: http }]';
    docs.push(`apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: s${i}, namespace: ${ns} }\nspec:\n  hosts: [${host}]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: ${ports}\n${endpoints}`);
    // DestinationRules: short, fully qualified from another namespace, wildcard, unknown host.
    const drHost = i % 6 === 0 ? `"*.ext${i - (i % 5)}.example.com"` : i % 6 === 1 ? `s${i}.${ns}.svc.cluster.local` : i % 6 === 2 ? `s${i}` : i % 6 === 3 ? `nowhere${i}` : `s${i - 1}`;
    const drNs = i % 6 === 1 ? other : ns;
    docs.push(
      `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: r${i}, namespace: ${drNs} }\nspec:\n  host: ${drHost}\n  subsets: [{ name: v0, labels: { version: v0 } }, { name: v${i % 3}, labels: { version: v${i % 3}, app: s${i} } }, { name: any }]\n` +
        (i % 8 === 0 ? `  trafficPolicy: { portLevelSettings: [{ port: { number: 81 } }] }\n` : ''),
    );
    const dest = (h: string, subset: string, port = ''): string => `{ destination: { host: ${h}, subset: ${subset}${port} }, weight: 50 }`;
    const targets = [`s${i}`, `s${(i * 7) % count}`, `s${(i * 3) % count}.${other}.svc.cluster.local`, `api.ext${i - (i % 5)}.example.com`, `missing${i % 9}`];
    const routes = targets.map((t, k) => `    - route: [${dest(t, `v${(i + k) % 4}`, k === 1 ? ', port: { number: 8080 }' : '')}, ${dest(t, k % 2 ? 'any' : 'v9')}]`).join('\n');
    docs.push(`apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: v${i}, namespace: ${ns} }\nspec:\n  hosts: [vs${i}]\n  http:\n${routes}\n    - mirror: { host: s${i + 1}, subset: v2 }\n      route: [{ destination: { host: s${i} } }]\n`);
    if (i % 10 === 0) {
      docs.push(`apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: a${i}, namespace: ${ns} }\nspec:\n  selector: { matchLabels: { app: s${i + (i % 20 === 0 ? 1 : 3)} } }\n  action: ALLOW\n`);
    }
  }
  docs.push(`apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: lonely, namespace: empty }\nspec:\n  selector: { matchLabels: { app: x } }\n  action: ALLOW\n`);
  return docs.join('---\n');
}

// Reference implementations: every VirtualService destination against every DestinationRule,
// every DestinationRule against every endpoint host, every workload for every policy.

const referenceUndefinedSubset: Analyzer = {
  name: 'reference-undefined-subset',
  run(input, report) {
    for (const vs of input.virtualServices) {
      forEachDestination(vs, ({ destination, path }) => {
        if (!destination.subset) return;
        const host = resolveHostname(destination.host, vs.namespace, input.domainSuffix);
        const defined = input.destinationRules.some(
          (dr) => hostMatches(resolveHostname(dr.spec.host ?? '', dr.namespace, input.domainSuffix), host) && (dr.spec.subsets ?? []).some((s) => s.name === destination.subset),
        );
        if (!defined) report('error', FindingCode.referencedResourceNotFound, vs, [...path, 'subset'], `"${destination.subset}" is not defined by any DestinationRule for ${host}`);
      });
    }
  },
};

const referenceSubsetSelectsNothing: Analyzer = {
  name: 'reference-subset-selects-nothing',
  run(input, report) {
    for (const dr of input.destinationRules) {
      const host = resolveHostname(dr.spec.host ?? '', dr.namespace, input.domainSuffix);
      const eps = [...input.endpoints.entries()].filter(([h]) => hostMatches(host, h)).flatMap(([, list]) => list);
      (dr.spec.subsets ?? []).forEach((subset, i) => {
        const labels = subset.labels ?? {};
        if (Object.keys(labels).length === 0 || eps.some((e) => labelsMatch(labels, e.labels))) return;
        if (eps.length === 0) {
          report('info', FindingCode.subsetSelectsNoWorkload, dr, ['spec', 'subsets', i, 'labels'], `subset "${subset.name}" selects no known workload of ${host} yet (none is declared; self-registering workloads will be matched when they connect)`);
        } else {
          report('warning', FindingCode.subsetSelectsNoWorkload, dr, ['spec', 'subsets', i, 'labels'], `subset "${subset.name}" selects none of the ${eps.length} known workload(s) of ${host}`);
        }
      });
    }
  },
};

function referenceFindService(input: AnalysisInput, host: string): ServiceModel | undefined {
  return input.services.get(host) ?? [...input.services.values()].find((svc) => svc.hostname.startsWith('*.') && hostMatches(svc.hostname, host));
}

/** The reference of destination-host, checked through its lookups: which service each host finds. */
function referenceServicesFound(input: AnalysisInput): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  for (const vs of input.virtualServices) {
    forEachDestination(vs, ({ destination }) => {
      out.push(referenceFindService(input, resolveHostname(destination.host, vs.namespace, input.domainSuffix))?.hostname);
    });
  }
  return out;
}

const referenceSelectors: Analyzer = {
  name: 'reference-selectors',
  run(input, report) {
    const all = new Map<string, WorkloadInstance>();
    for (const list of input.endpoints.values()) for (const w of list) if (!all.has(w.id)) all.set(w.id, w);
    for (const ap of input.authorizationPolicies) {
      const labels = ap.spec.selector?.matchLabels;
      if (!labels || Object.keys(labels).length === 0) continue;
      const inScope = [...all.values()].filter((w) => w.namespace === ap.namespace);
      if (inScope.some((w) => labelsMatch(labels, w.labels))) continue;
      const text = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
      const path = ['spec', 'selector', 'matchLabels'];
      if (inScope.length === 0) report('info', FindingCode.noMatchingWorkloads, ap, path, `selects ${text}, and no workload in namespace ${ap.namespace} is known yet (self-registering workloads are matched when they connect)`);
      else report('warning', FindingCode.noMatchingWorkloads, ap, path, `selects ${text}, which matches none of the ${inScope.length} known workload(s) in namespace ${ap.namespace}`);
    }
  },
};

async function withMesh<T>(yaml: string, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-indexed-'));
  try {
    const file = join(dir, 'mesh.yaml');
    await writeFile(file, yaml);
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function analysisInput(file: string): Promise<AnalysisInput> {
  const read = await readConfig([file], 'default');
  assert.deepEqual(read.findings.filter((f) => f.level === 'error'), []);
  const serviceEntries = ofKind<AnalysisInput['serviceEntries'][number]>(read.objects, 'ServiceEntry');
  const index = buildServiceIndex(serviceEntries, [], [], settings.domainSuffix);
  return {
    virtualServices: ofKind(read.objects, 'VirtualService'),
    destinationRules: ofKind(read.objects, 'DestinationRule'),
    gateways: [],
    serviceEntries,
    workloadEntries: [],
    sidecars: [],
    envoyFilters: [],
    peerAuthentications: [],
    authorizationPolicies: ofKind(read.objects, 'AuthorizationPolicy'),
    services: index.services,
    endpoints: index.endpoints,
    domainSuffix: settings.domainSuffix,
  };
}

function run(analyzer: Analyzer, input: AnalysisInput): Finding[] {
  const out: Finding[] = [];
  analyzer.run(input, collectInto(out));
  return out;
}

test('indexed analyzers report exactly what a scan of every pair reports, over a mesh of 120 services', async () => {
  await withMesh(meshYaml(120), async (file) => {
    const input = await analysisInput(file);
    assert.equal(input.virtualServices.length, 120);
    const pairs: [Analyzer, Analyzer][] = [
      [undefinedSubsetAnalyzer, referenceUndefinedSubset],
      [subsetSelectsNothingAnalyzer, referenceSubsetSelectsNothing],
      [selectorAnalyzer, referenceSelectors],
    ];
    for (const [indexed, reference] of pairs) {
      const expected = run(reference, input);
      assert.ok(expected.length > 3, `${reference.name} finds something to compare (${expected.length})`);
      assert.deepEqual(run(indexed, input), expected, indexed.name);
    }
    // Every kind of outcome is covered: infos and warnings of IST0173, defined and undefined subsets.
    const levels = new Set(run(subsetSelectsNothingAnalyzer, input).map((f) => f.level));
    assert.deepEqual([...levels].sort(), ['info', 'warning']);
    assert.ok(run(selectorAnalyzer, input).some((f) => f.level === 'info') && run(selectorAnalyzer, input).some((f) => f.level === 'warning'));
  });
});

test('destination-host finds the same service for every destination as a scan of every service', async () => {
  await withMesh(meshYaml(120), async (file) => {
    const input = await analysisInput(file);
    const found = referenceServicesFound(input);
    assert.ok(found.some((h) => h?.startsWith('*.')), 'some destinations resolve through a wildcard service');
    assert.ok(found.some((h) => h === undefined), 'some destinations are unknown');
    // The analyzer's findings name exactly the unknown hosts and undeclared ports the scan implies.
    const unknown = new Set<string>();
    for (const vs of input.virtualServices) {
      forEachDestination(vs, ({ destination }) => {
        const host = resolveHostname(destination.host, vs.namespace, input.domainSuffix);
        if (!host.includes('*') && !referenceFindService(input, host)) unknown.add(`${vs.name} ${host}`);
      });
    }
    const reported = run(destinationHostAnalyzer, input).filter((f) => f.code === FindingCode.unknownHost && f.resource?.startsWith('VirtualService'));
    assert.deepEqual(new Set(reported.map((f) => `${f.resource!.split('/')[1]} ${f.message.split(' ')[0]}`)), unknown);
  });
});

test('a rebuild over unchanged (published, frozen) objects reports what a fresh analysis does; a changed document is checked again', async () => {
  const base = meshYaml(30);
  const bad = `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: timing, namespace: shop }\nspec:\n  hosts: [timing]\n  http:\n    - timeout: 5 seconds\n      route: [{ destination: { host: s3 }, weight: 0 }]\n`;
  const fixed = bad.replace('5 seconds', '5s').replace('weight: 0', 'weight: 1');
  await withMesh(`${base}---\n${bad}`, async (file) => {
    const cache = createReadCache();
    const first = await readConfig([file], 'default', cache);
    const fresh = buildCandidate(first.objects, first.findings, [], settings);
    assert.ok(fresh.findings.some((f) => f.resource === 'VirtualService shop/timing' && f.field === 'spec.http[0].timeout'));
    publishModel({ model: fresh.model, findings: fresh.findings }, 1);
    assert.ok(Object.isFrozen(first.objects[0]), 'publishing froze the objects');
    // The first build over frozen objects checks and remembers them, the next replays.
    for (let i = 0; i < 2; i++) {
      const again = buildCandidate(first.objects, first.findings, [], settings);
      assert.deepEqual(again.findings, fresh.findings);
      assert.equal(again.model.version, fresh.model.version);
    }

    await writeFile(file, `${base}---\n${fixed}`);
    const second = await readConfig([file], 'default', cache);
    assert.equal(second.objects[0], first.objects[0], 'unchanged documents keep their objects');
    const edited = buildCandidate(second.objects, second.findings, [], settings);
    assert.deepEqual(edited.findings.filter((f) => f.resource === 'VirtualService shop/timing'), []);
    assert.notEqual(edited.model.version, fresh.model.version);
    // The same objects thawed (deep copies) give the same findings without any replay (their
    // positions differ: copies have no source map, so only the rest is compared, in any order).
    const copies = second.objects.map((o) => structuredClone(o));
    const thawed = buildCandidate(copies, second.findings, [], settings);
    const strip = (fs: Finding[]) => fs.map((f) => JSON.stringify([f.code, f.level, f.resource, f.field, f.message])).sort();
    assert.deepEqual(strip(thawed.findings), strip(edited.findings));
  });
});
