/**
 * The mTLS mode in force for one workload port, from PeerAuthentication the way istiod resolves
 * it: a workload-selector policy beats the namespace policy, which beats the mesh-wide policy
 * of the root namespace; `portLevelMtls` (workload policies only) overrides per port; `UNSET`
 * (or no `mtls`) inherits from the next level; with nothing set the mode is PERMISSIVE. When
 * several policies share a level, the first in config order wins (istiod: the oldest).
 */
import type { ConfigObject, MeshModel, PeerAuthenticationSpec } from '../../model/mesh-model.ts';
import { policyScope, type InboundWorkload, type PolicyScope } from './workload-selector.ts';

/** Resolved mTLS mode of an inbound port. */
export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

/** The effective mode and the policy (`namespace/name`) that decided it, if any. */
export interface EffectiveMtls {
  mode: MtlsMode;
  /** `namespace/name` of the deciding PeerAuthentication; absent for the built-in default. */
  decidedBy?: string;
}

interface PeerAuthnView {
  selector?: { matchLabels?: Record<string, string> };
  mtls?: { mode?: string };
  portLevelMtls?: Record<string, { mode?: string }>;
}

function definite(mode: string | undefined): MtlsMode | undefined {
  return mode === 'STRICT' || mode === 'PERMISSIVE' || mode === 'DISABLE' ? mode : undefined;
}

/**
 * The policies of each level that apply to `workload`, first in config order per level.
 * Pure; O(number of PeerAuthentications).
 */
function applicable(model: MeshModel, workload: InboundWorkload): Map<PolicyScope, ConfigObject<PeerAuthenticationSpec>> {
  const out = new Map<PolicyScope, ConfigObject<PeerAuthenticationSpec>>();
  for (const pa of model.peerAuthentications) {
    const spec = pa.spec as PeerAuthnView;
    const scope = policyScope({ namespace: pa.namespace, selector: spec.selector?.matchLabels }, workload, model.rootNamespace);
    // A selector policy in the root namespace selects workloads of every namespace (workload level).
    if (scope && !out.has(scope)) out.set(scope, pa);
  }
  return out;
}

/** The mode in force for `workload` on `port`; see the module comment. */
export function effectiveMtls(model: MeshModel, workload: InboundWorkload, port: number): EffectiveMtls {
  const levels = applicable(model, workload);
  for (const scope of ['workload', 'namespace', 'mesh'] as const) {
    const pa = levels.get(scope);
    if (!pa) continue;
    const spec = pa.spec as PeerAuthnView;
    const id = `${pa.namespace}/${pa.name}`;
    if (scope === 'workload') {
      const portMode = definite(spec.portLevelMtls?.[String(port)]?.mode);
      if (portMode) return { mode: portMode, decidedBy: id };
    }
    const mode = definite(spec.mtls?.mode);
    if (mode) return { mode, decidedBy: id };
  }
  return { mode: 'PERMISSIVE' };
}
