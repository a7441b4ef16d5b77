import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateConfig } from './validate-config.ts';
import { formatFinding } from './finding.ts';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const fixtures = join(repo, 'packages/control-plane/test/fixtures/config');
const scenarios = '/work/shared/scenarios';

test('every shared scenario validates without errors, on its own', async () => {
  const files = (await readdir(scenarios)).filter((f) => f.endsWith('.yaml')).sort();
  assert.ok(files.length >= 9);
  for (const f of files) {
    const { findings, model } = await validateConfig([join(scenarios, f)]);
    const errors = findings.filter((x) => x.level === 'error');
    assert.deepEqual(errors.map(formatFinding), [], f);
    assert.ok(model, f);
  }
});

test('the example shop mesh validates without errors or warnings', async () => {
  const { findings, model } = await validateConfig([join(repo, 'examples/mesh')]);
  assert.deepEqual(findings.filter((f) => f.level !== 'info').map(formatFinding), []);
  assert.ok(model);
  assert.ok(model.virtualServices.length >= 3);
  assert.ok(model.services.has('catalog.shop.svc.cluster.local'));
});

test('a config with one object of every kind parses into the model, each kind in its list', async () => {
  const { findings, model } = await validateConfig([join(fixtures, 'valid/all-kinds.yaml')]);
  assert.deepEqual(findings.map(formatFinding), []);
  assert.ok(model);
  assert.equal(model.generation, 1);
  assert.equal(model.serviceEntries.length, 1);
  assert.equal(model.workloadEntries.length, 2);
  assert.equal(model.destinationRules.length, 1);
  assert.equal(model.gateways.length, 1);
  assert.equal(model.virtualServices.length, 2);
  assert.equal(model.sidecars.length, 1);
  assert.equal(model.envoyFilters.length, 1);
  assert.equal(model.peerAuthentications.length, 1);
  assert.equal(model.authorizationPolicies.length, 1);
  // apiVersions v1beta1 / v1alpha3 are read alongside v1 and keep their apiVersion.
  assert.deepEqual(model.workloadEntries.map((w) => w.apiVersion), ['networking.istio.io/v1', 'networking.istio.io/v1beta1']);
  assert.equal(model.destinationRules[0]!.apiVersion, 'networking.istio.io/v1alpha3');
  const vs = model.virtualServices[0]!;
  assert.equal(vs.source.line, 52);
  assert.equal(vs.namespace, 'shop');
  // WorkloadEntries selected by the ServiceEntry are its endpoints.
  const eps = model.endpoints.get('catalog.shop.svc.cluster.local') ?? [];
  assert.deepEqual(eps.map((e) => [e.id, e.address, e.labels['version'], e.origin]), [
    ['shop/catalog-v1', '127.0.0.1', 'v1', 'WorkloadEntry'],
    ['shop/catalog-v2', '127.0.0.2', 'v2', 'WorkloadEntry'],
  ]);
  assert.equal(eps[1]!.locality, 'eu-west/zone-a');
  // The published model is immutable.
  assert.throws(() => (model.virtualServices as unknown[]).push({}));
  assert.throws(() => ((vs.spec.hosts as string[])[0] = 'x'));
  assert.throws(() => (model.services as Map<string, unknown>).set('x', {}));
});

/** Every broken fixture names its expected finding on line 1: `# expect: CODE LINE FIELD message-fragment`. */
test('each broken fixture produces its expected code, line, field and message', async () => {
  const dir = join(fixtures, 'broken');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  assert.ok(files.length >= 15);
  for (const f of files) {
    const text = await readFile(join(dir, f), 'utf8');
    const m = /^# expect: (\S+) (\d+) (\S+) (.*)$/m.exec(text);
    assert.ok(m, `${f} has an expect line`);
    const [, code, line, field, fragment] = m;
    const { findings, model } = await validateConfig([join(dir, f)]);
    assert.equal(model, undefined, `${f} must fail validation`);
    const hit = findings.find((x) => x.code === code && x.level === 'error' && x.position?.line === Number(line) && (field === '-' || x.field === field));
    assert.ok(hit, `${f}: expected ${code} at line ${line} on ${field}; got:\n${findings.map(formatFinding).join('\n')}`);
    assert.ok(formatFinding(hit).includes(fragment!.trim()), `${f}: message should contain "${fragment}": ${formatFinding(hit)}`);
    assert.match(formatFinding(hit), new RegExp(`^\\S*${f.replace('.', '\\.')}:${line}:\\d+ ${code} `));
  }
});

