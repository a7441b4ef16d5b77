import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadStatsStore } from './load-stats-store.ts';

const zoneA = { region: 'r1', zone: 'a' };
const zoneB = { region: 'r1', zone: 'b' };

test('attempts are counted per cluster, locality and endpoint; collect returns deltas and resets', () => {
  let now = 0;
  const store = new LoadStatsStore(() => now);
  const a1 = store.startAttempt('c1', zoneA, '10.0.0.1:80');
  const a2 = store.startAttempt('c1', zoneA, '10.0.0.1:80');
  const b1 = store.startAttempt('c1', zoneB, '10.0.0.2:80');
  a1.end(false);
  a1.end(true); // a second end is ignored
  a2.end(true);
  now = 1000;
  const [load] = store.collect();
  assert.equal(load?.intervalMs, 1000);
  const byZone = new Map(load!.localities.map((l) => [l.locality.zone, l]));
  assert.deepEqual({ ...byZone.get('a')!, locality: undefined, endpoints: undefined }, { issued: 2, successful: 1, error: 1, inProgress: 0, locality: undefined, endpoints: undefined });
  assert.deepEqual(byZone.get('a')!.endpoints.get('10.0.0.1:80'), { issued: 2, successful: 1, error: 1, inProgress: 0 });
  assert.equal(byZone.get('b')!.inProgress, 1);

  // The in-flight attempt ends after the collect: it belongs to the next interval.
  b1.end(false);
  const c = store.startAttempt('c1', zoneA, '10.0.0.1:80'); // zone a was idle and dropped at the collect
  c.end(false);
  const [next] = store.collect();
  const nextByZone = new Map(next!.localities.map((l) => [l.locality.zone, l]));
  assert.deepEqual(nextByZone.get('b')!.endpoints.get('10.0.0.2:80'), { issued: 0, successful: 1, error: 0, inProgress: 0 });
  assert.deepEqual(nextByZone.get('a')!.endpoints.get('10.0.0.1:80'), { issued: 1, successful: 1, error: 0, inProgress: 0 });
  assert.deepEqual(store.collect(), [], 'nothing new, nothing in flight: no report');
});

test('the cluster filter drops attempts of other clusters, also right after an attempt to them', () => {
  const store = new LoadStatsStore(() => 0);
  store.startAttempt('c1', zoneA, 'e1').end(false);
  store.setClusterFilter(['c2']);
  store.startAttempt('c1', zoneA, 'e1').end(false);
  store.startAttempt('c2', zoneA, 'e1').end(true);
  const loads = store.collect();
  assert.deepEqual(
    loads.map((l) => [l.clusterName, l.localities[0]?.issued, l.localities[0]?.error]),
    [
      ['c1', 1, 0],
      ['c2', 1, 1],
    ],
  );
});
