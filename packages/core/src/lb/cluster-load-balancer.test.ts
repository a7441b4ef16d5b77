import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileClusterLoadBalancer } from './cluster-load-balancer.ts';
import type { ClusterLbConfig } from './cluster-load-balancer.ts';
import { computePriorityLoad } from './priority-load.ts';
import { EndpointStateStore } from './endpoint-state-store.ts';
import { loadHasher } from './hasher.ts';
import type { HealthStatus, LocalityEndpointsSpec } from './types.ts';
import { seededRandom } from '../internal/seeded-random.ts';
import { binomialTolerance } from '../internal/test-support.ts';

const hasher = await loadHasher();

function locality(zone: string, priority: number, health: HealthStatus[], weight?: number, base = 0): LocalityEndpointsSpec {
  return {
    locality: { region: 'r', zone },
    priority,
    weight,
    endpoints: health.map((h, i) => ({ address: `10.${priority}.${base}.${i + 1}`, port: 80, healthStatus: h })),
  };
}

function build(localities: LocalityEndpointsSpec[], config: ClusterLbConfig = { policy: 'ROUND_ROBIN' }, seed = 1) {
  return compileClusterLoadBalancer('c', localities, config, { hasher, states: new EndpointStateStore(), random: seededRandom(seed) });
}

function shares(lb: ReturnType<typeof build>, n: number, key: (e: { priority: number; locality: { zone?: string } }) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const e = lb.pick();
    assert.ok(e);
    const k = key(e);
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

const H: HealthStatus = 'HEALTHY';
const U: HealthStatus = 'UNHEALTHY';
const D: HealthStatus = 'DEGRADED';

test('priority load follows Envoy: overprovisioning 1.4, spill, degraded, panic', () => {
  const c = (total: number, healthy: number, degraded = 0) => ({ total, healthy, degraded });
  assert.deepEqual(computePriorityLoad([c(10, 10), c(10, 10)]).healthy, [100, 0]);
  // 80% healthy × 1.4 = 112 → capped 100: no spill yet.
  assert.deepEqual(computePriorityLoad([c(10, 8), c(10, 10)]).healthy, [100, 0]);
  // 50% × 1.4 = 70 → 30 spills to P1.
  assert.deepEqual(computePriorityLoad([c(10, 5), c(10, 10)]).healthy, [70, 30]);
  // 20% × 1.4 = 28.
  assert.deepEqual(computePriorityLoad([c(10, 2), c(10, 10)]).healthy, [28, 72]);
  // Only degraded hosts left in P0: healthy P1 takes what it can, degraded P0 the rest.
  const deg = computePriorityLoad([c(10, 0, 10), c(10, 5)]);
  assert.deepEqual(deg.healthy, [0, 70]);
  assert.deepEqual(deg.degraded, [30, 0]);
  // Total health below 100 is normalised: P0 28, P1 14 → 67 / 33.
  const low = computePriorityLoad([c(10, 2), c(10, 1)]);
  assert.deepEqual(low.healthy, [67, 33]);
  assert.deepEqual(low.isPanic, [true, true]);
  // Nothing healthy anywhere: total panic, load by host count.
  const dead = computePriorityLoad([c(3, 0), c(1, 0)]);
  assert.deepEqual(dead.healthy, [75, 25]);
  assert.deepEqual(dead.isPanic, [true, true]);
});

test('priority failover: all traffic to P1 when P0 has no healthy endpoint', () => {
  const lb = build([locality('a', 0, [U, U, U]), locality('b', 1, [H, H])]);
  const s = shares(lb, 1000, (e) => String(e.priority));
  assert.deepEqual([...s.entries()], [['1', 1000]]);
});

test('priority spill with partial health: P0 at 40% healthy keeps 56% of the load (binomial ±5σ)', () => {
  const lb = build([locality('a', 0, [H, H, U, U, U]), locality('b', 1, [H, H, H])], { policy: 'RANDOM' });
  assert.deepEqual(lb.priorityLoad.healthy, [56, 44]);
  const n = 10_000;
  const s = shares(lb, n, (e) => String(e.priority));
  assert.ok(Math.abs(s.get('0')! - n * 0.56) < binomialTolerance(n, 0.56), `P0 ${s.get('0')}`);
  // Only healthy hosts of P0 serve.
  for (let i = 0; i < 500; i++) {
    const e = lb.pick()!;
    if (e.priority === 0) assert.equal(e.healthStatus, 'HEALTHY');
  }
});

test('locality failover: a locality without healthy endpoints gets no traffic; weights split the rest', () => {
  const lb = build([locality('a', 0, [U, U], 50), locality('b', 0, [H, H], 30, 1), locality('c', 0, [H, H], 10, 2)]);
  const n = 8000;
  const s = shares(lb, n, (e) => e.locality.zone!);
  assert.equal(s.get('a'), undefined);
  // EDF over 30 : 10 is exact to within one pick per locality.
  assert.ok(Math.abs(s.get('b')! - n * 0.75) <= 2 && Math.abs(s.get('c')! - n * 0.25) <= 2, `${[...s]}`);
});

test('locality availability scales a half-healthy locality by min(1, 1.4 × healthy / total)', () => {
  // b: 1 of 4 healthy → availability 0.35 → effective 35 vs c 100.
  const lb = build([locality('b', 0, [H, U, U, U], 100, 1), locality('c', 0, [H, H, H, H], 100, 2)]);
  const n = 13_500;
  const s = shares(lb, n, (e) => e.locality.zone!);
  assert.ok(Math.abs(s.get('b')! - n * (35 / 135)) <= 2, `${[...s]}`);
});

test('ejected endpoints are excluded; beyond the panic threshold every endpoint serves', () => {
  const lb = build([locality('a', 0, [H, H, H, H])]);
  const keys = lb.endpoints.map((e) => e.key);
  lb.setEjected(keys[0]!, true);
  for (let i = 0; i < 100; i++) assert.notEqual(lb.pick()!.key, keys[0]);
  lb.setEjected(keys[1]!, true);
  lb.setEjected(keys[2]!, true); // 25% healthy < 50% panic threshold
  assert.deepEqual(lb.priorityLoad.isPanic, [true]);
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) seen.add(lb.pick()!.key);
  assert.equal(seen.size, 4, 'panic routes to all endpoints, ejected included');
  lb.setEjected(keys[1]!, false);
  lb.setEjected(keys[2]!, false);
  assert.deepEqual(lb.priorityLoad.isPanic, [false]);
});

