/**
 * `npm run demo -- --check` from the outside: a real process that starts the control plane,
 * asserts every step, stops everything it started and exits 0 by itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WEFT = fileURLToPath(new URL('../../packages/control-plane/src/cli/weft.ts', import.meta.url));

test('weft demo --check runs every step, prints one line each and exits 0', { timeout: 150_000 }, async () => {
  const child = spawn(process.execPath, [WEFT, 'demo', '--check'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 0, `demo --check failed:\n${out}\n${err}`);
  const stepLines = out.split('\n').filter((l) => /^[✔✘] /.test(l));
  assert.ok(stepLines.length >= 5, out);
  assert.ok(stepLines.every((l) => l.startsWith('✔')), out);
  assert.match(out, /start the control plane — xDS on 127\.0\.0\.1:\d+, admin on http:\/\/127\.0\.0\.1:\d+/);
  assert.match(out, /catalog\.shop\.svc\.cluster\.local/);
  assert.match(out, /\d+ passed, 0 failed/);
});
