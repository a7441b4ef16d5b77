/**
 * Traffic the demo sends: plain `fetch` from the demo process (which is not meshed) to the
 * frontend's HTTP port. Everything Weft does happens inside the example services.
 */

/** One answer from the frontend. */
export interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** GETs `url` and parses the JSON body; a network failure is status 0. */
export async function getJson(url: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<Reply> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { text };
    }
    return { status: res.status, body };
  } catch (err) {
    return { status: 0, body: { error: (err as Error).message } };
  }
}

/** Options of {@link sendMany}. */
export interface SendManyOptions {
  /** Calls in flight at once; default 8. */
  concurrency?: number;
  /** Upper bound on calls started per second, in any window (starts are spaced evenly); default unlimited. */
  ratePerSecond?: number;
}

/** Runs `call(i)` for i in [0, count) with the given concurrency and pacing; results in order. */
export async function sendMany<T>(count: number, call: (i: number) => Promise<T>, options: SendManyOptions = {}): Promise<T[]> {
  const results = new Array<T>(count);
  const gapMs = options.ratePerSecond ? 1000 / options.ratePerSecond : 0;
  // Starts are serialized through one gate and each is at least `gapMs` after the previous
  // actual start: a call (or a timer) that falls behind on a loaded machine is not made up for by
  // a burst, so the rate holds in every window, not only on average.
  let gate: Promise<void> = Promise.resolve();
  let lastStartAt = -Infinity;
  const pace = (): Promise<void> =>
    (gate = gate.then(async () => {
      for (let wait = lastStartAt + gapMs - performance.now(); wait > 0; wait = lastStartAt + gapMs - performance.now()) {
        await new Promise((r) => setTimeout(r, wait));
      }
      lastStartAt = performance.now();
    }));
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      if (gapMs > 0) await pace();
      results[i] = await call(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, count) }, worker));
  return results;
}

/** Counts values: `tally(['v1','v2','v1'])` → Map { v1 → 2, v2 → 1 }. */
export function tally(values: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

/** `12.5%` of `part` in `total`. */
export function percent(part: number, total: number): string {
  return `${total === 0 ? '0.0' : ((100 * part) / total).toFixed(1)}%`;
}

/** Resolves after `ms` (for polling loops with a deadline). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