test('degraded endpoints serve only the load healthy ones cannot', () => {
  const lb = build([locality('a', 0, [H, D, D, D, D])], { policy: 'RANDOM' });
  // healthy 1/5 × 1.4 = 28; degraded 4/5 × 1.4 = 112 → capped: 72 left.
  assert.deepEqual(lb.priorityLoad.healthy, [28]);
  assert.deepEqual(lb.priorityLoad.degraded, [72]);
});

test('endpoint state survives recompilation; departed endpoints are forgotten', () => {
  const states = new EndpointStateStore();
  const deps = { hasher, states, random: seededRandom(2) };
  const first = compileClusterLoadBalancer('c', [locality('a', 0, [H, H])], { policy: 'LEAST_REQUEST' }, deps);
  first.endpoints[0]!.state.activeRequests = 7;
  const second = compileClusterLoadBalancer('c', [locality('a', 0, [H])], { policy: 'LEAST_REQUEST' }, deps);
  assert.equal(second.endpoints[0]!.state.activeRequests, 7);
  assert.equal(states.size, 1);
});

test('hash policies are stable across priorities and rebuilds', () => {
  const locs = [locality('a', 0, [H, H, H]), locality('b', 1, [H, H])];
  const a = build(locs, { policy: 'RING_HASH' }, 1);
  const b = build(locs, { policy: 'RING_HASH' }, 99);
  for (let i = 0; i < 200; i++) {
    const hash = hasher.hash64(`k${i}`);
    assert.equal(a.pick({ hash })!.key, b.pick({ hash })!.key);
  }
});

test('invalid endpoints are rejected with the cluster and field named', () => {
  const bad = (spec: LocalityEndpointsSpec, config: ClusterLbConfig = { policy: 'ROUND_ROBIN' }) => () => build([spec], config);
  const expect = (field: RegExp) => (e: { code?: string; message: string }) => e.code === 'WEFT_ERR_XDS_INVALID' && /cluster c/.test(e.message) && field.test(e.message);
  assert.throws(bad({ endpoints: [{ address: '1.2.3.4', port: 80, weight: 0 }] }), expect(/load_balancing_weight/));
  assert.throws(bad({ endpoints: [{ address: '1.2.3.4', port: 0 }] }), expect(/port_value/));
  assert.throws(bad({ endpoints: [] }, { policy: 'MAGLEV', maglevTableSize: 100 }), expect(/table_size/));
  // An empty cluster is valid and picks nothing.
  assert.equal(build([]).pick(), undefined);
});

test('ejections written straight into endpoint state (as syncEjections does) apply on the next pick', () => {
  const states = new EndpointStateStore();
  const lb = compileClusterLoadBalancer('c', [locality('a', 0, [H, H, H])], { policy: 'ROUND_ROBIN' }, { hasher, states, random: seededRandom(3) });
  const victim = lb.endpoints[1]!.key;
  states.get(victim).isEjected = true;
  for (let i = 0; i < 30; i++) assert.notEqual(lb.pick()!.key, victim);
  states.get(victim).isEjected = false;
  const seen = new Set<string>();
  for (let i = 0; i < 30; i++) seen.add(lb.pick()!.key);
  assert.ok(seen.has(victim));
});
