/**
 * Which Telemetry resource governs tracing for a client, as Istio scopes them: a Telemetry in the
 * client's namespace overrides the mesh-wide one in the root namespace. Telemetry resources with
 * a `selector` or `targetRef(s)` apply to single workloads, which the control plane does not tell
 * apart inside a namespace; they are not applied (and documented as such).
 */
import type { ConfigObject, TelemetrySpec } from '../model/mesh-model.ts';

function isScopeWide(t: ConfigObject<TelemetrySpec>): boolean {
  const s = t.spec as TelemetrySpec & { targetRef?: unknown; targetRefs?: unknown[] };
  return !s.selector?.matchLabels && !s.targetRef && !(s.targetRefs && s.targetRefs.length > 0);
}

function samplingOf(t: ConfigObject<TelemetrySpec> | undefined): number | undefined {
  for (const tr of t?.spec.tracing ?? []) {
    const p = tr.randomSamplingPercentage;
    if (typeof p === 'number' && Number.isFinite(p)) return Math.min(100, Math.max(0, p));
  }
  return undefined;
}

/**
 * The tracing random-sampling percentage (0–100) for clients of `namespace` (undefined: the
 * mesh-wide setting only), or undefined when no Telemetry sets one.
 */
export function tracingSamplingFor(telemetries: readonly ConfigObject<TelemetrySpec>[], namespace: string | undefined, rootNamespace: string): number | undefined {
  const wide = (ns: string) => telemetries.find((t) => t.namespace === ns && isScopeWide(t));
  const own = namespace !== undefined && namespace !== rootNamespace ? samplingOf(wide(namespace)) : undefined;
  return own ?? samplingOf(wide(rootNamespace));
}
