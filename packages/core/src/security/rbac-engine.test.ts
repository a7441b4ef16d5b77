/**
 * The RBAC engine against Istio-shaped policies (what the control plane's AuthorizationPolicy
 * translation emits): principals, namespaces as regex, paths, methods, ports, ipBlocks, not*,
 * DENY before ALLOW, and ALLOW with no policy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RbacFilterConfig, RbacPermission, RbacPolicy, RbacPrincipal, StringMatcher } from '@weft/xds-client';
import { compileRbacChain, compileRbacFilter, createAccessDeniedError, type RbacRequest } from './rbac-engine.ts';

const exact = (value: string): StringMatcher => ({ type: 'exact', value, ignoreCase: false });
const prefix = (value: string): StringMatcher => ({ type: 'prefix', value, ignoreCase: false });
const regex = (r: string): StringMatcher => ({ type: 'safeRegex', regex: r });
const principalIs = (id: string): RbacPrincipal => ({ type: 'authenticated', principalName: exact(id) });
const namespaceIs = (ns: string): RbacPrincipal => ({ type: 'authenticated', principalName: regex(`.*/ns/${ns}/.*`) });
const method = (m: string): RbacPermission => ({ type: 'header', header: { name: ':method', match: exact(m), invertMatch: false, treatMissingHeaderAsEmpty: false } });
const path = (m: StringMatcher): RbacPermission => ({ type: 'urlPath', path: m });
const and = (...rules: RbacPermission[]): RbacPermission => ({ type: 'and', rules });
const ipBlock = (addressPrefix: string, prefixLen: number): RbacPrincipal => ({ type: 'directRemoteIp', cidr: { addressPrefix, prefixLen } });

function filter(action: 'ALLOW' | 'DENY', policies: Record<string, RbacPolicy>): RbacFilterConfig {
  return { rules: { action, policies: new Map(Object.entries(policies)) } };
}

const CART = 'spiffe://cluster.local/ns/shop/sa/cart';
const EVIL = 'spiffe://cluster.local/ns/evil/sa/mallory';

function req(over: Partial<RbacRequest> = {}): RbacRequest {
  return { method: 'GET', path: '/api/items?x=1', headers: {}, authority: 'reviews:9080', principal: CART, sourceIp: '10.1.2.3', destinationPort: 9080, ...over };
}

test('ALLOW: principal + method + path prefix; query strings do not affect url_path', () => {
  const f = compileRbacFilter('allow', filter('ALLOW', { 'ns[shop]-policy[p]-rule[0]': { permissions: [and(method('GET'), path(prefix('/api/')))], principals: [principalIs(CART)] } }));
  assert.equal(f.check(req()), undefined);
  assert.equal(f.check(req({ method: 'POST' }))?.action, 'ALLOW');
  assert.equal(f.check(req({ path: '/admin?/api/' }))?.action, 'ALLOW');
  assert.equal(f.check(req({ principal: EVIL }))?.action, 'ALLOW');
  assert.equal(f.check(req({ principal: undefined })) !== undefined, true, 'plaintext peers have no principal');
});

test('namespaces match by regex on the principal; notNamespaces through not_id', () => {
  const f = compileRbacFilter('allow', filter('ALLOW', {
    r: { permissions: [{ type: 'any' }], principals: [{ type: 'and', ids: [namespaceIs('shop'), { type: 'not', id: principalIs('spiffe://cluster.local/ns/shop/sa/intern') }] }] },
  }));
  assert.equal(f.check(req()), undefined);
  assert.notEqual(f.check(req({ principal: EVIL })), undefined);
  assert.notEqual(f.check(req({ principal: 'spiffe://cluster.local/ns/shop/sa/intern' })), undefined);
});

test('ports and ipBlocks (IPv4-mapped peers match IPv4 ranges)', () => {
  const f = compileRbacFilter('allow', filter('ALLOW', {
    r: { permissions: [{ type: 'destinationPort', port: 9080 }], principals: [ipBlock('10.1.0.0', 16)] },
  }));
  assert.equal(f.check(req()), undefined);
  assert.equal(f.check(req({ sourceIp: '::ffff:10.1.200.1' })), undefined);
  assert.notEqual(f.check(req({ sourceIp: '10.2.0.1' })), undefined);
  assert.notEqual(f.check(req({ destinationPort: 9081 })), undefined);
  assert.notEqual(f.check(req({ sourceIp: undefined })), undefined);
});

test('DENY matches reject with the policy name; DENY runs before ALLOW', () => {
  const chain = compileRbacChain([
    { name: 'envoy.filters.http.rbac', rbac: filter('DENY', { 'deny-admin': { permissions: [path(prefix('/admin'))], principals: [{ type: 'any' }] } }) },
    { name: 'envoy.filters.http.rbac.allow', rbac: filter('ALLOW', { all: { permissions: [{ type: 'any' }], principals: [namespaceIs('shop')] } }) },
  ]);
  assert.equal(chain.authorize(req()), undefined);
  const denied = chain.authorize(req({ path: '/admin/users' }));
  assert.deepEqual(denied, { filterName: 'envoy.filters.http.rbac', action: 'DENY', policyName: 'deny-admin' });
  assert.equal(chain.authorize(req({ principal: EVIL }))?.action, 'ALLOW');
  const err = createAccessDeniedError(denied!, req({ path: '/admin/users' }));
  assert.equal(err.code, 'WEFT_ERR_ACCESS_DENIED');
  assert.match(err.message, /RBAC: access denied/);
});

test('an ALLOW filter with no policies denies everything; LOG and missing rules deny nothing', () => {
  assert.equal(compileRbacChain([{ name: 'a', rbac: filter('ALLOW', {}) }]).authorize(req())?.action, 'ALLOW');
  const none = compileRbacChain([{ name: 'l', rbac: filter('DENY', {}) }, { name: 'n', rbac: {} }, { name: 'log', rbac: { rules: { action: 'LOG', policies: new Map([['x', { permissions: [{ type: 'any' }], principals: [{ type: 'any' }] }]]) } } }]);
  assert.equal(none.authorize(req()), undefined);
  assert.equal(compileRbacChain([{ name: 'n', rbac: {} }]).isPermissive, true);
});

test('headers (case-insensitive host, present match) and not_rule (notPaths)', () => {
  const f = compileRbacFilter('allow', filter('ALLOW', {
    r: {
      permissions: [and({ type: 'header', header: { name: ':authority', match: { type: 'prefix', value: 'REVIEWS', ignoreCase: true }, invertMatch: false, treatMissingHeaderAsEmpty: false } }, { type: 'not', rule: path(exact('/private')) })],
      principals: [{ type: 'header', header: { name: 'x-token', match: { type: 'present', present: true }, invertMatch: false, treatMissingHeaderAsEmpty: false } }],
    },
  }));
  assert.equal(f.check(req({ headers: { 'x-token': 'a' } })), undefined);
  assert.notEqual(f.check(req()), undefined);
  assert.notEqual(f.check(req({ headers: { 'x-token': 'a' }, path: '/private' })), undefined);
  assert.notEqual(f.check(req({ headers: { 'x-token': 'a' }, authority: 'ratings:9080' })), undefined);
});

test('an invalid regex is a WEFT_ERR_XDS_INVALID naming the policy', () => {
  assert.throws(() => compileRbacFilter('f', filter('ALLOW', { bad: { permissions: [{ type: 'any' }], principals: [{ type: 'authenticated', principalName: regex('(') }] } })), (e: { code: string; message: string }) => e.code === 'WEFT_ERR_XDS_INVALID' && e.message.includes('bad'));
});
