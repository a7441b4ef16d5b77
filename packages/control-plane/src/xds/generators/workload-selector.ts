/**
 * The serving workload an inbound listener is generated for, and how Istio policies select it:
 * a policy in the root namespace without selector applies mesh-wide, one in the workload's
 * namespace without selector applies namespace-wide, and a `selector.matchLabels` (or an
 * EnvoyFilter `workloadSelector.labels`) narrows it to workloads carrying all those labels.
 */

/** Who asks for an inbound listener: read from the node metadata of its xDS stream. */
export interface InboundWorkload {
  namespace: string;
  labels: Readonly<Record<string, string>>;
  /** Service account of the SPIFFE identity (node metadata `SERVICE_ACCOUNT`). */
  serviceAccount: string;
  /** `WORKLOAD_NAME`, for messages only. */
  workloadName: string;
}

/** How far a policy reaches, most specific first (Istio's precedence order). */
export type PolicyScope = 'workload' | 'namespace' | 'mesh';

/**
 * The scope in which a policy applies to `workload`, or `undefined` when it does not apply.
 * A selector with no labels selects like no selector (Istio treats an empty matchLabels so).
 */
export function policyScope(
  policy: { namespace: string; selector: Readonly<Record<string, string>> | undefined },
  workload: InboundWorkload,
  rootNamespace: string,
): PolicyScope | undefined {
  const wanted = Object.entries(policy.selector ?? {});
  const isInNamespace = policy.namespace === workload.namespace;
  const isRoot = policy.namespace === rootNamespace;
  if (!isInNamespace && !isRoot) return undefined;
  if (wanted.length > 0) {
    if (!wanted.every(([k, v]) => workload.labels[k] === v)) return undefined;
    return 'workload';
  }
  return isInNamespace ? 'namespace' : 'mesh';
}
