/**
 * Envoy's priority load computation (`load_balancer_impl.cc`), as pure functions over counts:
 *
 * - health of a priority = min(100, ⌊overprovisioning% × healthy / total⌋), degraded likewise;
 * - normalised total = min(100, Σ health + Σ degraded);
 * - healthy load is handed out from priority 0 down, each taking
 *   min(remaining, ⌊health × 100 / normalised total⌋); what remains goes to degraded hosts the
 *   same way; rounding leftovers go to the first available priority;
 * - a priority is in panic when (healthy + degraded) / total × 100 < the panic threshold, unless
 *   the normalised total is 100; when nothing is available at all, load is spread by host count
 *   and every priority is in panic.
 */

/** Host counts of one priority. */
export interface PriorityCounts {
  total: number;
  healthy: number;
  degraded: number;
}

/** The outcome: percentages that sum to 100 across both arrays, plus panic flags. */
export interface PriorityLoad {
  healthy: number[];
  degraded: number[];
  isPanic: boolean[];
}

/** Envoy's default overprovisioning factor, in percent (1.4). */
export const DEFAULT_OVERPROVISIONING_PERCENT = 140;
/** Envoy's default healthy panic threshold, in percent. */
export const DEFAULT_PANIC_THRESHOLD_PERCENT = 50;

function availability(count: number, total: number, overprovisioningPercent: number): number {
  if (total === 0) return 0;
  return Math.min(100, Math.floor((overprovisioningPercent * count) / total));
}

function distribute(load: number[], avail: number[], totalLoad: number, normalizedTotal: number): { first: number; remaining: number } {
  let first = -1;
  let remaining = totalLoad;
  for (let i = 0; i < avail.length; i++) {
    if (first < 0 && avail[i]! > 0) first = i;
    load[i] = Math.min(remaining, Math.floor((avail[i]! * 100) / normalizedTotal));
    remaining -= load[i]!;
  }
  return { first, remaining };
}

/**
 * Computes per-priority load and panic for `counts` (index = priority). Never throws; an empty
 * list yields empty arrays, and a cluster with no hosts at all puts 100% on priority 0.
 */
export function computePriorityLoad(
  counts: readonly PriorityCounts[],
  overprovisioningPercent: number = DEFAULT_OVERPROVISIONING_PERCENT,
  panicThresholdPercent: number = DEFAULT_PANIC_THRESHOLD_PERCENT,
): PriorityLoad {
  const n = counts.length;
  const healthy = new Array<number>(n).fill(0);
  const degraded = new Array<number>(n).fill(0);
  const isPanic = new Array<boolean>(n).fill(false);
  if (n === 0) return { healthy, degraded, isPanic };
  const healthAvail = counts.map((c) => availability(c.healthy, c.total, overprovisioningPercent));
  const degradedAvail = counts.map((c) => availability(c.degraded, c.total, overprovisioningPercent));
  let sum = 0;
  for (let i = 0; i < n; i++) sum += healthAvail[i]! + degradedAvail[i]!;
  const normalizedTotal = Math.min(100, sum);

  if (normalizedTotal === 0) {
    // Total panic: spread by host count over every priority (Envoy's recalculateLoadInTotalPanic).
    const totalHosts = counts.reduce((s, c) => s + c.total, 0);
    if (totalHosts === 0 || panicThresholdPercent === 0) {
      healthy[0] = 100;
      isPanic.fill(panicThresholdPercent !== 0);
      return { healthy, degraded, isPanic };
    }
    let assigned = 0;
    for (let i = 0; i < n; i++) {
      healthy[i] = Math.floor((100 * counts[i]!.total) / totalHosts);
      assigned += healthy[i]!;
    }
    const firstNonEmpty = counts.findIndex((c) => c.total > 0);
    healthy[firstNonEmpty] = healthy[firstNonEmpty]! + (100 - assigned);
    isPanic.fill(true);
    return { healthy, degraded, isPanic };
  }

  const h = distribute(healthy, healthAvail, 100, normalizedTotal);
  const d = distribute(degraded, degradedAvail, h.remaining, normalizedTotal);
  if (d.remaining !== 0) {
    if (h.first >= 0 && (d.first < 0 || h.first <= d.first)) healthy[h.first] = healthy[h.first]! + d.remaining;
    else degraded[d.first] = degraded[d.first]! + d.remaining;
  }
  if (normalizedTotal < 100 && panicThresholdPercent > 0) {
    for (let i = 0; i < n; i++) {
      const c = counts[i]!;
      const percent = c.total === 0 ? 0 : (100 * (c.healthy + c.degraded)) / c.total;
      isPanic[i] = percent < panicThresholdPercent;
    }
  }
  return { healthy, degraded, isPanic };
}

/**
 * Envoy's `choosePriority`: maps `value` (any non-negative integer: a request hash or a random
 * draw) to a priority and whether its healthy or degraded hosts serve the request.
 */
export function choosePriority(load: PriorityLoad, value: number): { priority: number; isDegraded: boolean } {
  const point = (value % 100) + 1;
  let acc = 0;
  for (let i = 0; i < load.healthy.length; i++) {
    acc += load.healthy[i]!;
    if (point <= acc) return { priority: i, isDegraded: false };
  }
  for (let i = 0; i < load.degraded.length; i++) {
    acc += load.degraded[i]!;
    if (point <= acc) return { priority: i, isDegraded: true };
  }
  return { priority: 0, isDegraded: false };
}
