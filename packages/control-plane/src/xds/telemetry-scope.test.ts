import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TypeUrl, unpackAny } from '@weft/xds-client';
import { createReadCache, readConfig } from '../config/read-config.ts';
import { buildCandidate, publishModel } from '../model/build-model.ts';
import { capabilitiesFor } from './client-capabilities.ts';
import { indexModel } from './mesh-index.ts';
import { buildSnapshot } from './snapshot.ts';

const settings = { rootNamespace: 'istio-system', trustDomain: 'cluster.local', domainSuffix: 'svc.cluster.local' };
const telemetry = (namespace: string, percent: number, selector = '') => `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: t-${namespace}${selector ? '-w' : ''}, namespace: ${namespace} }
spec:
${selector ? `  selector: { matchLabels: { app: ${selector} } }\n` : ''}  tracing:
    - randomSamplingPercentage: ${percent}
`;
const service = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: pay, namespace: shop }
spec:
  hosts: [pay.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 10.0.0.1 }]
`;

async function load(t: { after(fn: () => unknown): void }, docs: string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'weft-telemetry-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'mesh.yaml'), docs.join('---\n'));
  const read = await readConfig([dir], 'default', createReadCache());
  return buildCandidate(read.objects, read.findings, [], settings);
}

function sampling(docs: Awaited<ReturnType<typeof load>>, namespace: string): number | undefined {
  const snap = buildSnapshot(indexModel(publishModel(docs, 1)), capabilitiesFor('weft'));
  const l = snap.lookup(TypeUrl.listener, 'pay.shop.svc.cluster.local:80', namespace);
  assert.ok(l);
  const hcm = unpackAny((l.message.api_listener as { api_listener: never }).api_listener) as { tracing?: { random_sampling?: { value?: number } } };
  return hcm.tracing?.random_sampling?.value;
}

test('Telemetry tracing sampling: mesh-wide in the root namespace, overridden per namespace, encoded in the HCM', async (t) => {
  const c = await load(t, [service, telemetry('istio-system', 10), telemetry('team', 75.5), telemetry('shop', 0, 'pay')]);
  assert.deepEqual(c.findings.filter((f) => f.level === 'error'), []);
  assert.equal(c.model.telemetries?.length, 3);
  assert.equal(sampling(c, 'team'), 75.5);
  assert.equal(sampling(c, 'shop'), 10, 'a workload-selector Telemetry is not applied to the whole namespace');
  assert.equal(sampling(c, 'other'), 10);
  // Short-name aliases of the listener carry the same setting.
  const snap = buildSnapshot(indexModel(publishModel(c, 2)), capabilitiesFor('weft'));
  const alias = snap.lookup(TypeUrl.listener, 'pay.shop:80', 'team');
  assert.equal((unpackAny((alias?.message.api_listener as { api_listener: never }).api_listener) as { tracing?: { random_sampling?: { value?: number } } }).tracing?.random_sampling?.value, 75.5);
});

test('without a Telemetry the listener has no tracing block; a schema error in a Telemetry is reported', async (t) => {
  const c = await load(t, [service]);
  assert.equal(sampling(c, 'shop'), undefined);
  const bad = await load(t, [service, telemetry('istio-system', 10).replace('randomSamplingPercentage', 'randomSampling')]);
  const errors = bad.findings.filter((f) => f.level === 'error');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.field ?? '', /tracing/);
});
