import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestHasher } from './request-hash.ts';
import { loadHasher } from './hasher.ts';
import type { HashPolicy } from '@weft/xds-client';

const hasher = await loadHasher();
const h = (s: string) => hasher.hash64(s);
const rotl1 = (x: bigint) => ((x << 1n) | (x >> 63n)) & ((1n << 64n) - 1n);

test('each hash policy hashes its value with xxHash64', () => {
  const one = (p: HashPolicy, req: Parameters<RequestHasher['compute']>[0]) => new RequestHasher([p], hasher).compute(req);
  assert.equal(one({ type: 'header', headerName: 'X-User', terminal: false }, { path: '/', headers: { 'x-user': 'ann' } }), h('ann'));
  assert.equal(one({ type: 'header', headerName: 'x-tag', terminal: false }, { path: '/', headers: { 'x-tag': ['b', 'a'] } }), h('a,b'));
  assert.equal(one({ type: 'header', headerName: ':path', terminal: false }, { path: '/p', headers: {} }), h('/p'));
  assert.equal(one({ type: 'cookie', name: 'session', terminal: false }, { path: '/', headers: { cookie: 'a=1; session=xyz; b=2' } }), h('xyz'));
  assert.equal(one({ type: 'sourceIp', terminal: false }, { path: '/', headers: {}, sourceIp: '10.1.2.3' }), h('10.1.2.3'));
  assert.equal(one({ type: 'queryParameter', name: 'user', terminal: false }, { path: '/x?user=bo%20b&z=1', headers: {} }), h('bo b'));
  assert.equal(one({ type: 'header', headerName: 'x-user', terminal: false }, { path: '/', headers: {} }), undefined, 'absent value → no hash');
  assert.equal(one({ type: 'filterState', key: 'k', terminal: false }, { path: '/', headers: {} }), undefined);
});

test('policies combine as rotl(hash, 1) ^ next; terminal stops once a hash exists', () => {
  const req = { path: '/?q=1', headers: { a: 'x', b: 'y' } };
  const a: HashPolicy = { type: 'header', headerName: 'a', terminal: false };
  const b: HashPolicy = { type: 'header', headerName: 'b', terminal: false };
  assert.equal(new RequestHasher([a, b], hasher).compute(req), rotl1(h('x')) ^ h('y'));
  assert.equal(new RequestHasher([{ ...a, terminal: true }, b], hasher).compute(req), h('x'));
  const missingTerminal: HashPolicy = { type: 'header', headerName: 'absent', terminal: true };
  assert.equal(new RequestHasher([missingTerminal, b], hasher).compute(req), h('y'), 'a terminal policy without a value does not stop');
  // The same policy twice does not cancel out.
  assert.notEqual(new RequestHasher([a, a], hasher).compute(req), 0n);
});

test('header regex_rewrite normalises the value before hashing', () => {
  const p: HashPolicy = { type: 'header', headerName: ':path', terminal: false, regexRewrite: { pattern: '/users/([0-9]+)/.*', substitution: 'user-\\1' } };
  const r = new RequestHasher([p], hasher);
  assert.equal(r.compute({ path: '/users/42/cart', headers: {} }), h('user-42'));
  assert.equal(r.compute({ path: '/users/42/orders', headers: {} }), h('user-42'));
  assert.throws(
    () => new RequestHasher([{ ...p, regexRewrite: { pattern: '(', substitution: '' } }], hasher, 'route_config rc, routes[3]'),
    (e: { code?: string; message: string }) => e.code === 'WEFT_ERR_XDS_INVALID' && /routes\[3\]\.route\.hash_policy\[0\]/.test(e.message),
  );
});
