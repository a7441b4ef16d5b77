import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRouteTable } from './route-table.ts';
import { headerMatcher, route, routeAction, routeConfig, routeMatch, virtualHost } from '../internal/xds-fixtures.ts';
import { seededRandom } from '../internal/seeded-random.ts';
import { binomialTolerance, chiSquare, chiSquareCritical1e6 } from '../internal/test-support.ts';
import type { RequestFacts } from './request-facts.ts';
import type { HeaderMatcher, PathMatch, QueryParameterMatcher, RouteMatch } from '@weft/xds-client';

const req = (path: string, headers: RequestFacts['headers'] = {}, method = 'GET'): RequestFacts => ({ path, headers, method });
const catchAll = routeMatch({ type: 'prefix', prefix: '/' });

test('domain matching precedence: exact, longest *.suffix, longest prefix.*, then *', () => {
  const vh = (name: string, domains: string[]) => virtualHost(name, domains, [route(name, catchAll, routeAction(name))]);
  const table = compileRouteTable(
    routeConfig('rc', [
      vh('any', ['*']),
      vh('prefix-short', ['api.*']),
      vh('prefix-long', ['api.example.*']),
      vh('suffix-short', ['*.com']),
      vh('suffix-long', ['*.example.com']),
      vh('exact', ['www.example.com', 'reviews', 'reviews:9080']),
    ]),
  );
  const vhName = (authority: string) => table.virtualHostFor(authority)?.spec.name;
  assert.equal(vhName('www.example.com'), 'exact');
  assert.equal(vhName('WWW.Example.COM'), 'exact', 'case-insensitive');
  assert.equal(vhName('a.example.com'), 'suffix-long');
  assert.equal(vhName('a.other.com'), 'suffix-short');
  assert.equal(vhName('api.example.org'), 'prefix-long', 'suffix wins only when it matches; prefix longest first');
  assert.equal(vhName('api.other.org'), 'prefix-short');
  assert.equal(vhName('api.example.com'), 'suffix-long', 'suffix wildcards beat prefix wildcards');
  assert.equal(vhName('elsewhere.org'), 'any');
  assert.equal(vhName('reviews:9080'), 'exact');
  assert.equal(vhName('www.example.com:8443'), 'exact', 'port stripped when host:port matches nothing');
  assert.equal(vhName('.com'), 'any', 'a wildcard stands for at least one character');
  const noCatchAll = compileRouteTable(routeConfig('rc', [vh('exact', ['a.b'])]));
  assert.equal(noCatchAll.virtualHostFor('c.d'), undefined);
});

function firstMatch(matches: RouteMatch[], r: RequestFacts): number | undefined {
  const routes = matches.map((m, i) => route(`r${i}`, m, routeAction(`c${i}`)));
  const table = compileRouteTable(routeConfig('rc', [virtualHost('vh', ['*'], routes)]));
  return table.match('host', r)?.index;
}

test('routes match in order; path exact, prefix, separated prefix, regex; case sensitivity', () => {
  const path = (p: PathMatch, extra: Partial<RouteMatch> = {}) => routeMatch(p, extra);
  const m = [
    path({ type: 'path', path: '/exact' }),
    path({ type: 'pathSeparatedPrefix', prefix: '/sep' }),
    path({ type: 'safeRegex', regex: '/items/[0-9]+' }),
    path({ type: 'prefix', prefix: '/CI' }, { caseSensitive: false }),
    path({ type: 'path', path: '/Exact-CI' }, { caseSensitive: false }),
    path({ type: 'prefix', prefix: '/api' }),
    path({ type: 'prefix', prefix: '/' }),
  ];
  assert.equal(firstMatch(m, req('/exact')), 0);
  assert.equal(firstMatch(m, req('/exact?x=1')), 0, 'query string ignored by path matching');
  assert.equal(firstMatch(m, req('/exact/more')), 6);
  assert.equal(firstMatch(m, req('/EXACT')), 6, 'case-sensitive by default');
  assert.equal(firstMatch(m, req('/sep')), 1);
  assert.equal(firstMatch(m, req('/sep/x')), 1);
  assert.equal(firstMatch(m, req('/sep?q')), 1);
  assert.equal(firstMatch(m, req('/separate')), 6, 'separated prefix needs a / boundary');
  assert.equal(firstMatch(m, req('/items/42')), 2);
  assert.equal(firstMatch(m, req('/items/42x')), 6, 'regex matches the whole path');
  assert.equal(firstMatch(m, req('/ci/thing')), 3);
  assert.equal(firstMatch(m, req('/exact-ci')), 4);
  assert.equal(firstMatch(m, req('/api/v1')), 5);
  assert.equal(firstMatch([path({ type: 'prefix', prefix: '/api' })], req('/other')), undefined);
});

