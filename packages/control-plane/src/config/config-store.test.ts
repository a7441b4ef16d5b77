import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConfigStore, type ConfigStore } from './config-store.ts';
import type { MeshModel } from '../model/mesh-model.ts';

const dr = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: catalog, namespace: shop }
spec:
  host: catalog
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
`;
const vs = (w1: number, w2: number, subset2 = 'v2') => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: catalog, namespace: shop }
spec:
  hosts: [catalog]
  http:
    - route:
        - { destination: { host: catalog, subset: v1 }, weight: ${w1} }
        - { destination: { host: catalog, subset: ${subset2} }, weight: ${w2} }
`;

async function setup(t: { after(fn: () => unknown): void }, files: Record<string, string>, debounceMs = 20): Promise<{ dir: string; store: ConfigStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-store-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const store = await createConfigStore({ paths: [dir], debounceMs });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { dir, store };
}

/** Resolves with the next published generation, or rejects after `ms` (bounded wait). */
function nextGeneration(store: ConfigStore, ms = 5000): Promise<MeshModel> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub[Symbol.dispose]();
      reject(new Error(`no new generation within ${ms} ms`));
    }, ms);
    const sub = store.onChange((m) => {
      clearTimeout(timer);
      sub[Symbol.dispose]();
      resolve(m);
    });
  });
}

