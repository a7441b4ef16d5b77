import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitDocuments } from './document-split.ts';

test('a stream splits at every document start, and the pieces give the text back', () => {
  const text = 'a: 1\n---\nb: 2\n--- # c\nc: |\n  ---not a marker\n  x\n---\n';
  const pieces = splitDocuments(text);
  assert.deepEqual(pieces.map((p) => p.line), [1, 2, 4, 8]);
  assert.equal(pieces.map((p) => p.text).join(''), text);
  assert.equal(pieces[2]!.text, '--- # c\nc: |\n  ---not a marker\n  x\n');
});

test('"---" not followed by white space is content, and a leading marker gives no empty piece', () => {
  assert.deepEqual(splitDocuments('---\nk: ---x\n----\n').map((p) => p.text), ['---\nk: ---x\n----\n']);
  assert.deepEqual(splitDocuments(''), [{ text: '', line: 1 }]);
});

test('a stream with directives is one piece (directives belong to the next document)', () => {
  const text = '%YAML 1.2\n---\na: 1\n...\n%YAML 1.2\n---\nb: 2\n';
  assert.deepEqual(splitDocuments(text), [{ text, line: 1 }]);
});