test('header matchers: exact, prefix, suffix, contains, regex, present, range, invert, missing', () => {
  const one = (h: HeaderMatcher, headers: RequestFacts['headers'], method?: string) =>
    firstMatch([routeMatch({ type: 'prefix', prefix: '/' }, { headers: [h] })], req('/', headers, method)) === 0;
  const s = (type: 'exact' | 'prefix' | 'suffix' | 'contains', value: string, ignoreCase = false) => ({ type, value, ignoreCase });
  assert.ok(one(headerMatcher('x-user', s('exact', 'jason')), { 'x-user': 'jason' }));
  assert.ok(!one(headerMatcher('x-user', s('exact', 'jason')), { 'x-user': 'Jason' }));
  assert.ok(one(headerMatcher('x-user', s('exact', 'jason', true)), { 'x-user': 'JASON' }));
  assert.ok(one(headerMatcher('x-user', s('prefix', 'ja')), { 'x-user': 'jason' }));
  assert.ok(one(headerMatcher('x-user', s('suffix', 'son')), { 'x-user': 'jason' }));
  assert.ok(one(headerMatcher('x-user', s('contains', 'aso')), { 'x-user': 'jason' }));
  assert.ok(!one(headerMatcher('x-user', s('contains', 'zzz')), { 'x-user': 'jason' }));
  assert.ok(one(headerMatcher('x-user', { type: 'safeRegex', regex: 'j.*n' }), { 'x-user': 'jason' }));
  assert.ok(!one(headerMatcher('x-user', { type: 'safeRegex', regex: 'j.*n' }), { 'x-user': 'jasonx' }));
  assert.ok(one(headerMatcher('x-user', { type: 'present', present: true }), { 'x-user': '' }));
  assert.ok(!one(headerMatcher('x-user', { type: 'present', present: true }), {}));
  assert.ok(one(headerMatcher('x-user', { type: 'present', present: false }), {}));
  const range = headerMatcher('x-n', { type: 'range', start: 10, end: 20 });
  assert.ok(one(range, { 'x-n': '10' }));
  assert.ok(one(range, { 'x-n': '19' }));
  assert.ok(!one(range, { 'x-n': '20' }), 'range end is exclusive');
  assert.ok(!one(range, { 'x-n': '15.5' }), 'non-integers never match');
  // invert
  const inv = headerMatcher('x-user', s('exact', 'jason'), { invertMatch: true });
  assert.ok(!one(inv, { 'x-user': 'jason' }));
  assert.ok(one(inv, { 'x-user': 'bob' }));
  assert.ok(one(inv, {}), 'a missing header fails the test, so the inverted matcher matches');
  // missing header
  assert.ok(!one(headerMatcher('x-user', s('exact', '')), {}));
  assert.ok(one(headerMatcher('x-user', s('exact', ''), { treatMissingHeaderAsEmpty: true }), {}));
  // repeated values joined with ','
  assert.ok(one(headerMatcher('x-tag', s('exact', 'a,b')), { 'x-tag': ['a', 'b'] }));
  // pseudo-headers
  assert.ok(one(headerMatcher(':method', s('exact', 'POST')), {}, 'POST'));
  assert.ok(!one(headerMatcher(':method', s('exact', 'POST')), {}, 'GET'));
  // all headers must match
  const both = [routeMatch({ type: 'prefix', prefix: '/' }, { headers: [headerMatcher('a', s('exact', '1')), headerMatcher('b', s('exact', '2'))] })];
  assert.equal(firstMatch(both, req('/', { a: '1', b: '2' })), 0);
  assert.equal(firstMatch(both, req('/', { a: '1' })), undefined);
});

