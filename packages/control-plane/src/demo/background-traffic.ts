/**
 * Low-rate traffic while the demo keeps running (without `--check`): two product pages per
 * second through the frontend, and one summary line every 10 s, so the mesh has something to
 * show in metrics, traces and the UI.
 */
import type { Reporter } from './reporter.ts';
import { getJson } from './traffic.ts';

/** Stops the traffic; idempotent. */
export interface TrafficHandle {
  stop(): void;
}

/** Starts the loop against `frontendUrl`. */
export function startBackgroundTraffic(frontendUrl: string, reporter: Reporter): TrafficHandle {
  let sent = 0;
  let failed = 0;
  const versions = new Map<string, number>();
  const tick = setInterval(() => {
    const id = String(1 + (sent % 20));
    sent++;
    void getJson(`${frontendUrl}/product/${id}`).then((r) => {
      const product = r.body['product'] as { version?: string } | undefined;
      if (r.status !== 200 || !product?.version) failed++;
      else versions.set(product.version, (versions.get(product.version) ?? 0) + 1);
    });
  }, 500);
  const report = setInterval(() => {
    const split = [...versions].sort().map(([v, n]) => `${v} ${n}`).join(', ');
    reporter.info(`traffic: ${sent} product pages, catalog ${split || '—'}, ${failed} failed`);
  }, 10_000);
  return {
    stop() {
      clearInterval(tick);
      clearInterval(report);
    },
  };
}
