import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const repo = fileURLToPath(new URL('../../../../../', import.meta.url));
const node = join(repo, 'node_modules/.bin/node');
const weft = join(repo, 'packages/control-plane/src/cli/weft.ts');

/** Runs `weft validate …` as a real process from the repo root; bounded by a timeout. */
function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(node, [weft, 'validate', ...args], { cwd: repo, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

test('weft validate: a clean config exits 0 and says so', async () => {
  const r = await run('examples/mesh');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /no errors, 0 warning\(s\)/);
});

test('weft validate: the shared scenarios exit 0 (two runs, each a set of files that do not redefine each other)', async () => {
  const sets = [
    ['01-canary', '03-retries-timeouts', '04-circuit-breaking', '06-local-rate-limit', '07-mtls-authz', '08-egress-sidecar', '09-grpc-canary'],
    ['02-header-match', '05-fault-injection'],
  ];
  const results = await Promise.all(sets.map((set) => run(...set.map((f) => `/work/shared/scenarios/${f}.yaml`))));
  results.forEach((r, i) => {
    assert.equal(r.code, 0, `${sets[i]!.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /no errors/);
  });
});

test('weft validate: an error exits 1 and prints file:line:column CODE Kind ns/name: field message', async () => {
  const r = await run('packages/control-plane/test/fixtures/config/broken/undefined-subset.yaml');
  assert.equal(r.code, 1);
  assert.ok(
    r.stdout.includes(
      'packages/control-plane/test/fixtures/config/broken/undefined-subset.yaml:13:13 IST0101 VirtualService acc/orders: spec.http[0].route[0].destination.subset "v9" is not defined by any DestinationRule for orders.acc.svc.cluster.local\n',
    ),
    r.stdout,
  );
  assert.match(r.stdout, /1 error\(s\)/);
});

test('weft validate --output json: machine-readable findings with positions', async () => {
  const r = await run('--output', 'json', 'packages/control-plane/test/fixtures/config/broken/lookbehind-regex.yaml');
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as { valid: boolean; errors: number; findings: { code: string; level: string; field: string; resource: string; position: { line: number; column: number } }[] };
  assert.equal(out.valid, false);
  assert.equal(out.errors, 1);
  const f = out.findings.find((x) => x.level === 'error')!;
  assert.deepEqual([f.code, f.field, f.resource, f.position.line], ['IST0122', 'spec.http[0].match[0].uri.regex', 'VirtualService shop/catalog', 10]);
});

test('weft validate: a missing path exits 1 with WEFT_ERR_CONFIG_IO; usage mistakes exit 2', async () => {
  const [missing, none, badFlag, badOutput] = await Promise.all([run('no/such/dir'), run(), run('--frobnicate', 'examples/mesh'), run('--output', 'xml', 'examples/mesh')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /WEFT_ERR_CONFIG_IO: config path no\/such\/dir cannot be read/);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /WEFT_ERR_USAGE/);
  assert.equal(badFlag.code, 2);
  assert.equal(badOutput.code, 2);
});
