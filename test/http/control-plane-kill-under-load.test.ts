/**
 * End to end: the control plane dies (SIGKILL) while meshed `fetch` traffic is flowing. Requests
 * to the already-resolved host keep using the last good config (no failure, the split holds);
 * when a control plane comes back on the same port with edited config, the client reconnects
 * by itself and the new split takes effect — no restart of the application.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Mesh } from '@weft/core';
import { createMeshDispatcher } from '@weft/http-adapter';
import type { MeshDispatcher } from '@weft/http-adapter';
import { startControlPlane, type ControlPlaneProcess } from '../../packages/control-plane/src/demo/control-plane-process.ts';
import { startUpstream } from '../../packages/http-adapter/test/support.ts';
import type { Upstream } from '../../packages/http-adapter/test/support.ts';
import { serviceEntryYaml, versionSubsetsYaml, virtualServiceYaml, weightedRouteLines, yamlDocuments } from '../support/istio-yaml.ts';

const WEFT = fileURLToPath(new URL('../../packages/control-plane/src/cli/weft.ts', import.meta.url));

let dir: string;
let cp: ControlPlaneProcess | undefined;
let v1: Upstream;
let v2: Upstream;
let mesh: Mesh;
let dispatcher: MeshDispatcher;

function meshYaml(v1Weight: number): string {
  return yamlDocuments(
    serviceEntryYaml({ name: 'reviews', namespace: 'shop', port: 9080, endpoints: [{ port: v1.port, labels: { version: 'v1' } }, { port: v2.port, labels: { version: 'v2' } }] }),
    versionSubsetsYaml('reviews', 'shop', ['v1', 'v2']),
    virtualServiceYaml('reviews', 'shop', `    - route:\n${weightedRouteLines('reviews', { v1: v1Weight, v2: 100 - v1Weight })}`),
  );
}

/** Sends `count` requests, `concurrency` at a time; returns the statuses that were not 200. */
async function load(count: number, concurrency: number, onHalf?: () => Promise<void>): Promise<number[]> {
  const bad: number[] = [];
  let left = count;
  let sent = 0;
  let half: Promise<void> | undefined;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        if (++sent === Math.floor(count / 2) && onHalf) half = onHalf();
        const res = await fetch('http://reviews:9080/reviews/1', { dispatcher } as RequestInit);
        await res.text();
        if (res.status !== 200) bad.push(res.status);
      }
    }),
  );
  await half;
  return bad;
}

function v1Share(): number {
  return (v1.seen.length / (v1.seen.length + v2.seen.length)) * 100;
}

function resetCounts(): void {
  v1.seen.length = 0;
  v2.seen.length = 0;
}

before(async () => {
  v1 = await startUpstream('v1');
  v2 = await startUpstream('v2');
  dir = mkdtempSync(join(tmpdir(), 'weft-cp-kill-'));
  writeFileSync(join(dir, 'mesh.yaml'), meshYaml(90));
  cp = await startControlPlane({ configPaths: [dir], args: ['--debounce-ms', '50'] });
  const bootstrap = execFileSync(process.execPath, [WEFT, 'bootstrap', '--xds-address', cp.xdsAddress, '--namespace', 'shop', '--workload-name', 'cp-kill'], {
    encoding: 'utf8',
  });
  mesh = await Mesh.create({ xdsClientOptions: { bootstrap }, namespace: 'shop' });
  dispatcher = createMeshDispatcher({ mesh, outboundTrafficPolicy: 'REGISTRY_ONLY', firstConfigTimeoutMs: 10_000 });
});

after(async () => {
  await dispatcher?.close();
  await mesh?.close();
  await cp?.stop();
  await v1?.close();
  await v2?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('SIGKILL of the control plane mid-traffic: no request fails, the 90/10 split holds, a restarted control plane is picked up', async () => {
  const running = cp;
  assert.ok(running);
  const xdsPort = Number(running.xdsAddress.split(':').pop());

  await load(20, 4); // resolves the host before the kill
  resetCounts();
  const bad = await load(800, 8, async () => {
    running.child.kill('SIGKILL');
    await new Promise((resolve) => running.child.once('exit', resolve));
    cp = undefined;
  });
  assert.deepEqual(bad, [], 'every request succeeded while the control plane died');
  assert.equal(v1.seen.length + v2.seen.length, 800);
  assert.ok(Math.abs(v1Share() - 90) <= 5, `v1 share ${v1Share()}% with the control plane gone`);

  // Still down: traffic keeps flowing on the last good config.
  resetCounts();
  assert.deepEqual(await load(200, 4), []);
  assert.equal(v1.seen.length + v2.seen.length, 200);

  // A control plane comes back on the same port with a 50/50 split; the client reconnects itself.
  writeFileSync(join(dir, 'mesh.yaml'), meshYaml(50));
  cp = await startControlPlane({ configPaths: [dir], xdsPort, args: ['--debounce-ms', '50'] });
  const deadline = Date.now() + 60_000;
  let share = 100;
  while (Date.now() < deadline) {
    resetCounts();
    assert.deepEqual(await load(200, 8), []);
    share = v1Share();
    if (share < 70) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  resetCounts();
  assert.deepEqual(await load(600, 8), []);
  assert.ok(Math.abs(v1Share() - 50) <= 8, `v1 share ${v1Share()}% after the restarted control plane pushed 50/50`);
});
