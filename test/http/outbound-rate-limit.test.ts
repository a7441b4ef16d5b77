/**
 * End to end: a SIDECAR_OUTBOUND local-rate-limit EnvoyFilter (Istio's documented pattern) in the
 * caller's namespace, served by a real `weft control-plane`, limits what a meshed `fetch` sends:
 * exactly the bucket's tokens are admitted, the rest answer 429 locally without reaching the
 * upstream.
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
import { localRateLimitEnvoyFilterYaml, serviceEntryYaml, yamlDocuments } from '../support/istio-yaml.ts';

const TOKENS = 5;

let dir: string;
let upstream: Upstream;
let client: MeshedHttpClient | undefined;
let dispatcher: MeshDispatcher;

// One bucket of TOKENS that refills only after an hour: the admitted count is exact.
const OUTBOUND_LIMIT = localRateLimitEnvoyFilterYaml({ name: 'limit-calls', namespace: 'shop', context: 'SIDECAR_OUTBOUND', tokens: TOKENS, fillInterval: '3600s' });

before(async () => {
  upstream = await startUpstream('reviews');
  dir = mkdtempSync(join(tmpdir(), 'weft-outbound-rl-'));
  writeFileSync(join(dir, 'mesh.yaml'), yamlDocuments(serviceEntryYaml({ name: 'reviews', namespace: 'shop', port: 9080, endpoints: [{ port: upstream.port }] }), OUTBOUND_LIMIT));
  client = await startMeshedHttpClient(dir, { namespace: 'shop', workloadName: 'outbound-rl' });
  dispatcher = client.dispatcher;
});

after(async () => {
  await client?.close();
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(`SIDECAR_OUTBOUND local rate limit from the control plane: exactly ${TOKENS} of 12 calls admitted, the rest 429 RL without reaching the upstream`, async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) {
    const res = await fetch('http://reviews:9080/r', { dispatcher } as RequestInit);
    await res.text();
    statuses.push(res.status);
    if (res.status === 429) {
      assert.equal(res.headers.get('x-envoy-ratelimited'), 'true');
      assert.equal(res.headers.get('x-weft-response-flags'), 'RL');
    }
  }
  assert.equal(statuses.filter((s) => s === 200).length, TOKENS, `statuses ${statuses.join(',')}`);
  assert.equal(statuses.filter((s) => s === 429).length, 12 - TOKENS);
  assert.equal(upstream.seen.length, TOKENS, 'rejected calls never reached the upstream');
});
