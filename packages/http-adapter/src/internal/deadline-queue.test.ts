import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Deadline, DeadlineQueue } from './deadline-queue.ts';

class Entry extends Deadline {
  readonly name: string;
  readonly fired: string[];
  readonly scheduledAt = performance.now();
  firedAfterMs = -1;
  constructor(name: string, fired: string[]) {
    super();
    this.name = name;
    this.fired = fired;
  }
  override onDeadline(): void {
    this.firedAfterMs = performance.now() - this.scheduledAt;
    this.fired.push(this.name);
  }
}

test('entries expire in deadline order across durations, never before their duration, and cancelled ones never fire', async () => {
  const queue = new DeadlineQueue();
  const fired: string[] = [];
  const a = new Entry('a40', fired);
  const b = new Entry('b20', fired);
  const c = new Entry('c40-cancelled', fired);
  const d = new Entry('d40', fired);
  queue.schedule(a, 40);
  queue.schedule(b, 20);
  queue.schedule(c, 40);
  queue.schedule(d, 40);
  queue.cancel(c);
  queue.cancel(c); // idempotent
  assert.equal(queue.size, 3);
  await sleep(120);
  assert.deepEqual(fired, ['b20', 'a40', 'd40']);
  assert.ok(b.firedAfterMs >= 20 - 1, `b fired after ${b.firedAfterMs} ms`);
  assert.ok(a.firedAfterMs >= 40 - 1, `a fired after ${a.firedAfterMs} ms`);
  assert.equal(queue.size, 0);
});

test('cancelling the head leaves the rest due on time; rescheduling moves an entry', async () => {
  const queue = new DeadlineQueue();
  const fired: string[] = [];
  const head = new Entry('head', fired);
  const next = new Entry('next', fired);
  const moved = new Entry('moved', fired);
  queue.schedule(head, 30);
  queue.schedule(next, 30);
  queue.schedule(moved, 30);
  queue.cancel(head);
  queue.schedule(moved, 60); // moved to a later list
  await sleep(45);
  assert.deepEqual(fired, ['next']);
  await sleep(45);
  assert.deepEqual(fired, ['next', 'moved']);
});

test('an entry scheduled from a callback is kept and fires after its own duration', async () => {
  const queue = new DeadlineQueue();
  const fired: string[] = [];
  const later = new Entry('later', fired);
  class Chaining extends Entry {
    override onDeadline(): void {
      super.onDeadline();
      queue.schedule(later, 20);
    }
  }
  queue.schedule(new Chaining('first', fired), 20);
  await sleep(80);
  assert.deepEqual(fired, ['first', 'later']);
  assert.equal(queue.size, 0);
});
