import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, unpackAny } from '@weft/xds-client';
import type { Omission } from '../client-capabilities.ts';
import { makeModel } from '../testing/model-fixture.ts';
import { withPolicies, workload } from '../testing/security-fixture.ts';
import { buildWorkloadRbac } from './authz.ts';
import { packResource } from './pack.ts';

type Msg = Record<string, any>;
const base = makeModel({ services: [] });
const ratings = workload('shop', { app: 'ratings' }, 'ratings');

const ONEOF_NAMES = new Set(['identifier', 'rule', 'match_pattern', 'header_match_specifier', 'engine_type']);

/** Drops decoder artefacts (oneof names, `false` defaults, empty maps) so messages compare by content. */
function clean(v: unknown): any {
  if (Array.isArray(v)) return v.map(clean);
  if (!v || typeof v !== 'object') return v;
  const out: Msg = {};
  for (const [k, x] of Object.entries(v)) {
    if (ONEOF_NAMES.has(k) && typeof x === 'string') continue;
    if (x === false) continue;
    out[k] = clean(x);
  }
  if (out.rules && typeof out.rules === 'object' && 'action' in out.rules) out.rules.policies ??= {};
  return out;
}

/** The RBAC message after an encode/decode round trip through Envoy's own proto. */
function roundTrip(m: Msg | undefined): Msg {
  assert.ok(m, 'filter expected');
  return clean(unpackAny(packResource(TypeUrl.rbac, m)));
}

function rbac(authz: [string, string, unknown][], w = ratings) {
  const omissions: Omission[] = [];
  const out = buildWorkloadRbac(withPolicies(base, { authz }), w, 'inbound', (o) => omissions.push(o));
  return { ...out, omissions };
}

