/**
 * Istio's trace sampling rate reaches a proxyless client as the HttpConnectionManager's
 * `tracing.random_sampling` of its listeners (Istio's Telemetry resource → the control plane
 * sets it per client workload). {@link followListenerSampling} keeps a {@link MeshTracer}'s
 * rate in step with the listeners the Mesh receives; a listener without the field leaves the
 * rate as it is (default 1 %, Istio's default).
 */
import type { Mesh } from '../mesh/mesh.ts';
import type { MeshTracer } from './mesh-tracer.ts';

/**
 * The sampling percentage a decoded listener carries, if any. Reads
 * `httpConnectionManager.tracing.randomSamplingPercent` (0–100) of the xds-client's decoded
 * listener; out-of-range values are ignored.
 */
export function samplingPercentOfListener(listener: unknown): number | undefined {
  const hcm = (listener as { httpConnectionManager?: { tracing?: { randomSamplingPercent?: unknown } } } | undefined)?.httpConnectionManager;
  const v = hcm?.tracing?.randomSamplingPercent;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 100 ? v : undefined;
}

/** Updates `tracer.samplingPercent` on every host update of `mesh`; returns the subscription. */
export function followListenerSampling(mesh: Pick<Mesh, 'onUpdate'>, tracer: MeshTracer): { cancel(): void } {
  const sub = mesh.onUpdate((_name, snapshot) => {
    const pct = samplingPercentOfListener(snapshot?.config.listener);
    if (pct !== undefined) tracer.samplingPercent = pct;
  });
  return { cancel: () => sub.cancel() };
}
