import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReadCache, readConfig } from './read-config.ts';
import { locate } from './resource-parse.ts';

const se = (name: string, port: number) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: shop }
spec:
  hosts: [${name}.example.com]
  ports: [{ number: ${port}, name: http, protocol: HTTP }]
  resolution: DNS
`;

test('a changed document of a multi-document file is parsed again; unchanged ones are reused with right positions', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-read-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'mesh.yaml');
  const cache = createReadCache();
  await writeFile(file, [se('a', 80), se('b', 80), se('c', 80)].join('---\n'));
  const first = await readConfig([dir], 'default', cache);
  assert.deepEqual(first.objects.map((o) => o.name), ['a', 'b', 'c']);

  // Same line count: only `b` is new; `a` and `c` are the very same objects.
  await writeFile(file, [se('a', 80), se('b', 81), se('c', 80)].join('---\n'));
  const second = await readConfig([dir], 'default', cache);
  assert.equal(second.objects[0], first.objects[0]);
  assert.notEqual(second.objects[1], first.objects[1]);
  assert.equal(second.objects[2], first.objects[2]);
  assert.equal((second.objects[1]!.spec as { ports: { number: number }[] }).ports[0]!.number, 81);

  // A line added to `a` moves `b` and `c`: their positions follow the file, not the cache.
  await writeFile(file, [`# a comment\n${se('a', 80)}`, se('b', 81), se('c', 80)].join('---\n'));
  const third = await readConfig([dir], 'default', cache);
  assert.equal(third.objects[2]!.source.line, 18);
  assert.equal(locate(third.objects[2]!, ['spec', 'resolution']).line, 24);
  const uncached = await readConfig([dir], 'default');
  assert.deepEqual(third.objects.map((o) => o.source), uncached.objects.map((o) => o.source));
  assert.deepEqual(third.findings, uncached.findings);
});

test('a broken document is reported at its line and the cache does not hide a fix', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-read-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'mesh.yaml');
  const cache = createReadCache();
  await writeFile(file, `${se('a', 80)}---\nkind: [unclosed\n`);
  const bad = await readConfig([dir], 'default', cache);
  assert.equal(bad.findings[0]?.code, 'WEFT0001');
  assert.ok((bad.findings[0]?.position?.line ?? 0) >= 9); // the unclosed flow sequence, at or after its line
  await writeFile(file, `${se('a', 80)}---\n${se('b', 80)}`);
  const good = await readConfig([dir], 'default', cache);
  assert.deepEqual(good.findings, []);
  assert.deepEqual(good.objects.map((o) => o.name), ['a', 'b']);
  await writeFile(file, '# nothing\n---\n');
  const empty = await readConfig([dir], 'default', cache);
  assert.deepEqual(empty.findings.map((f) => f.code), ['WEFT0005']);
});
