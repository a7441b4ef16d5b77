/**
 * Request timeouts without a Node timer per request. Route and per-try timeouts are a handful
 * of configured durations shared by many requests, so entries are kept in one list per
 * duration: appended in arrival order, a list's head always expires first. Each list has one
 * unref'd timer armed for its head; when it fires it expires every due entry and re-arms for the
 * next. Scheduling and cancelling are a few field writes on the entry itself (entries are the
 * request objects, extending {@link Deadline}), where a `setTimeout`/`clearTimeout` pair
 * allocates a Timeout and crosses into the runtime twice. Nothing here keeps a process alive.
 */

/**
 * Something that can time out: the request object extends this. Its fields belong to the
 * queue; `onDeadline` runs once when the duration passes without a {@link DeadlineQueue.cancel}.
 */
export abstract class Deadline {
  /** `performance.now()` at which the entry expires (valid while queued). */
  expiresAt = 0;
  /** Neighbours in the list of its duration; the list itself while queued. */
  prevDeadline: Deadline | undefined = undefined;
  nextDeadline: Deadline | undefined = undefined;
  deadlineList: DeadlineList | undefined = undefined;

  /** Called when the entry expires. */
  abstract onDeadline(): void;
}

/** The entries of one duration, oldest first, and the timer armed for the head. */
class DeadlineList {
  readonly durationMs: number;
  head: Deadline | undefined = undefined;
  tail: Deadline | undefined = undefined;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(durationMs: number) {
    this.durationMs = durationMs;
  }
}

/**
 * Node timers may fire up to a millisecond before `performance.now()` says the duration has
 * passed (they count whole milliseconds of loop time), so an entry this close is due.
 */
const EARLY_FIRE_TOLERANCE_MS = 1;

/** See the module comment. */
export class DeadlineQueue {
  readonly #lists = new Map<number, DeadlineList>();

  /** Expires `entry` after `durationMs` (> 0) unless cancelled; an entry already queued is moved. */
  schedule(entry: Deadline, durationMs: number): void {
    if (entry.deadlineList !== undefined) this.cancel(entry);
    let list = this.#lists.get(durationMs);
    if (list === undefined) this.#lists.set(durationMs, (list = new DeadlineList(durationMs)));
    entry.expiresAt = performance.now() + durationMs;
    entry.deadlineList = list;
    entry.prevDeadline = list.tail;
    entry.nextDeadline = undefined;
    if (list.tail === undefined) list.head = entry;
    else list.tail.nextDeadline = entry;
    list.tail = entry;
    if (list.timer === undefined) this.#arm(list, durationMs);
  }

  /** Removes `entry` if it is queued; idempotent. The list's timer stays armed until it fires. */
  cancel(entry: Deadline): void {
    const list = entry.deadlineList;
    if (list === undefined) return;
    const { prevDeadline: prev, nextDeadline: next } = entry;
    if (prev === undefined) list.head = next;
    else prev.nextDeadline = next;
    if (next === undefined) list.tail = prev;
    else next.prevDeadline = prev;
    entry.prevDeadline = entry.nextDeadline = entry.deadlineList = undefined;
  }

  /** Entries currently queued (for tests and diagnostics). */
  get size(): number {
    let n = 0;
    for (const list of this.#lists.values()) for (let e = list.head; e !== undefined; e = e.nextDeadline) n++;
    return n;
  }

  #arm(list: DeadlineList, delayMs: number): void {
    list.timer = setTimeout(() => this.#expire(list), Math.max(1, Math.ceil(delayMs)));
    list.timer.unref();
  }

  #expire(list: DeadlineList): void {
    // list.timer still names the fired timer during the loop, so an entry scheduled by a callback
    // does not arm a second one; the list is re-armed for its head once, below.
    const now = performance.now() + EARLY_FIRE_TOLERANCE_MS;
    let entry = list.head;
    while (entry !== undefined && entry.expiresAt <= now) {
      this.cancel(entry);
      try {
        entry.onDeadline();
      } catch (err) {
        // One entry's failure must not strand the others: report it as Node reports timer errors.
        queueMicrotask(() => {
          throw err;
        });
      }
      entry = list.head;
    }
    list.timer = undefined;
    if (list.head !== undefined) this.#arm(list, list.head.expiresAt - performance.now());
    else this.#lists.delete(list.durationMs);
  }
}

/** The queue of every mesh request's route and per-try timeouts in this process. */
export const requestDeadlines = new DeadlineQueue();