test('scenario 07: ALLOW GET from frontend’s identity → one policy, principal as spiffe URI, :method header', () => {
  const { allow, deny, omissions } = rbac([['shop', 'ratings-viewer', {
    selector: { matchLabels: { app: 'ratings' } }, action: 'ALLOW',
    rules: [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/frontend'] } }], to: [{ operation: { methods: ['GET'] } }] }],
  }]]);
  assert.equal(deny, undefined);
  assert.deepEqual(omissions, []);
  const decoded = roundTrip(allow);
  assert.equal(decoded.rules.action, 'ALLOW');
  const policy = decoded.rules.policies['ns[shop]-policy[ratings-viewer]-rule[0]'];
  assert.deepEqual(policy.principals, [{ authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/shop/sa/frontend' } } }]);
  assert.equal(policy.permissions[0].header.name, ':method');
  assert.equal(policy.permissions[0].header.string_match.exact, 'GET');
});

test('selectors: another workload is not selected; namespace-wide and root-namespace policies are', () => {
  const authz: [string, string, unknown][] = [
    ['shop', 'only-ratings', { selector: { matchLabels: { app: 'ratings' } }, action: 'DENY', rules: [{}] }],
    ['shop', 'ns-wide', { action: 'ALLOW', rules: [{}] }],
    ['istio-system', 'mesh-wide', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin/*'] } }] }] }],
    ['other', 'elsewhere', { action: 'DENY', rules: [{}] }],
  ];
  const r = roundTrip(rbac(authz, workload('shop', { app: 'catalog' })).deny);
  assert.deepEqual(Object.keys(r.rules.policies), ['ns[istio-system]-policy[mesh-wide]-rule[0]']);
  assert.deepEqual(r.rules.policies['ns[istio-system]-policy[mesh-wide]-rule[0]'].permissions, [{ url_path: { path: { prefix: '/admin/' } } }]);
  const forRatings = rbac(authz);
  assert.deepEqual(Object.keys(roundTrip(forRatings.deny).rules.policies).sort(), ['ns[istio-system]-policy[mesh-wide]-rule[0]', 'ns[shop]-policy[only-ratings]-rule[0]']);
  assert.deepEqual(roundTrip(forRatings.allow).rules.policies['ns[shop]-policy[ns-wide]-rule[0]'], { permissions: [{ any: true }], principals: [{ any: true }] });
});

test('empty rules in ALLOW and spec {} allow nothing (an ALLOW filter without policies); DENY without rules denies nothing', () => {
  assert.deepEqual(roundTrip(rbac([['shop', 'nothing', { action: 'ALLOW' }]]).allow).rules, { action: 'ALLOW', policies: {} });
  assert.deepEqual(roundTrip(rbac([['shop', 'deny-all', {}]]).allow).rules, { action: 'ALLOW', policies: {} });
  const d = rbac([['shop', 'no-rules', { action: 'DENY' }]]);
  assert.equal(d.allow, undefined);
  assert.deepEqual(roundTrip(d.deny).rules.policies, {});
});

test('operation fields: hosts, ports, methods, paths (exact, prefix, suffix, *) and their not-forms', () => {
  const { allow } = rbac([['shop', 'ops', {
    rules: [{ to: [{ operation: { hosts: ['ratings.shop', '*.example.com'], ports: ['9080'], notMethods: ['DELETE'], paths: ['/pkg.Ratings/Get', '/api/*', '*.js'], notPaths: ['/api/private'] } }] }],
  }]]);
  const p = roundTrip(allow).rules.policies['ns[shop]-policy[ops]-rule[0]'];
  const rules = p.permissions[0].and_rules.rules;
  assert.equal(rules.length, 5);
  const [exactHost, wildcardHost] = rules[0].or_rules.rules;
  assert.deepEqual(exactHost.or_rules.rules.map((r: Msg) => r.header.string_match), [{ exact: 'ratings.shop', ignore_case: true }, { prefix: 'ratings.shop:', ignore_case: true }], 'with or without a port');
  assert.deepEqual(wildcardHost.header.string_match, { suffix: '.example.com', ignore_case: true });
  assert.deepEqual(rules[1], { destination_port: 9080 });
  assert.equal(rules[2].not_rule.header.string_match.exact, 'DELETE');
  assert.deepEqual(rules[3].or_rules.rules.map((r: Msg) => r.url_path.path), [
    { exact: '/pkg.Ratings/Get' }, { prefix: '/api/' }, { suffix: '.js' },
  ]);
  assert.deepEqual(rules[4], { not_rule: { url_path: { path: { exact: '/api/private' } } } });
});

test('source fields: principals forms, namespaces, ipBlocks, remoteIpBlocks, not-forms; from[] are OR-ed', () => {
  const { allow } = rbac([['shop', 'src', {
    rules: [{ from: [
      { source: { principals: ['*'], notPrincipals: ['cluster.local/ns/shop/sa/bad'], namespaces: ['shop'], notNamespaces: ['dev'] } },
      { source: { ipBlocks: ['10.0.0.0/8', '127.0.0.1'], remoteIpBlocks: ['192.168.1.0/24'], principals: ['cluster.local/ns/a/*', '*/sa/admin'] } },
    ] }],
  }]]);
  const p = roundTrip(allow).rules.policies['ns[shop]-policy[src]-rule[0]'];
  assert.equal(p.principals.length, 2);
  const first = p.principals[0].and_ids.ids;
  assert.deepEqual(first[0].authenticated.principal_name.safe_regex.regex, '.+');
  assert.equal(first[1].not_id.authenticated.principal_name.exact, 'spiffe://cluster.local/ns/shop/sa/bad');
  assert.equal(first[2].authenticated.principal_name.safe_regex.regex, '.*/ns/shop/.*');
  assert.equal(first[3].not_id.authenticated.principal_name.safe_regex.regex, '.*/ns/dev/.*');
  const second = p.principals[1].and_ids.ids;
  assert.deepEqual(second[0].or_ids.ids.map((i: Msg) => i.authenticated.principal_name), [{ prefix: 'spiffe://cluster.local/ns/a/' }, { suffix: '/sa/admin' }]);
  assert.deepEqual(second[1].or_ids.ids.map((i: Msg) => i.direct_remote_ip), [{ address_prefix: '10.0.0.0', prefix_len: { value: 8 } }, { address_prefix: '127.0.0.1', prefix_len: { value: 32 } }]);
  assert.deepEqual(second[2].remote_ip, { address_prefix: '192.168.1.0', prefix_len: { value: 24 } });
});

