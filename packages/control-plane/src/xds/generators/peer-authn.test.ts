import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeModel } from '../testing/model-fixture.ts';
import { withPolicies, workload } from '../testing/security-fixture.ts';
import { effectiveMtls } from './peer-authn.ts';

const base = makeModel({ services: [] });
const catalog = workload('shop', { app: 'catalog' });

test('no PeerAuthentication: PERMISSIVE', () => {
  assert.deepEqual(effectiveMtls(base, catalog, 50051), { mode: 'PERMISSIVE' });
});

test('precedence: workload selector > namespace > root namespace; UNSET inherits', () => {
  const mesh: [string, string, unknown] = ['istio-system', 'default', { mtls: { mode: 'STRICT' } }];
  const ns: [string, string, unknown] = ['shop', 'default', { mtls: { mode: 'DISABLE' } }];
  const wl: [string, string, unknown] = ['shop', 'catalog', { selector: { matchLabels: { app: 'catalog' } }, mtls: { mode: 'PERMISSIVE' } }];
  assert.equal(effectiveMtls(withPolicies(base, { peer: [mesh] }), catalog, 1).mode, 'STRICT');
  assert.equal(effectiveMtls(withPolicies(base, { peer: [mesh, ns] }), catalog, 1).mode, 'DISABLE');
  const all = effectiveMtls(withPolicies(base, { peer: [mesh, ns, wl] }), catalog, 1);
  assert.deepEqual(all, { mode: 'PERMISSIVE', decidedBy: 'shop/catalog' });
  // the workload policy selects only app=catalog
  assert.equal(effectiveMtls(withPolicies(base, { peer: [mesh, ns, wl] }), workload('shop', { app: 'ratings' }), 1).mode, 'DISABLE');
  // another namespace sees only the mesh-wide policy
  assert.equal(effectiveMtls(withPolicies(base, { peer: [mesh, ns, wl] }), workload('other', { app: 'catalog' }), 1).mode, 'STRICT');
  // UNSET at namespace level inherits the mesh-wide mode; no mtls at workload level too
  const unsetNs: [string, string, unknown] = ['shop', 'default', { mtls: { mode: 'UNSET' } }];
  const bareWl: [string, string, unknown] = ['shop', 'catalog', { selector: { matchLabels: { app: 'catalog' } } }];
  assert.equal(effectiveMtls(withPolicies(base, { peer: [mesh, unsetNs, bareWl] }), catalog, 1).mode, 'STRICT');
});

test('portLevelMtls overrides the workload mode for that port only', () => {
  const model = withPolicies(base, {
    peer: [
      ['shop', 'default', { mtls: { mode: 'STRICT' } }],
      ['shop', 'catalog', { selector: { matchLabels: { app: 'catalog' } }, mtls: { mode: 'UNSET' }, portLevelMtls: { 8080: { mode: 'DISABLE' }, 9090: { mode: 'UNSET' } } }],
    ],
  });
  assert.equal(effectiveMtls(model, catalog, 8080).mode, 'DISABLE');
  assert.equal(effectiveMtls(model, catalog, 9090).mode, 'STRICT', 'UNSET port mode inherits');
  assert.equal(effectiveMtls(model, catalog, 50051).mode, 'STRICT');
});

test('a root-namespace policy with a selector applies to matching workloads of any namespace', () => {
  const model = withPolicies(base, { peer: [['istio-system', 'catalogs', { selector: { matchLabels: { app: 'catalog' } }, mtls: { mode: 'DISABLE' } }], ['shop', 'default', { mtls: { mode: 'STRICT' } }]] });
  assert.equal(effectiveMtls(model, catalog, 1).mode, 'DISABLE');
  assert.equal(effectiveMtls(model, workload('shop', { app: 'x' }), 1).mode, 'STRICT');
});