test('query parameter matchers and gRPC-only routes', () => {
  const q = (qp: QueryParameterMatcher) => [routeMatch({ type: 'prefix', prefix: '/' }, { queryParameters: [qp] })];
  const exact = q({ name: 'v', match: { type: 'exact', value: 'two words', ignoreCase: false } });
  assert.equal(firstMatch(exact, req('/p?a=1&v=two+words')), 0);
  assert.equal(firstMatch(exact, req('/p?v=two%20words')), 0);
  assert.equal(firstMatch(exact, req('/p?v=other')), undefined);
  const present = q({ name: 'debug', match: { type: 'present', present: true } });
  assert.equal(firstMatch(present, req('/p?debug')), 0);
  assert.equal(firstMatch(present, req('/p?nodebug=1')), undefined);
  const regex = q({ name: 'id', match: { type: 'safeRegex', regex: '[a-f]+' } });
  assert.equal(firstMatch(regex, req('/p?id=beef')), 0);
  assert.equal(firstMatch(regex, req('/p?id=beefy')), undefined);
  const grpc = [routeMatch({ type: 'prefix', prefix: '/' }, { grpcOnly: true })];
  assert.equal(firstMatch(grpc, req('/svc/M', { 'content-type': 'application/grpc+proto' })), 0);
  assert.equal(firstMatch(grpc, req('/svc/M', { 'content-type': 'application/json' })), undefined);
});

test('runtime_fraction matches the configured share (binomial ±5σ)', () => {
  const routes = [
    route('canary', routeMatch({ type: 'prefix', prefix: '/' }, { runtimeFraction: { numerator: 25, denominator: 100 } }), routeAction('canary')),
    route('rest', routeMatch({ type: 'prefix', prefix: '/' }), routeAction('stable')),
  ];
  const table = compileRouteTable(routeConfig('rc', [virtualHost('vh', ['*'], routes)]), { random: seededRandom(5) });
  const n = 10_000;
  let canary = 0;
  for (let i = 0; i < n; i++) if (table.match('h', req('/'))!.spec.name === 'canary') canary++;
  assert.ok(Math.abs(canary - n * 0.25) < binomialTolerance(n, 0.25), `canary ${canary}`);
});

test('weighted clusters honour weights (chi-square) and expose the chosen entry', () => {
  const r = route('w', catchAll, routeAction([['v1', 90], ['v2', 10], ['v3', 0.0001]]));
  assert.throws(
    () => compileRouteTable(routeConfig('rc', [virtualHost('vh', ['*'], [route('w', catchAll, routeAction([['v1', 1], ['v2', 0]]))])])),
    (e: { code?: string; message: string }) => e.code === 'WEFT_ERR_XDS_INVALID' && /weighted_clusters\.clusters\[1\]\.weight/.test(e.message),
  );
  const table = compileRouteTable(routeConfig('rc', [virtualHost('vh', ['*'], [r])]), { random: seededRandom(9) });
  const matched = table.match('h', req('/'))!;
  const n = 2000;
  const c = { v1: 0, v2: 0, v3: 0 } as Record<string, number>;
  for (let i = 0; i < n; i++) c[matched.chooseCluster(req('/'))!]!++;
  // Scenario 01: over 2,000 requests the v1 share stays within 0.87..0.93 — and here within ±5σ.
  assert.ok(Math.abs(c.v1! - 1800) < binomialTolerance(n, 0.9), `v1 ${c.v1}`);
  assert.ok(chiSquare([c.v1!, c.v2! + c.v3!], [0.9, 0.1]) < chiSquareCritical1e6(1));
  assert.equal(matched.weightedCluster('v2')?.weight, 10);
  assert.equal(matched.weightedCluster('nope'), undefined);
});

