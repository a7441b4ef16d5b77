/**
 * AuthorizationPolicy and PeerAuthentication as the control plane translates them
 * (`buildInboundListener`), decoded by the SDK and enforced by core's RBAC engine: the two
 * halves agree on Istio's semantics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, decodeResource, packAny, type Listener } from '@weft/xds-client';
import { compileInboundPolicy, type RbacRequest } from '@weft/core';
import { buildInboundListener } from '../../packages/control-plane/src/xds/generators/inbound-listener.ts';
import { capabilitiesFor } from '../../packages/control-plane/src/xds/client-capabilities.ts';
import { makeModel } from '../../packages/control-plane/src/xds/testing/model-fixture.ts';
import { withPolicies, workload } from '../../packages/control-plane/src/xds/testing/security-fixture.ts';

const PORT = 9080;
const PRODUCTPAGE = 'spiffe://cluster.local/ns/shop/sa/productpage';
const MALLORY = 'spiffe://cluster.local/ns/evil/sa/mallory';

function policyFor(mode: string, authz: [string, string, unknown][]) {
  const model = withPolicies(makeModel({ generation: 1, services: [] }), { peer: [['shop', 'default', { mtls: { mode } }]], authz });
  const name = `xds.istio.io/grpc/lds/inbound/0.0.0.0:${PORT}`;
  const built = buildInboundListener({ model, workload: workload('shop', { app: 'reviews' }, 'reviews'), name, address: '0.0.0.0', port: PORT, caps: capabilitiesFor('weft'), omit: () => {} });
  const decoded = decodeResource(TypeUrl.listener, packAny(TypeUrl.listener, built.message));
  assert.ok(decoded.result.ok, decoded.result.ok ? '' : decoded.result.error);
  return compileInboundPolicy(decoded.result.value as Listener, PORT);
}

const req = (over: Partial<RbacRequest>): RbacRequest => ({ method: 'GET', path: '/reviews/1', headers: {}, authority: 'reviews:9080', principal: PRODUCTPAGE, sourceIp: '10.0.0.7', destinationPort: PORT, ...over });

test('STRICT + ALLOW principals/methods/paths + DENY /admin: the SDK enforces what the control plane meant', () => {
  const policy = policyFor('STRICT', [
    ['shop', 'reviews-viewer', { selector: { matchLabels: { app: 'reviews' } }, action: 'ALLOW', rules: [
      { from: [{ source: { principals: ['cluster.local/ns/shop/sa/productpage'] } }], to: [{ operation: { methods: ['GET'], paths: ['/reviews/*'] } }] },
      { from: [{ source: { notPrincipals: ['*'] } }] },
    ] }],
    ['shop', 'no-admin', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }] }],
  ]);
  assert.equal(policy.mode, 'STRICT');
  assert.equal(policy.plaintextChain, undefined);
  const rbac = policy.tlsChain!.rbac;
  assert.equal(rbac.authorize(req({})), undefined);
  assert.equal(rbac.authorize(req({ method: 'POST' }))?.action, 'ALLOW');
  assert.equal(rbac.authorize(req({ principal: MALLORY }))?.action, 'ALLOW');
  assert.equal(rbac.authorize(req({ path: '/admin/x' }))?.action, 'DENY');
  assert.equal(rbac.authorize(req({ principal: undefined, path: '/anything' })), undefined, 'notPrincipals ["*"] = unauthenticated peers');
});

test('namespaces and ipBlocks; PERMISSIVE gives both chains the same RBAC', () => {
  const policy = policyFor('PERMISSIVE', [
    ['shop', 'ns-only', { selector: { matchLabels: { app: 'reviews' } }, action: 'ALLOW', rules: [
      { from: [{ source: { namespaces: ['shop'] } }] },
      { from: [{ source: { ipBlocks: ['192.168.0.0/16'] } }] },
    ] }],
  ]);
  assert.equal(policy.mode, 'PERMISSIVE');
  for (const chain of [policy.tlsChain!, policy.plaintextChain!]) {
    assert.equal(chain.rbac.authorize(req({})), undefined);
    assert.notEqual(chain.rbac.authorize(req({ principal: MALLORY })), undefined);
    assert.equal(chain.rbac.authorize(req({ principal: undefined, sourceIp: '192.168.3.4' })), undefined);
  }
});

test('an ALLOW policy with no rules denies everything; DISABLE is plaintext only', () => {
  const policy = policyFor('DISABLE', [['shop', 'nothing', { selector: { matchLabels: { app: 'reviews' } }, action: 'ALLOW' }]]);
  assert.equal(policy.mode, 'DISABLE');
  assert.equal(policy.tlsChain, undefined);
  assert.notEqual(policy.plaintextChain!.rbac.authorize(req({})), undefined);
});

test('AUDIT: an RBAC LOG filter that names the matching policy and never changes the decision', () => {
  const policy = policyFor('STRICT', [
    ['shop', 'audit-writes', { selector: { matchLabels: { app: 'reviews' } }, action: 'AUDIT', rules: [{ to: [{ operation: { methods: ['POST', 'DELETE'] } }] }] }],
    ['shop', 'no-delete', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }] }],
  ]);
  const rbac = policy.tlsChain!.rbac;
  assert.equal(rbac.hasAudit, true);
  assert.equal(rbac.audit(req({ method: 'GET' })), undefined);
  assert.equal(rbac.authorize(req({ method: 'GET' })), undefined);
  assert.equal(rbac.audit(req({ method: 'POST' })), 'ns[shop]-policy[audit-writes]-rule[0]');
  assert.equal(rbac.authorize(req({ method: 'POST' })), undefined, 'audited, still allowed');
  assert.equal(rbac.audit(req({ method: 'DELETE' })), 'ns[shop]-policy[audit-writes]-rule[0]');
  assert.equal(rbac.authorize(req({ method: 'DELETE' }))?.action, 'DENY', 'audited and denied by the DENY policy');
});