test('when conditions are AND-ed into every permission / principal', () => {
  const { allow, omissions } = rbac([['shop', 'when', {
    rules: [{
      to: [{ operation: { methods: ['GET'] } }, { operation: { methods: ['POST'] } }],
      when: [
        { key: 'request.headers[X-Canary]', values: ['yes'] },
        { key: 'source.ip', notValues: ['10.1.0.0/16'] },
        { key: 'source.namespace', values: ['shop'] },
        { key: 'source.principal', values: ['cluster.local/ns/shop/sa/frontend'] },
        { key: 'destination.port', values: ['9080', '9081'] },
      ],
    }],
  }]]);
  assert.deepEqual(omissions, []);
  const p = roundTrip(allow).rules.policies['ns[shop]-policy[when]-rule[0]'];
  assert.equal(p.permissions.length, 2, 'one permission per to[]');
  for (const perm of p.permissions) assert.deepEqual(perm.and_rules.rules[1], { or_rules: { rules: [{ destination_port: 9080 }, { destination_port: 9081 }] } });
  const ids = p.principals[0].and_ids.ids;
  assert.deepEqual(ids[0].header, { name: 'x-canary', string_match: { exact: 'yes' } });
  assert.deepEqual(ids[1].not_id.direct_remote_ip, { address_prefix: '10.1.0.0', prefix_len: { value: 16 } });
  assert.equal(ids[2].authenticated.principal_name.safe_regex.regex, '.*/ns/shop/.*');
  assert.equal(ids[3].authenticated.principal_name.exact, 'spiffe://cluster.local/ns/shop/sa/frontend');
});

test('unsupported fields: an ALLOW rule holding them is left out, a DENY rule drops only them; AUDIT becomes an RBAC LOG filter; CUSTOM is an omission', () => {
  const r = rbac([
    ['shop', 'jwt-allow', { rules: [{ from: [{ source: { requestPrincipals: ['issuer/subject'] } }] }, { to: [{ operation: { methods: ['GET'] } }] }] }],
    ['shop', 'jwt-deny', { action: 'DENY', rules: [{ from: [{ source: { requestPrincipals: ['*'] } }], to: [{ operation: { paths: ['/admin'] } }], when: [{ key: 'request.auth.claims[group]', values: ['x'] }] }] }],
    ['shop', 'audit', { action: 'AUDIT', rules: [{}] }],
    ['shop', 'ext', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{}] }],
  ]);
  assert.deepEqual(Object.keys(roundTrip(r.allow).rules.policies), ['ns[shop]-policy[jwt-allow]-rule[1]']);
  const deny = roundTrip(r.deny).rules.policies['ns[shop]-policy[jwt-deny]-rule[0]'];
  assert.deepEqual(deny, { permissions: [{ url_path: { path: { exact: '/admin' } } }], principals: [{ any: true }] });
  const fields = r.omissions.map((o) => o.field);
  assert.ok(fields.some((f) => f.includes('jwt-allow') && f.includes('requestPrincipals')));
  assert.ok(fields.some((f) => f.includes('jwt-deny') && f.includes('when[0]')));
  assert.ok(!fields.some((f) => f.includes('shop/audit')), 'AUDIT is translated, not omitted');
  const audit = roundTrip(r.audit).rules;
  assert.equal(audit.action, 'LOG');
  assert.deepEqual(Object.keys(audit.policies), ['ns[shop]-policy[audit]-rule[0]']);
  assert.ok(fields.some((f) => f.includes('shop/ext')));
  assert.ok(r.omissions.every((o) => o.type === 'listener' && o.resource === 'inbound'));
});
