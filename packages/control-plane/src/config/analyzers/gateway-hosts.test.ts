import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../validate-config.ts';
import type { Finding } from '../../model/mesh-model.ts';

async function ist0132(...docs: string[]): Promise<Finding[]> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-ist0132-'));
  try {
    await writeFile(join(dir, 'mesh.yaml'), docs.join('\n---\n'));
    return (await validateConfig([dir])).findings.filter((f) => f.code === 'IST0132');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const gateway = (hosts: string) => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: testing-gateway, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: 80, name: http, protocol: HTTP }
      hosts: ${hosts}
`;
const vs = (hosts: string, gateways = '[istio-system/testing-gateway]', ns = 'default') => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: testing-service, namespace: ${ns} }
spec:
  gateways: ${gateways}
  hosts: ${hosts}
  http:
    - route: [{ destination: { host: ratings } }]
`;

test('IST0132: a VirtualService host its Gateway does not serve is a warning naming host and gateway, at the gateways field', async () => {
  const fs = await ist0132(gateway('[testing.com]'), vs('[wrong.com, testing.com]'));
  assert.equal(fs.length, 1);
  assert.equal(fs[0]!.level, 'warning');
  assert.equal(fs[0]!.field, 'spec.gateways[0]');
  assert.equal(fs[0]!.position?.line, 15); // the VirtualService's `gateways:` line
  assert.match(fs[0]!.message, /host \[wrong\.com\] defined in VirtualService default\/testing-service not found in Gateway istio-system\/testing-gateway/);
});

test('IST0132: wildcards on either side, namespace-qualified server hosts, mesh and missing gateways', async () => {
  assert.deepEqual(await ist0132(gateway('["*"]'), vs('[wrong.com]')), []);
  assert.deepEqual(await ist0132(gateway('["*.example.com"]'), vs('[a.example.com]')), []);
  assert.deepEqual(await ist0132(gateway('[a.example.com]'), vs('["*.example.com"]')), []);
  assert.deepEqual(await ist0132(gateway('["default/a.example.com"]'), vs('[a.example.com]')), []);
  assert.equal((await ist0132(gateway('["other/a.example.com"]'), vs('[a.example.com]'))).length, 1, 'the server only admits VirtualServices of namespace other');
  assert.equal((await ist0132(gateway('["./a.example.com"]'), vs('[a.example.com]'))).length, 1, '"." is the gateway namespace');
  assert.deepEqual(await ist0132(gateway('[testing.com]'), vs('[wrong.com]', '[mesh]')), []);
  assert.deepEqual(await ist0132(vs('[wrong.com]', '[missing]')), [], 'a missing gateway is IST0101, not IST0132');
});
