import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFieldPath, formatFinding, hasErrors, makeFinding, sortFindings } from './finding.ts';

test('formatFinding prints file:line:column CODE Kind ns/name: field message, leaving out unknown parts', () => {
  const full = makeFinding('error', 'IST0101', '"v9" is not defined by any DestinationRule for orders.acc.svc.cluster.local', {
    resource: 'VirtualService acc/orders',
    field: 'spec.http[0].route[0].destination.subset',
    position: { file: 'mesh.yaml', line: 14, column: 9 },
  });
  assert.equal(
    formatFinding(full),
    'mesh.yaml:14:9 IST0101 VirtualService acc/orders: spec.http[0].route[0].destination.subset "v9" is not defined by any DestinationRule for orders.acc.svc.cluster.local',
  );
  assert.equal(formatFinding(makeFinding('info', 'WEFT0005', 'file holds no YAML documents', { position: { file: 'e.yaml', line: 1, column: 1 } })), 'e.yaml:1:1 WEFT0005 (info) file holds no YAML documents');
  assert.equal(formatFinding(makeFinding('warning', 'WEFT0006', 'gone')), 'WEFT0006 (warning) gone');
});

test('field paths render like Istio field references', () => {
  assert.equal(formatFieldPath(['spec', 'http', 0, 'match', 1, 'headers', 'x-user', 'regex']), 'spec.http[0].match[1].headers.x-user.regex');
  assert.equal(formatFieldPath([]), '');
});

test('sortFindings orders by file, line, column, code; hasErrors looks at levels only', () => {
  const at = (file: string, line: number, column: number, code = 'IST0101', level: 'error' | 'warning' = 'warning') =>
    makeFinding(level, code as 'IST0101', 'm', { position: { file, line, column } });
  const sorted = sortFindings([at('b.yaml', 1, 1), at('a.yaml', 9, 2), at('a.yaml', 9, 1, 'WEFT0101'), at('a.yaml', 9, 1, 'IST0106'), at('a.yaml', 2, 5)]);
  assert.deepEqual(sorted.map((f) => `${f.position!.file}:${f.position!.line}:${f.position!.column}:${f.code}`), [
    'a.yaml:2:5:IST0101',
    'a.yaml:9:1:IST0106',
    'a.yaml:9:1:WEFT0101',
    'a.yaml:9:2:IST0101',
    'b.yaml:1:1:IST0101',
  ]);
  assert.equal(hasErrors(sorted), false);
  assert.equal(hasErrors([...sorted, at('c.yaml', 1, 1, 'IST0106', 'error')]), true);
});
