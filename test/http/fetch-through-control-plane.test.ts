/**
 * End to end: global `fetch` with the Weft mesh dispatcher, fed by a real `weft control-plane`
 * process serving plain Istio YAML over ADS. Counts what the two upstreams actually saw.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MeshDispatcher } from '@weft/http-adapter';
import { startMeshedHttpClient, type MeshedHttpClient } from '../support/meshed-http-client.ts';
import { startUpstream } from '../../packages/http-adapter/test/support.ts';
import type { Upstream } from '../../packages/http-adapter/test/support.ts';
import { serviceEntryYaml, versionSubsetsYaml, virtualServiceYaml, weightedRouteLines, yamlDocuments } from '../support/istio-yaml.ts';

let dir: string;
let v1: Upstream;
let v2: Upstream;
let client: MeshedHttpClient | undefined;
let dispatcher: MeshDispatcher;

function meshYaml(): string {
  return yamlDocuments(
    serviceEntryYaml({ name: 'reviews', namespace: 'shop', port: 9080, endpoints: [{ port: v1.port, labels: { version: 'v1' } }, { port: v2.port, labels: { version: 'v2' } }] }),
    versionSubsetsYaml('reviews', 'shop', ['v1', 'v2']),
    virtualServiceYaml(
      'reviews',
      'shop',
      `    - match: [{ headers: { end-user: { exact: jason } } }]
      route: [{ destination: { host: reviews, subset: v2 } }]
    - route:
${weightedRouteLines('reviews', { v1: 90, v2: 10 })}`,
    ),
  );
}

before(async () => {
  v1 = await startUpstream('v1');
  v2 = await startUpstream('v2');
  dir = mkdtempSync(join(tmpdir(), 'weft-http-'));
  writeFileSync(join(dir, 'mesh.yaml'), meshYaml());
  client = await startMeshedHttpClient(dir, { namespace: 'shop', workloadName: 'http-e2e' });
  dispatcher = client.dispatcher;
});

after(async () => {
  await client?.close();
  await v1?.close();
  await v2?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('global fetch through the mesh: header route to v2 and a 90/10 split over 1,000 requests (±4 points)', async () => {
  const jason = await fetch('http://reviews:9080/reviews/1', { dispatcher, headers: { 'end-user': 'jason' } } as RequestInit);
  assert.equal(await jason.text(), 'v2');
  v2.seen.length = 0;
  let left = 1000;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (left-- > 0) {
        const res = await fetch('http://reviews:9080/reviews/1', { dispatcher } as RequestInit);
        assert.equal(res.status, 200);
        await res.text();
      }
    }),
  );
  const share = (v1.seen.length / (v1.seen.length + v2.seen.length)) * 100;
  assert.equal(v1.seen.length + v2.seen.length, 1000);
  assert.ok(Math.abs(share - 90) <= 4, `v1 share ${share}%`);
});

test('REGISTRY_ONLY: a host the control plane does not know fails with WEFT_ERR_UNKNOWN_HOST', async () => {
  await assert.rejects(fetch('http://nowhere:9080/', { dispatcher } as RequestInit), (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'WEFT_ERR_UNKNOWN_HOST');
});