test('cluster_header picks the cluster named by a header; non-forwarding routes pick none', () => {
  const r = route('h', catchAll, { clusterSpecifier: { type: 'clusterHeader', header: 'X-Cluster' }, hashPolicies: [], requestMirrorPolicies: [] });
  const table = compileRouteTable(routeConfig('rc', [virtualHost('vh', ['*'], [r])]));
  const m = table.match('h', req('/'))!;
  assert.equal(m.chooseCluster(req('/', { 'x-cluster': 'blue' })), 'blue');
  assert.equal(m.chooseCluster(req('/')), undefined);
  const redirect = { ...r, action: { type: 'directResponse' as const, status: 418 } };
  const t2 = compileRouteTable(routeConfig('rc', [virtualHost('vh', ['*'], [redirect])]));
  assert.equal(t2.match('h', req('/'))!.chooseCluster(req('/')), undefined);
});

test('invalid regexes are rejected at compile time with the config location', () => {
  const bad = (m: RouteMatch) => () => compileRouteTable(routeConfig('reviews', [virtualHost('vh0', ['*'], [route('r', m, routeAction('c'))])]));
  const isXdsInvalid = (field: RegExp) => (e: { code?: string; message: string }) =>
    e.code === 'WEFT_ERR_XDS_INVALID' && /route_config reviews/.test(e.message) && field.test(e.message);
  assert.throws(bad(routeMatch({ type: 'safeRegex', regex: '/a(' })), isXdsInvalid(/routes\[0\].*match\.safe_regex/));
  assert.throws(bad(routeMatch({ type: 'prefix', prefix: '/' }, { headers: [headerMatcher('x', { type: 'safeRegex', regex: '[z-a]' })] })), isXdsInvalid(/headers\[0\]/));
  assert.throws(bad(routeMatch({ type: 'safeRegex', regex: '(a)\\1' })), isXdsInvalid(/safe_regex/), 'backreferences are not RE2');
  assert.throws(
    bad(routeMatch({ type: 'prefix', prefix: '/' }, { queryParameters: [{ name: 'q', match: { type: 'safeRegex', regex: '*' } }] })),
    isXdsInvalid(/query_parameters\[0\]/),
  );
});

test('the first-segment index never changes which route wins', () => {
  const m = [
    routeMatch({ type: 'prefix', prefix: '/a/' }),
    routeMatch({ type: 'prefix', prefix: '/b' }), // ends mid-segment: unindexed
    routeMatch({ type: 'path', path: '/c' }),
    routeMatch({ type: 'prefix', prefix: '/A/' }, { caseSensitive: false }), // unindexed
    routeMatch({ type: 'safeRegex', regex: '/d/[0-9]+' }),
    routeMatch({ type: 'safeRegex', regex: '/e|/f' }), // alternation: unindexed
    routeMatch({ type: 'pathSeparatedPrefix', prefix: '/g' }),
    routeMatch({ type: 'prefix', prefix: '/a/x' }),
    routeMatch({ type: 'prefix', prefix: '' }),
  ];
  const cases: [string, number][] = [
    ['/a/x', 0], ['/bee', 1], ['/b/a', 1], ['/c', 2], ['/c/', 8], ['/a', 8], ['/A/y', 3], ['/d/12', 4], ['/d/x', 8],
    ['/e', 5], ['/f', 5], ['/g', 6], ['/g/h', 6], ['/gh', 8], ['*', 8], ['', 8],
  ];
  for (const [path, want] of cases) assert.equal(firstMatch(m, req(path)), want, path);
  // The same answers from a linear scan of every route.
  const linear = (path: string) => m.findIndex((x) => firstMatch([x], req(path)) === 0);
  for (const [path, want] of cases) assert.equal(linear(path), want, `linear ${path}`);
});
