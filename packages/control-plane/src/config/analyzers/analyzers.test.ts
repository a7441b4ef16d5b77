import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../validate-config.ts';
import { formatFinding } from '../finding.ts';
import type { Finding } from '../../model/mesh-model.ts';
import { re2Problem } from './regex.ts';
import { parseDurationMs } from './values.ts';

async function analyze(...docs: string[]): Promise<Finding[]> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-analyze-'));
  try {
    await writeFile(join(dir, 'mesh.yaml'), docs.join('\n---\n'));
    return (await validateConfig([dir])).findings;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `[code, level, field]` of every finding, for compact assertions. */
const brief = (fs: Finding[]): [string, string, string | undefined][] => fs.map((f) => [f.code, f.level, f.field]);
const only = (fs: Finding[], code: string): Finding[] => fs.filter((f) => f.code === code);

const se = (name: string, host: string, ports = '[{ number: 9080, name: http }]', extra = '') =>
  `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: ${name}, namespace: shop }\nspec:\n  hosts: [${host}]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: ${ports}\n${extra}`;
const dr = (host: string, subsets = '[{ name: v1, labels: { version: v1 } }]', ns = 'shop', name = 'r') =>
  `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n  host: ${host}\n  subsets: ${subsets}\n`;
const vs = (name: string, body: string, hosts = '[ratings]') =>
  `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: ${name}, namespace: shop }\nspec:\n  hosts: ${hosts}\n${body}`;

test('subsets defined by a DestinationRule written with a short or a fully qualified host resolve alike', async () => {
  const fs = await analyze(
    dr('ratings.shop.svc.cluster.local', '[{ name: v1, labels: { version: v1 } }]', 'other'),
    vs('v', '  http: [{ route: [{ destination: { host: ratings, subset: v1 } }] }]\n'),
  );
  assert.deepEqual(only(fs, 'IST0101'), []);
});

test('IST0173: a warning when known workloads exist but none match, an info when there are none yet', async () => {
  const withEndpoints = await analyze(
    se('ratings', 'ratings', '[{ number: 9080, name: http }]', '  endpoints: [{ address: 127.0.0.1, labels: { version: v1 } }]\n'),
    dr('ratings', '[{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]'),
  );
  assert.deepEqual(brief(only(withEndpoints, 'IST0173')), [['IST0173', 'warning', 'spec.subsets[1].labels']]);
  const none = await analyze(dr('ratings'));
  assert.deepEqual(brief(only(none, 'IST0173')), [['IST0173', 'info', 'spec.subsets[0].labels']]);
});

test('WEFT0101: unknown hosts are warnings, once per VirtualService and host; declared and wildcard hosts are known', async () => {
  const fs = await analyze(
    se('ext', '"*.example.com"', '[{ number: 443, name: https }]'),
    vs('v', '  http:\n    - route: [{ destination: { host: ratings }, weight: 50 }, { destination: { host: ratings }, weight: 50 }]\n    - route: [{ destination: { host: api.example.com } }]\n'),
  );
  assert.deepEqual(brief(only(fs, 'WEFT0101')), [['WEFT0101', 'warning', 'spec.http[0].route[0].destination.host']]);
  assert.ok(fs.every((f) => f.level !== 'error'), fs.map(formatFinding).join('\n'));
});

test('gateways: mesh is reserved, namespace/name and same-namespace names resolve, match gateways are checked', async () => {
  const gw = `apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: { name: gw, namespace: edge }\nspec:\n  selector: { istio: ingressgateway }\n  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]\n`;
  const fs = await analyze(
    gw,
    vs('v', '  gateways: [mesh, edge/gw]\n  http:\n    - match: [{ gateways: [gw] }]\n      route: [{ destination: { host: ratings } }]\n'),
  );
  assert.deepEqual(brief(only(fs, 'IST0101')), [['IST0101', 'error', 'spec.http[0].match[0].gateways[0]']]);
});

test('IST0109 only for VirtualServices on the mesh gateway', async () => {
  const gw = `apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: { name: gw, namespace: shop }\nspec:\n  selector: { istio: ingressgateway }\n  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]\n`;
  const fs = await analyze(
    gw,
    vs('a', '  http: [{ route: [{ destination: { host: ratings } }] }]\n'),
    vs('b', '  gateways: [gw]\n  http: [{ route: [{ destination: { host: ratings } }] }]\n'),
  );
  assert.deepEqual(only(fs, 'IST0109'), []);
});

test('weights need not sum to 100; a single destination needs none; 0 with a non-zero sibling is fine', async () => {
  const fs = await analyze(
    vs('v', '  http:\n    - route: [{ destination: { host: ratings }, weight: 3 }, { destination: { host: ratings }, weight: 1 }]\n    - route: [{ destination: { host: ratings }, weight: 0 }, { destination: { host: ratings }, weight: 100 }]\n    - route: [{ destination: { host: ratings } }]\n'),
  );
  assert.deepEqual(fs.filter((f) => f.level === 'error'), []);
});

test('RE2: valid expressions pass; lookahead, lookbehind and backreferences are errors', () => {
  assert.equal(re2Problem('^/api/v[0-9]+/(books|authors)$'), undefined);
  assert.equal(re2Problem('(?i)^/Shop'), undefined);
  assert.match(re2Problem('foo(?!bar)') ?? '', /lookahead/);
  assert.match(re2Problem('(?<!x)y') ?? '', /lookbehind/);
  assert.match(re2Problem('(a)\\1') ?? '', /backreference/);
  assert.ok(re2Problem('[unclosed'));
});

test('durations: Istio forms parse; nonsense and sub-millisecond values are errors', async () => {
  assert.equal(parseDurationMs('1s'), 1000);
  assert.equal(parseDurationMs('1.5s'), 1500);
  assert.equal(parseDurationMs('1h30m'), 5_400_000);
  assert.equal(parseDurationMs('250ms'), 250);
  assert.equal(parseDurationMs('1 s'), undefined);
  assert.equal(parseDurationMs('10'), undefined);
  const fs = await analyze(vs('v', '  http:\n    - route: [{ destination: { host: ratings } }]\n      timeout: 500us\n      retries: { attempts: 2, perTryTimeout: 2x }\n'));
  assert.deepEqual(brief(fs.filter((f) => f.level === 'error')), [
    ['WEFT0107', 'error', 'spec.http[0].timeout'],
    ['WEFT0107', 'error', 'spec.http[0].retries.perTryTimeout'],
  ]);
});

test('WEFT0104: unsupported features are named, as warnings, never silently ignored', async () => {
  const fs = await analyze(
    vs('v', '  tcp: [{ route: [{ destination: { host: ratings } }] }]\n  http:\n    - match: [{ sourceLabels: { app: x } }]\n      corsPolicy: { allowOrigins: [{ exact: "https://x" }] }\n      route: [{ destination: { host: ratings } }]\n'),
    `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: ext, namespace: shop }\nspec:\n  action: CUSTOM\n  provider: { name: opa }\n  rules: [{ when: [{ key: "request.auth.claims[iss]", values: [x] }] }]\n`,
    se('pay', 'payments.example.com', '[{ number: 443, name: https }]', '  addresses: [240.0.0.1]\n'),
  );
  assert.deepEqual(only(fs, 'WEFT0104').filter((f) => f.level === 'info').map((f) => f.field), ['spec.addresses']);
  const fields = only(fs, 'WEFT0104').map((f) => f.field).sort();
  assert.deepEqual(fields, ['spec.action', 'spec.addresses', 'spec.http[0].corsPolicy', 'spec.http[0].match[0].sourceLabels', 'spec.provider', 'spec.rules[0].when[0].key', 'spec.tcp'].sort());
  assert.ok(only(fs, 'WEFT0104').every((f) => /is not (applied|used) by Weft/.test(f.message)));
});

test('EnvoyFilter: other patches are reported as not applied; a rate limit without token_bucket is an error; camelCase is read', async () => {
  const ef = (name: string, patch: string) =>
    `apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: { name: ${name}, namespace: shop }\nspec:\n  configPatches:\n${patch}`;
  const fs = await analyze(
    ef('lua', '    - applyTo: HTTP_FILTER\n      patch: { operation: INSERT_BEFORE, value: { name: envoy.filters.http.lua } }\n'),
    ef('cluster', '    - applyTo: CLUSTER\n      patch: { operation: MERGE, value: { connect_timeout: 1s } }\n'),
    ef('no-bucket', '    - applyTo: HTTP_FILTER\n      patch:\n        operation: INSERT_BEFORE\n        value:\n          name: envoy.filters.http.local_ratelimit\n          typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit, stat_prefix: rl }\n'),
    ef('camel', '    - applyTo: HTTP_FILTER\n      patch:\n        operation: INSERT_FIRST\n        value:\n          name: envoy.filters.http.local_ratelimit\n          typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit, statPrefix: rl, tokenBucket: { maxTokens: 5, fillInterval: 2s } }\n'),
  );
  assert.deepEqual(brief(fs.filter((f) => f.code.startsWith('WEFT010') && f.code !== 'WEFT0101')), [
    ['WEFT0105', 'warning', 'spec.configPatches[0]'],
    ['WEFT0105', 'warning', 'spec.configPatches[0]'],
    ['WEFT0106', 'error', 'spec.configPatches[0].patch.value.typed_config.token_bucket'],
  ]);
});

test('two ServiceEntries for one host: the second is reported and ignored', async () => {
  const fs = await analyze(se('a', 'ratings'), se('b', 'ratings.shop.svc.cluster.local'));
  assert.deepEqual(brief(only(fs, 'WEFT0004')), [['WEFT0004', 'warning', 'spec.hosts[0]']]);
  assert.match(only(fs, 'WEFT0004')[0]!.message, /ServiceEntry shop\/a/);
});

test('declared ports pass; DestinationRule port-level settings on undeclared ports are errors', async () => {
  const fs = await analyze(
    se('ratings', 'ratings'),
    vs('v', '  http: [{ route: [{ destination: { host: ratings, port: { number: 9080 } } }] }]\n'),
    `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: r, namespace: shop }\nspec:\n  host: ratings\n  trafficPolicy:\n    portLevelSettings: [{ port: { number: 9999 }, loadBalancer: { simple: RANDOM } }]\n`,
  );
  assert.deepEqual(brief(fs.filter((f) => f.level === 'error')), [['WEFT0103', 'error', 'spec.trafficPolicy.portLevelSettings[0].port.number']]);
});

test('IST0127: policy selectors matching no known workload (warning), or none known yet (info)', async () => {
  const ap = (ns: string) => `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: a, namespace: ${ns} }\nspec:\n  selector: { matchLabels: { app: ratings } }\n  action: DENY\n  rules: [{}]\n`;
  const fs = await analyze(se('catalog', 'catalog', '[{ number: 9080, name: http }]', '  endpoints: [{ address: 127.0.0.1, labels: { app: catalog } }]\n'), ap('shop'), ap('other'));
  assert.deepEqual(fs.filter((f) => f.code === 'IST0127').map((f) => [f.level, f.resource, f.field]), [
    ['warning', 'AuthorizationPolicy shop/a', 'spec.selector.matchLabels'],
    ['info', 'AuthorizationPolicy other/a', 'spec.selector.matchLabels'],
  ]);
});

test('Istio validation rules beyond the schema: port ranges, duplicates, required hosts, Sidecar host form, portLevelMtls', async () => {
  const fs = await analyze(
    se('a', 'a.example.com', '[{ number: 99999, name: http }, { number: 80, name: http }]'),
    dr('ratings', '[{ name: v1, labels: { version: v1 } }, { name: v1, labels: { version: v2 } }]'),
    `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: nohosts, namespace: shop }\nspec:\n  http: [{ route: [{ destination: { host: ratings } }] }]\n`,
    `apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: { name: s, namespace: shop }\nspec:\n  egress: [{ hosts: ["reviews.shop.svc.cluster.local", "./*"] }]\n`,
    `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: p, namespace: shop }\nspec:\n  portLevelMtls: { "8080": { mode: DISABLE } }\n`,
  );
  assert.deepEqual(fs.filter((f) => f.code === 'WEFT0107').map((f) => [f.resource, f.field]), [
    ['ServiceEntry shop/a', 'spec.ports[0].number'],
    ['ServiceEntry shop/a', 'spec.ports[1].name'],
    ['DestinationRule shop/r', 'spec.subsets[1].name'],
    ['VirtualService shop/nohosts', 'spec.hosts'],
    ['Sidecar shop/s', 'spec.egress[0].hosts[0]'],
    ['PeerAuthentication shop/p', 'spec.portLevelMtls'],
  ]);
});

test('WorkloadGroup is a loaded kind: its probe is checked (exec: WEFT0104 warning; a bad value: WEFT0107 error)', async () => {
  const wg = (name: string, probe: string) =>
    `apiVersion: networking.istio.io/v1\nkind: WorkloadGroup\nmetadata: { name: ${name}, namespace: shop }\nspec:\n  metadata: { labels: { app: ${name} } }\n  template: { serviceAccount: ${name} }\n  probe: ${probe}\n`;
  const dir = await mkdtemp(join(tmpdir(), 'weft-analyze-'));
  try {
    await writeFile(join(dir, 'mesh.yaml'), [wg('good', '{ httpGet: { path: /ready, port: 8080 }, periodSeconds: 2 }'), wg('cmd', '{ exec: { command: [cat, /tmp/ready] } }')].join('\n---\n'));
    const { findings, model } = await validateConfig([dir]);
    assert.deepEqual(brief(findings), [['WEFT0104', 'warning', 'spec.probe.exec']]);
    assert.match(findings[0]?.message ?? '', /is not applied by Weft/);
    assert.deepEqual(model?.workloadGroups?.map((g) => g.name).sort(), ['cmd', 'good']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const bad = await analyze(wg('bad', '{ httpGet: { path: ready, port: 8080 }, failureThreshold: 0 }'));
  assert.deepEqual(brief(bad.filter((f) => f.level === 'error')), [['WEFT0107', 'error', 'spec.probe.httpGet.path']]);
});