async function validateText(text: string, name = 'mesh.yaml') {
  const dir = await mkdtemp(join(tmpdir(), 'weft-validate-'));
  try {
    await writeFile(join(dir, name), text);
    return await validateConfig([join(dir, name)]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('unknown kinds and API versions are warnings, and the rest of the file still loads', async () => {
  const { findings, model } = await validateText(
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n---\napiVersion: networking.istio.io/v1\nkind: ProxyConfig\nmetadata: { name: g }\n---\n' +
      'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: istio-system }\nspec: { mtls: { mode: PERMISSIVE } }\n',
  );
  assert.ok(model);
  assert.deepEqual(findings.map((f) => [f.code, f.level, f.field, f.position?.line]), [
    ['WEFT0003', 'warning', 'apiVersion', 1],
    ['WEFT0003', 'warning', 'kind', 6],
  ]);
  assert.equal(model.peerAuthentications[0]?.spec.mtls?.mode, 'PERMISSIVE');
});

test('a document that is not an object, or lacks apiVersion, is an error', async () => {
  const r1 = await validateText('- just\n- a list\n');
  assert.equal(r1.findings[0]?.code, 'WEFT0002');
  const r2 = await validateText('kind: VirtualService\nmetadata: { name: x }\n');
  assert.deepEqual([r2.findings[0]?.code, r2.findings[0]?.field], ['WEFT0002', 'apiVersion']);
  const r3 = await validateText('apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: Bad_Name }\nspec: {}\n');
  assert.deepEqual([r3.findings[0]?.code, r3.findings[0]?.field], ['IST0106', 'metadata.name']);
});

test('objects without a namespace land in the default namespace (configurable)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-validate-'));
  try {
    await writeFile(join(dir, 'dr.yaml'), 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: r }\nspec: { host: ratings }\n');
    const a = await validateConfig([dir]);
    assert.equal(a.model?.destinationRules[0]?.namespace, 'default');
    assert.match(a.findings.map(formatFinding).join('\n'), /ratings\.default\.svc\.cluster\.local/);
    const b = await validateConfig([dir], { defaultNamespace: 'shop', domainSuffix: 'svc.example.internal' });
    assert.equal(b.model?.destinationRules[0]?.namespace, 'shop');
    assert.match(b.findings.map(formatFinding).join('\n'), /ratings\.shop\.svc\.example\.internal/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a 10 MB file is read completely and analysed within bounded memory', { timeout: 120_000 }, async () => {
  // Large real-world files are mostly big annotations (kubectl's last-applied-configuration);
  // this one holds 2,000+ DestinationRules each carrying a 4 KB annotation.
  const filler = 'x'.repeat(4096);
  const parts: string[] = [];
  let size = 0;
  let i = 0;
  while (size < 10 * 1024 * 1024) {
    const doc = `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: svc-${i}\n  namespace: shop\n  annotations:\n    note: "${filler}"\nspec:\n  host: svc-${i}\n  subsets: [{ name: v1, labels: { version: v1 } }]\n---\n`;
    parts.push(doc);
    size += doc.length;
    i++;
  }
  // One broken document at the very end must still be found, with its line.
  parts.push('apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: last, namespace: shop }\nspec: { host: last, bogus: 1 }\n');
  const text = parts.join('');
  assert.ok(text.length >= 10 * 1024 * 1024);
  const { findings, model } = await validateText(text, 'big.yaml');
  assert.equal(model, undefined);
  const errors = findings.filter((f) => f.level === 'error');
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.field, 'spec.bogus');
  assert.equal(errors[0]!.position!.line, i * 11 + 4);
});
