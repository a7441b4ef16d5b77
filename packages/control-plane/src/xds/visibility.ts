/**
 * Who may see what, as istiod decides it: `exportTo` on ServiceEntry, VirtualService and
 * DestinationRule, and the `egress.hosts` of the Sidecar in force for a client's namespace.
 * Pure predicates over config; mesh-index.ts applies them per client namespace.
 */
import type { ConfigObject } from '../model/mesh-model.ts';
import type { SidecarView } from './generators/istio-views.ts';
import { hostMatches } from './names.ts';

/**
 * True when config in `configNamespace` with `exportTo` is visible in `clientNamespace`.
 * Empty or absent means `*` (Istio's mesh default); `.` is the config's own namespace; `~` is
 * none; anything else names a namespace.
 */
export function isExportedTo(exportTo: readonly string[] | undefined, configNamespace: string, clientNamespace: string): boolean {
  if (!exportTo || exportTo.length === 0) return true;
  for (const e of exportTo) {
    if (e === '*' || e === clientNamespace || (e === '.' && configNamespace === clientNamespace)) return true;
  }
  return false;
}

/** True when `exportTo` restricts anything (not absent, empty or containing `*`). */
export function isRestricted(exportTo: readonly string[] | undefined): boolean {
  return !!exportTo && exportTo.length > 0 && !exportTo.includes('*');
}

/** The egress host filter of one Sidecar, compiled once. */
export interface EgressFilter {
  /** `namespace/name` of the Sidecar. */
  readonly id: string;
  /** True when a host defined by config in `configNamespace` may be imported. */
  allows(configNamespace: string, hostname: string): boolean;
}

/**
 * Compiles a Sidecar's egress hosts. A Sidecar without egress listeners imports everything
 * (any namespace, any host), as in Istio; a host entry without a namespace part is read as
 * `*` + `/` + host.
 */
export function compileEgress(sidecar: ConfigObject<SidecarView>): EgressFilter {
  const rules: { ns: string; host: string }[] = [];
  const listeners = sidecar.spec.egress ?? [];
  if (listeners.length === 0) rules.push({ ns: '*', host: '*' });
  for (const l of listeners) {
    for (const entry of l.hosts ?? []) {
      const slash = entry.indexOf('/');
      rules.push(slash === -1 ? { ns: '*', host: entry } : { ns: entry.slice(0, slash), host: entry.slice(slash + 1) });
    }
  }
  return {
    id: `${sidecar.namespace}/${sidecar.name}`,
    allows(configNamespace, hostname) {
      for (const r of rules) {
        const isNamespaceOk = r.ns === '*' || (r.ns === '.' ? configNamespace === sidecar.namespace : r.ns !== '~' && r.ns === configNamespace);
        if (isNamespaceOk && hostMatches(r.host, hostname)) return true;
      }
      return false;
    },
  };
}

/**
 * The Sidecar in force for clients of `namespace` that the control plane knows only by
 * namespace: the namespace's Sidecar without a workload selector, else the root namespace's
 * one, else none. Sidecars with a `workloadSelector` are not applied to proxyless clients.
 */
export function sidecarFor(sidecars: readonly ConfigObject<SidecarView>[], namespace: string, rootNamespace: string): ConfigObject<SidecarView> | undefined {
  const namespaceWide = (ns: string) => sidecars.find((s) => s.namespace === ns && !s.spec.workloadSelector?.labels);
  return namespaceWide(namespace) ?? namespaceWide(rootNamespace);
}
