/**
 * Connects an {@link OutlierDetector} to the load balancer's per-endpoint state, so ejected
 * endpoints are skipped by the pickers (which read `isEjected`).
 */
import type { OutlierDetector } from './outlier-detector.ts';

/** Anything that hands out mutable per-endpoint state by key (e.g. core's `EndpointStateStore`). */
export interface EjectionTarget {
  get(key: string): { isEjected: boolean };
}

/**
 * Mirrors the detector's ejections into `target` now and on every change. Returns a disposable
 * that stops mirroring (idempotent); it does not un-eject anything.
 */
export function syncEjections(detector: OutlierDetector, target: EjectionTarget): Disposable & { dispose(): void } {
  for (const host of detector.ejectedHosts) target.get(host).isEjected = true;
  const a = detector.onEject((e) => {
    target.get(e.host).isEjected = true;
  });
  const b = detector.onUneject((e) => {
    target.get(e.host).isEjected = false;
  });
  const dispose = (): void => {
    a.dispose();
    b.dispose();
  };
  return { dispose, [Symbol.dispose]: dispose };
}