/** Polls `cond` every 10 ms for at most `ms`. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const weights = (m: MeshModel): number[] => (m.virtualServices[0]?.spec.http?.[0]?.route ?? []).map((r) => r.weight ?? -1);

test('initial generation is published synchronously with creation', async (t) => {
  const { store } = await setup(t, { 'dr.yaml': dr, 'vs.yaml': vs(90, 10) });
  assert.equal(store.current.generation, 1);
  assert.deepEqual(weights(store.current), [90, 10]);
  assert.deepEqual(store.lastRejected, []);
  assert.equal(store.current.rootNamespace, 'istio-system');
  assert.equal(store.current.trustDomain, 'cluster.local');
  assert.equal(store.current.domainSuffix, 'svc.cluster.local');
  assert.match(store.current.version, /^[0-9a-f]{16}$/);
});

test('a good edit publishes a new generation; a broken edit is rejected and the old one keeps serving', async (t) => {
  const { dir, store } = await setup(t, { 'dr.yaml': dr, 'vs.yaml': vs(90, 10) });
  const first = store.current;

  const gen2 = nextGeneration(store);
  await writeFile(join(dir, 'vs.yaml'), vs(50, 50));
  const m2 = await gen2;
  assert.equal(m2.generation, 2);
  assert.deepEqual(weights(m2), [50, 50]);
  assert.equal(store.current, m2);
  assert.deepEqual(weights(first), [90, 10], 'an earlier generation never changes under its reader');
  assert.notEqual(m2.version, first.version);
  // Only the edited file was parsed again: the untouched DestinationRule is the same object.
  assert.equal(m2.destinationRules[0], first.destinationRules[0]);
  assert.notEqual(m2.virtualServices[0], first.virtualServices[0]);

  // Broken semantics: undefined subset. Rejected as a whole; generation 2 keeps serving.
  await writeFile(join(dir, 'vs.yaml'), vs(50, 50, 'v9'));
  await until(() => store.lastRejected.length > 0);
  assert.equal(store.lastRejected[0]!.code, 'IST0101');
  assert.match(store.lastRejected[0]!.position!.file, /vs\.yaml$/);
  assert.equal(store.current, m2);

  // Broken syntax: also rejected.
  await writeFile(join(dir, 'vs.yaml'), 'apiVersion: [oops\n');
  await until(() => store.lastRejected[0]?.code === 'WEFT0001');
  assert.equal(store.current.generation, 2);

  // A registry change publishes (old files + new workload) but keeps reporting the broken file.
  const withWorkload = nextGeneration(store);
  store.registry.register({ id: 'w', service: 'catalog', namespace: 'shop', address: '127.0.0.1', ports: [{ number: 50051, name: 'grpc', protocol: 'GRPC' }], labels: { version: 'v1' }, serviceAccount: 'catalog' });
  const m3 = await withWorkload;
  assert.deepEqual(weights(m3), [50, 50]);
  assert.equal(store.lastRejected[0]?.code, 'WEFT0001');

  // Fixing it applies, and clears lastRejected.
  const gen4 = nextGeneration(store);
  await writeFile(join(dir, 'vs.yaml'), vs(10, 90));
  const m4 = await gen4;
  assert.equal(m4.generation, 4);
  assert.deepEqual(weights(m4), [10, 90]);
  assert.deepEqual(store.lastRejected, []);
});

test('a burst of writes is debounced into one rebuild', async (t) => {
  const { dir, store } = await setup(t, { 'dr.yaml': dr, 'vs.yaml': vs(90, 10) }, 150);
  const seen: number[] = [];
  store.onChange((m) => seen.push(m.generation));
  const next = nextGeneration(store);
  for (let i = 1; i <= 5; i++) await writeFile(join(dir, 'vs.yaml'), vs(100 - i, i));
  const m = await next;
  assert.deepEqual(weights(m), [95, 5]);
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual(seen, [2]);
});

test('a change is prepared while the debounce runs: the pending model is the one published at its end; a superseded one never is', async (t) => {
  const { dir, store } = await setup(t, { 'dr.yaml': dr, 'vs.yaml': vs(90, 10) }, 400);
  const pending: { model: MeshModel; publishedBefore: number }[] = [];
  const published: MeshModel[] = [];
  store.onPending((model) => pending.push({ model, publishedBefore: published.length }));
  store.onChange((m) => published.push(m));

  await writeFile(join(dir, 'vs.yaml'), vs(80, 20));
  await until(() => published.length === 1);
  assert.ok(pending.length >= 1);
  assert.equal(pending[0]?.publishedBefore, 0, 'prepared before the debounce ended');
  assert.equal(published[0], pending.at(-1)?.model, 'the very model prepared last is published');
  assert.deepEqual(weights(published[0]!), [80, 20]);

  // a second change before the deadline: what was prepared for the first is dropped
  const before = pending.length;
  await writeFile(join(dir, 'vs.yaml'), vs(70, 30));
  await until(() => pending.length > before);
  await writeFile(join(dir, 'vs.yaml'), vs(60, 40));
  await until(() => published.length === 2);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(published.length, 2, 'one publish for both changes');
  assert.deepEqual(weights(published[1]!), [60, 40]);
  assert.equal(published[1], pending.at(-1)?.model);
  assert.ok(!published.includes(pending[before]!.model), 'the superseded pending model was never published');
});

test('adding and deleting files in a watched directory (recursively) are picked up', async (t) => {
  const { dir, store } = await setup(t, { 'dr.yaml': dr });
  const added = nextGeneration(store);
  await writeFile(join(dir, 'vs.yaml'), vs(70, 30));
  assert.equal((await added).virtualServices.length, 1);
  const removed = nextGeneration(store);
  await unlink(join(dir, 'vs.yaml'));
  assert.equal((await removed).virtualServices.length, 0);
});

test('a watched single file is reloaded when it is replaced', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-store-'));
  const file = join(dir, 'mesh.yaml');
  await writeFile(file, `${dr}---\n${vs(90, 10)}`);
  await writeFile(join(dir, 'other.yaml'), 'not: watched\n');
  const store = await createConfigStore({ paths: [file], debounceMs: 20 });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const next = nextGeneration(store);
  await writeFile(`${file}.tmp`, `${dr}---\n${vs(60, 40)}`);
  const { rename } = await import('node:fs/promises');
  await rename(`${file}.tmp`, file);
  assert.deepEqual(weights(await next), [60, 40]);
});

test('registry changes publish generations with the service and its endpoints', async (t) => {
  const { store } = await setup(t, { 'dr.yaml': dr, 'vs.yaml': vs(90, 10) });
  const g2 = nextGeneration(store);
  store.registry.register({
    id: 'catalog-v1-a',
    service: 'catalog',
    namespace: 'shop',
    address: '127.0.0.1',
    ports: [{ number: 50051, name: 'grpc', protocol: 'GRPC' }],
    labels: { app: 'catalog', version: 'v1' },
    serviceAccount: 'catalog',
  });
  const m2 = await g2;
  const svc = m2.services.get('catalog.shop.svc.cluster.local');
  assert.equal(svc?.origin, 'registration');
  assert.deepEqual(svc?.ports.map((p) => [p.number, p.protocol]), [[50051, 'GRPC']]);
  assert.deepEqual(m2.endpoints.get('catalog.shop.svc.cluster.local')?.map((e) => [e.id, e.health]), [['catalog-v1-a', 'HEALTHY']]);
  // The unknown-host warning of generation 1 is gone now that the service exists.
  assert.ok(store.current.findings.every((f) => f.code !== 'WEFT0101'));

  const g3 = nextGeneration(store);
  store.registry.setHealth('catalog-v1-a', 'UNHEALTHY');
  assert.equal((await g3).endpoints.get('catalog.shop.svc.cluster.local')?.[0]?.health, 'UNHEALTHY');

  const g4 = nextGeneration(store);
  store.registry.unregister('catalog-v1-a');
  const m4 = await g4;
  assert.equal(m4.services.has('catalog.shop.svc.cluster.local'), false);
  assert.deepEqual(store.registry.list(), []);
});

test('onChange never calls back synchronously, and a disposed listener hears nothing', async (t) => {
  const { store } = await setup(t, { 'dr.yaml': dr });
  let calls = 0;
  const sub = store.onChange(() => calls++);
  assert.equal(calls, 0);
  sub[Symbol.dispose]();
  const next = nextGeneration(store);
  store.registry.register({ id: 'x', service: 'x', namespace: 'shop', address: '127.0.0.1', ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], labels: {}, serviceAccount: 'x' });
  await next;
  assert.equal(calls, 0);
});

test('an initial config with errors rejects with WEFT_ERR_CONFIG_INVALID and every error in details', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-store-'));
  try {
    await writeFile(join(dir, 'vs.yaml'), vs(90, 10));
    await assert.rejects(createConfigStore({ paths: [dir], watch: false }), (err: { code?: string; details?: { findings?: { code: string }[] }; message?: string }) => {
      assert.equal(err.code, 'WEFT_ERR_CONFIG_INVALID');
      assert.deepEqual(err.details?.findings?.map((f) => f.code), ['IST0101', 'IST0101']);
      assert.match(err.message ?? '', /vs\.yaml:\d+:\d+ IST0101/);
      return true;
    });
    await assert.rejects(createConfigStore({ paths: [join(dir, 'missing.yaml')] }), { code: 'WEFT_ERR_CONFIG_IO' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('close is idempotent and stops reloading; watch:false never reloads', async (t) => {
  const { dir, store } = await setup(t, { 'dr.yaml': dr, 'vs.yaml': vs(90, 10) });
  await store.close();
  await store.close();
  await writeFile(join(dir, 'vs.yaml'), vs(1, 99));
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(store.current.generation, 1);

  const quiet = await createConfigStore({ paths: [dir], watch: false, debounceMs: 10 });
  await writeFile(join(dir, 'vs.yaml'), vs(2, 98));
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(weights(quiet.current), [1, 99]);
  await quiet.close();
});

test('a watched file that disappears is a rejected change naming the path; restoring it recovers', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-store-'));
  const file = join(dir, 'mesh.yaml');
  await writeFile(file, `${dr}---\n${vs(90, 10)}`);
  const store = await createConfigStore({ paths: [file], debounceMs: 20 });
  t.after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  await unlink(file);
  await until(() => store.lastRejected.length > 0);
  assert.equal(store.lastRejected[0]!.code, 'WEFT0006');
  assert.match(store.lastRejected[0]!.message, /mesh\.yaml cannot be read: ENOENT/);
  assert.equal(store.current.generation, 1);
  const next = nextGeneration(store);
  await writeFile(file, `${dr}---\n${vs(20, 80)}`);
  assert.deepEqual(weights(await next), [20, 80]);
  assert.deepEqual(store.lastRejected, []);
});

test('saves through a temp file renamed over the original, deletions and files in new sub-directories are all picked up', async (t) => {
  const { mkdir, rename } = await import('node:fs/promises');
  const { dir, store } = await setup(t, { 'dr.yaml': dr, 'vs.yaml': vs(90, 10) });
  // 1. editor-style save: write a temp file beside the target, rename it over the target.
  for (const [w1, w2] of [[80, 20], [70, 30], [60, 40]] as const) {
    const next = nextGeneration(store);
    await writeFile(join(dir, '.vs.yaml.swp'), vs(w1, w2));
    await rename(join(dir, '.vs.yaml.swp'), join(dir, 'vs.yaml'));
    assert.deepEqual(weights(await next), [w1, w2]);
  }
  // The renamed-in file is a new inode: an in-place write to it must still be seen.
  const inPlace = nextGeneration(store);
  await writeFile(join(dir, 'vs.yaml'), vs(55, 45));
  assert.deepEqual(weights(await inPlace), [55, 45]);
  // ...and so must its deletion.
  const gone = nextGeneration(store);
  await unlink(join(dir, 'vs.yaml'));
  assert.equal((await gone).virtualServices.length, 0);
  // 2. a new file in a new sub-directory.
  const added = nextGeneration(store);
  await mkdir(join(dir, 'team', 'extra'), { recursive: true });
  await writeFile(join(dir, 'team', 'extra', 'se.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext, namespace: shop }
spec:
  hosts: [api.example.com]
  ports: [{ number: 443, name: https, protocol: TLS }]
  resolution: DNS
`);
  assert.equal((await added).serviceEntries.length, 1);
  // 3. a temp-file save inside that new sub-directory.
  const edited = nextGeneration(store);
  await writeFile(join(dir, 'team', 'extra', 'se.yaml.tmp'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext2, namespace: shop }
spec:
  hosts: [api2.example.com]
  ports: [{ number: 443, name: https, protocol: TLS }]
  resolution: DNS
`);
  await rename(join(dir, 'team', 'extra', 'se.yaml.tmp'), join(dir, 'team', 'extra', 'se.yaml'));
  assert.equal((await edited).serviceEntries[0]?.name, 'ext2');
  // 4. deleting a file.
  const removed = nextGeneration(store);
  await unlink(join(dir, 'team', 'extra', 'se.yaml'));
  assert.equal((await removed).serviceEntries.length, 0);
});
