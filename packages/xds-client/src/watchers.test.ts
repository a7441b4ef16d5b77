import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { WatcherRegistry } from './watchers.ts';

const T = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

function watcher(events: string[], label: string) {
  return {
    onChanged: () => events.push(`${label}:changed`),
    onError: () => events.push(`${label}:error`),
    onDoesNotExist: () => events.push(`${label}:missing`),
  };
}

test('the does-not-exist timer fires after 15 s by default and can be cancelled', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const registry = new WatcherRegistry();
    let fired = 0;
    registry.startTimer(T, 'a', () => fired++);
    registry.startTimer(T, 'a', () => fired++); // a second start keeps the first timer
    registry.startTimer(T, 'b', () => fired++);
    registry.cancelTimer(T, 'b');
    mock.timers.tick(14_999);
    assert.equal(fired, 0);
    mock.timers.tick(1);
    assert.equal(fired, 1);
    mock.timers.tick(60_000);
    assert.equal(fired, 1);
    registry.startTimer(T, 'c', () => fired++);
    registry.close();
    mock.timers.tick(15_000);
    assert.equal(fired, 1, 'close() cancels every timer');
  } finally {
    mock.timers.reset();
  }
});

test('delivery is asynchronous, skips watchers removed meanwhile and survives a throwing watcher', async () => {
  const registry = new WatcherRegistry();
  const events: string[] = [];
  const a = watcher(events, 'a');
  const b = watcher(events, 'b');
  const thrower = { ...watcher(events, 't'), onChanged: () => { throw new Error('boom'); } };
  assert.equal(registry.add(T, 'x', thrower), true);
  assert.equal(registry.add(T, 'x', a), false);
  registry.add(T, 'x', b);
  registry.notify(T, 'x', (w) => w.onChanged(undefined as never));
  assert.deepEqual(events, [], 'nothing runs synchronously');
  registry.remove(T, 'x', b);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(events, ['a:changed']);
  assert.equal(registry.remove(T, 'x', a), false);
  assert.equal(registry.remove(T, 'x', thrower), true, 'last watcher gone');
  assert.equal(registry.isWatched(T, 'x'), false);
});
