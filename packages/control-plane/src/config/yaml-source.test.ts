import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listConfigFiles, loadSources, parseSource } from './yaml-source.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test('multi-document YAML yields one document per non-empty document, with positions', () => {
  const src = 'a: 1\n---\n# comment only\n---\nkind: X\nspec:\n  items:\n    - name: one\n    - name: two\n---\n';
  const { documents, findings } = parseSource('f.yaml', enc(src));
  assert.deepEqual(findings, []);
  assert.equal(documents.length, 2);
  assert.deepEqual(documents[0]!.value, { a: 1 });
  assert.equal(documents[1]!.position.line, 5);
  const second = documents[1]!;
  assert.deepEqual(second.locate(['spec', 'items', 1, 'name']), { file: 'f.yaml', line: 9, column: 7 });
  // A path that does not exist points at its deepest existing ancestor.
  assert.deepEqual(second.locate(['spec', 'items', 1, 'missing']), { file: 'f.yaml', line: 9, column: 7 });
  assert.deepEqual(second.locate(['spec', 'nothing']), { file: 'f.yaml', line: 6, column: 1 });
});

test('YAML syntax errors are findings with the position of the problem; good sibling documents survive', () => {
  const src = 'kind: A\n---\nkind: [unclosed\nb: 2\n---\nkind: C\n';
  const { documents, findings } = parseSource('bad.yaml', enc(src));
  assert.ok(findings.length >= 1);
  assert.ok(findings.every((f) => f.code === 'WEFT0001' && f.level === 'error'));
  assert.equal(findings[0]!.position?.file, 'bad.yaml');
  assert.ok(findings[0]!.position!.line >= 3);
  assert.deepEqual(documents.map((d) => d.value), [{ kind: 'A' }, { kind: 'C' }]);
});

test('duplicate keys are syntax errors, not silently overwritten', () => {
  const { findings } = parseSource('dup.yaml', enc('kind: A\nkind: B\n'));
  assert.equal(findings[0]?.code, 'WEFT0001');
  assert.equal(findings[0]?.position?.line, 2);
});

test('alias bombs are refused instead of expanding without bound', () => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
  const { documents, findings } = parseSource('bomb.yaml', enc(lines.join('\n')));
  assert.equal(documents.length, 0);
  assert.equal(findings[0]?.code, 'WEFT0001');
});

test('empty files and comment-only files are an info, not an error', () => {
  for (const src of ['', '\n\n', '# nothing here\n', '---\n---\n']) {
    const { documents, findings } = parseSource('empty.yaml', enc(src));
    assert.equal(documents.length, 0);
    assert.equal(findings.length, 1, JSON.stringify(src));
    assert.equal(findings[0]!.code, 'WEFT0005');
    assert.equal(findings[0]!.level, 'info');
  }
});

test('binary garbage is reported as unreadable, never parsed', () => {
  const garbage = new Uint8Array(4096);
  let x = 12345;
  for (let i = 0; i < garbage.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    garbage[i] = x & 0xff;
  }
  const r1 = parseSource('blob.yaml', garbage);
  assert.equal(r1.documents.length, 0);
  assert.equal(r1.findings[0]?.code, 'WEFT0006');
  const r2 = parseSource('nul.yaml', enc('kind: A\nspec: \u0000\u0001\n'));
  assert.equal(r2.findings[0]?.code, 'WEFT0006');
  assert.equal(r2.findings[0]?.position?.line, 2);
});

test('directories are walked recursively for *.yaml and *.yml, hidden entries and other files skipped', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-src-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'nested', 'deeper'), { recursive: true });
  await mkdir(join(dir, '.git'));
  await writeFile(join(dir, 'a.yaml'), 'kind: A\n');
  await writeFile(join(dir, 'nested', 'b.yml'), 'kind: B\n---\nkind: B2\n');
  await writeFile(join(dir, 'nested', 'deeper', 'c.yaml'), 'kind: C\n');
  await writeFile(join(dir, 'nested', 'notes.txt'), 'kind: nope\n');
  await writeFile(join(dir, '.git', 'x.yaml'), 'kind: hidden\n');
  const files = await listConfigFiles([dir]);
  assert.deepEqual(files.map((f) => f.slice(dir.length + 1)), ['a.yaml', 'nested/b.yml', 'nested/deeper/c.yaml']);
  const loaded = await loadSources([dir]);
  assert.deepEqual(loaded.documents.map((d) => (d.value as { kind: string }).kind), ['A', 'B', 'B2', 'C']);
});

test('a missing path rejects with WEFT_ERR_CONFIG_IO naming the path', async () => {
  await assert.rejects(loadSources(['/nonexistent/weft/config.yaml']), (err: { code?: string; message?: string }) => {
    assert.equal(err.code, 'WEFT_ERR_CONFIG_IO');
    assert.match(err.message ?? '', /\/nonexistent\/weft\/config\.yaml/);
    return true;
  });
});
