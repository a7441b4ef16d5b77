/**
 * The closed-loop load of the HTTP benchmarks: `concurrency` callers each send undici `request`s
 * back to back through one dispatcher for a fixed time. Returns requests/s and the calling
 * process's CPU per request (the upstream runs in another process, so this is client CPU only).
 */
import { request, type Dispatcher } from 'undici';

/** One request through `dispatcher`; throws on a status other than 200. */
export async function oneRequest(url: string, dispatcher: Dispatcher): Promise<void> {
  const res = await request(url, { dispatcher });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
}

/** One round of `ms` milliseconds at `concurrency` callers. */
export async function loadRound(url: string, dispatcher: Dispatcher, ms: number, concurrency: number): Promise<{ rps: number; cpuUs: number }> {
  let count = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await oneRequest(url, dispatcher);
        count++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { rps: (count * 1000) / (performance.now() - start), cpuUs: (cpu.user + cpu.system) / count };
}

/** The median of `xs` (upper median for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/**
 * A 95 % interval of the median of `xs` by bootstrap (2,000 resamples): how far the reported
 * median could move by chance on a machine whose speed drifts between rounds.
 */
export function medianInterval(xs: readonly number[]): { low: number; high: number } {
  const medians: number[] = [];
  for (let b = 0; b < 2000; b++) medians.push(median(Array.from(xs, () => xs[Math.floor(Math.random() * xs.length)]!)));
  medians.sort((a, b) => a - b);
  return { low: medians[Math.floor(medians.length * 0.025)]!, high: medians[Math.floor(medians.length * 0.975)]! };
}
