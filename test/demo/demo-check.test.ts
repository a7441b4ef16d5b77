/**
 * `npm run demo -- --check` from the outside: a real process that starts the control plane and
 * every example service, asserts every step, stops everything it started and exits 0 by itself;
 * and the same demo interrupted with SIGINT while it starts, which must leave no process behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const WEFT = fileURLToPath(new URL('../../packages/control-plane/src/cli/weft.ts', import.meta.url));

/** Every step line the check prints, in order (the name before ` — `). */
const STEPS = [
  'validate the mesh config',
  'start the control plane',
  'services loaded',
  'routes loaded',
  'control plane ready',
  'a workload receives the routes over xDS',
  'start the example services',
  'every instance is an endpoint of its service',
  'the shop answers (frontend → catalog, inventory, ratings)',
  'gRPC canary 90/10 (frontend → catalog v1/v2)',
  'live config edit: canary 50/50',
  'header routing (end-user: alice → catalog v3)',
  'retries hide the flaky ratings v2',
  'gRPC retries hide UNAVAILABLE from inventory',
  'outlier detection ejects a failing instance',
  'circuit breaker opens under concurrency (503 UO)',
  'local rate limit on catalog (20/s per instance)',
  'fault injection on inventory (50% delay 200 ms, 20% abort)',
  'mTLS STRICT on ratings refuses plaintext',
  'AuthorizationPolicy denies an unlisted caller (403)',
  'Istio metrics on the workloads (/stats/prometheus)',
  'one trace id across frontend → catalog → ratings (access logs)',
  'mesh view (/ui) on the control plane',
];

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of the example services the demo reports. */
function reportedPids(out: string): number[] {
  const m = /start the example services — \d+ processes, pids ([\d ]+)/.exec(out);
  return m?.[1] ? m[1].trim().split(/\s+/).map(Number) : [];
}

/** Pid of the control plane the demo reports. */
function controlPlanePid(out: string): number | undefined {
  const m = /control plane pid (\d+)/.exec(out);
  return m?.[1] ? Number(m[1]) : undefined;
}

function collect(child: ChildProcess): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  return { out: () => out, err: () => err };
}

/** The xDS address the demo's control plane bound (every workload it starts points at it). */
function xdsAddress(out: string): string | undefined {
  return /xDS on (127\.0\.0\.1:\d+)/.exec(out)?.[1];
}

/**
 * Pids of processes whose environment points at `address` as WEFT_XDS_ADDRESS — every process
 * the demo started for the shop, whether or not it printed its pid (Linux /proc; empty elsewhere).
 */
function processesUsing(address: string): number[] {
  if (!existsSync('/proc/self/environ')) return [];
  const needle = `WEFT_XDS_ADDRESS=${address}\0`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

async function waitNoneUsing(address: string, timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = processesUsing(address);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitGone(pids: readonly number[], timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('weft demo --check runs every step, prints one line each, exits 0 and leaves no process', { timeout: 170_000 }, async () => {
  const child = spawn(process.execPath, [WEFT, 'demo', '--check'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const io = collect(child);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const out = io.out();
  assert.equal(code, 0, `demo --check failed:\n${out}\n${io.err()}`);
  const stepLines = out.split('\n').filter((l) => /^[✔✘○] /.test(l));
  assert.deepEqual(stepLines.map((l) => l.slice(2).split(' — ')[0]), STEPS, out);
  assert.ok(stepLines.every((l) => l.startsWith('✔')), out); // none failed, none pending
  assert.match(out, /start the control plane — xDS on 127\.0\.0\.1:\d+, admin on http:\/\/127\.0\.0\.1:\d+/);
  assert.match(out, /gRPC canary 90\/10 .* — 200 calls: v1 \d+ \([\d.]+%\), v2 \d+/);
  assert.match(out, /header routing .* — alice: v3 40 \(100\.0%\)/);
  assert.match(out, /circuit breaker .* \d+× 503 UO/);
  assert.match(out, /local rate limit .* [1-9]\d* rate limited/);
  assert.match(out, /every instance is an endpoint .* — 7 instances registered themselves/);
  assert.match(out, /mTLS STRICT .* plaintext GET [\d.:]+ → refused \(\w+\).* [1-9]\d*× over mutual_tls, 0× otherwise/);
  assert.match(out, /peer identity ratings-v1 verified: spiffe:\/\/cluster\.local\/ns\/shop\/sa\/frontend/);
  assert.match(out, /AuthorizationPolicy .* → 403 "RBAC: access denied"/);
  assert.match(out, /Istio metrics .* reporter="source" [1-9]\d* \(200: [1-9]\d*.*reporter="destination" [1-9]\d* \(200: [1-9]\d*/);
  assert.match(out, /one trace id .* trace_id [0-9a-f]{32} in 3 services' access logs \(frontend, catalog, ratings\)/);
  assert.match(out, /mesh view .* \/debug\/graph: \d+ edges/);
  assert.match(out, /\d+ passed, 0 failed\n/);
  const pids = reportedPids(out);
  assert.equal(pids.length, 7, out);
  const cpPid = controlPlanePid(out);
  assert.ok(cpPid, out);
  assert.deepEqual(await waitGone([...pids, cpPid]), [], 'every example service and the control plane stopped');
  assert.deepEqual(await waitNoneUsing(xdsAddress(out) ?? '?'), [], 'no process of the demo is left');
});

test('weft demo interrupted with SIGINT while starting stops every process it started', { timeout: 120_000 }, async () => {
  const child = spawn(process.execPath, [WEFT, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const io = collect(child);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const deadline = Date.now() + 90_000;
  while (reportedPids(io.out()).length === 0 && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const pids = reportedPids(io.out());
  assert.equal(pids.length, 7, `${io.out()}\n${io.err()}`);
  const cpPid = controlPlanePid(io.out());
  assert.ok(cpPid, io.out());
  assert.ok(isAlive(cpPid) && pids.every(isAlive), 'all running before the signal');
  child.kill('SIGINT');
  const code = await exited;
  assert.equal(code, 130, io.out());
  assert.deepEqual(await waitGone([...pids, cpPid]), [], 'every example service and the control plane stopped');
  assert.deepEqual(await waitNoneUsing(xdsAddress(io.out()) ?? '?'), [], 'no process of the demo is left');
});

test('weft demo interrupted with SIGINT while the services are being spawned leaves no process', { timeout: 120_000 }, async () => {
  const child = spawn(process.execPath, [WEFT, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const io = collect(child);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const deadline = Date.now() + 90_000;
  while (controlPlanePid(io.out()) === undefined && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const cpPid = controlPlanePid(io.out());
  const address = xdsAddress(io.out());
  assert.ok(cpPid && address, `${io.out()}\n${io.err()}`);
  child.kill('SIGINT');
  assert.equal(await exited, 130, io.out());
  assert.deepEqual(await waitGone([cpPid]), [], 'the control plane stopped');
  assert.deepEqual(await waitNoneUsing(address), [], 'no example service is left');
});
