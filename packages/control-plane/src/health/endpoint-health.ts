/**
 * Health checking of registered endpoints, end to end: after each model generation it reads the
 * WorkloadGroups (their `spec.probe`), selects the group's members among the model's endpoints
 * (WorkloadEntries and self-registered workloads in the group's namespace carrying all of the
 * group's `spec.metadata.labels`), and keeps a {@link HealthChecker} probing exactly those.
 * Transitions go to the registry, so the next generation publishes them in EDS: an UNHEALTHY
 * endpoint leaves clients' picks and comes back when it is HEALTHY again. Groups are also
 * re-read on a timer (unref'd), because a WorkloadGroup-only edit publishes no generation.
 */
import type { MeshModel } from '../model/mesh-model.ts';
import { labelsMatch } from '../registry/service-index.ts';
import { createHealthChecker, type HealthChecker, type HealthSink, type HealthTarget, type TargetStatus } from './health-checker.ts';
import type { WorkloadGroupProbe } from './workload-group.ts';
import type { WorkloadGroupRead } from './workload-group-source.ts';

/** Options of {@link createEndpointHealthMonitor}. */
export interface EndpointHealthOptions {
  /** The model source (the config store). */
  source: { readonly current: MeshModel; onChange(listener: (model: MeshModel) => void): { [Symbol.dispose](): void } };
  /** Where probe results go (the config store's registry). */
  sink: HealthSink;
  /** Reads the WorkloadGroups (e.g. `createWorkloadGroupReader` over the config paths). */
  readGroups: () => Promise<WorkloadGroupRead>;
  /**
   * Also re-reads the groups this often (ms), so a change to a WorkloadGroup alone (which
   * publishes no new generation) is picked up; default 2000, 0 disables.
   */
  rereadMs?: number;
}

/** The `/debug/health` document. */
export interface HealthReport {
  groups: { name: string; namespace: string; labels: Readonly<Record<string, string>>; probe: string }[];
  endpoints: TargetStatus[];
  problems: string[];
}

/** See the module comment. */
export interface EndpointHealthMonitor {
  /** Resolves once the targets of the current generation are being probed. */
  readonly ready: Promise<void>;
  report(): HealthReport;
  readonly checker: HealthChecker;
  /** Stops probing and clears the health it set. Idempotent. */
  close(): void;
}

/** The endpoints of `model` that `groups` probe (each endpoint once, first group wins). */
export function healthTargets(model: MeshModel, groups: readonly WorkloadGroupProbe[]): HealthTarget[] {
  const out = new Map<string, HealthTarget>();
  for (const g of groups) {
    if (Object.keys(g.labels).length === 0) continue;
    for (const list of model.endpoints.values()) {
      for (const e of list) {
        if (out.has(e.id) || e.origin === 'ServiceEntry' || e.namespace !== g.namespace || !labelsMatch(g.labels, e.labels) || !e.address) continue;
        out.set(e.id, { id: e.id, address: e.address, probe: g.probe, group: `${g.namespace}/${g.name}` });
      }
    }
  }
  return [...out.values()];
}

/** Starts monitoring; see the module comment. */
export function createEndpointHealthMonitor(options: EndpointHealthOptions): EndpointHealthMonitor {
  const checker = createHealthChecker(options.sink);
  let groups: WorkloadGroupProbe[] = [];
  let problems: string[] = [];
  let isClosed = false;
  let chain = Promise.resolve();

  const refresh = (): Promise<void> => {
    chain = chain.then(async () => {
      if (isClosed) return;
      const read = await options.readGroups();
      if (isClosed) return;
      groups = read.groups;
      problems = read.problems;
      checker.update(healthTargets(options.source.current, groups));
    });
    return chain;
  };
  const ready = refresh();
  const sub = options.source.onChange(() => void refresh());
  const rereadMs = options.rereadMs ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  if (rereadMs > 0) {
    timer = setInterval(() => void refresh(), rereadMs);
    timer.unref();
  }

  return {
    ready,
    checker,
    report() {
      return {
        groups: groups.map((g) => ({ name: g.name, namespace: g.namespace, labels: g.labels, probe: `${g.probe.action.type} every ${g.probe.periodMs} ms` })),
        endpoints: checker.status(),
        problems: [...problems],
      };
    },
    close() {
      if (isClosed) return;
      isClosed = true;
      if (timer) clearInterval(timer);
      sub[Symbol.dispose]();
      checker.close();
    },
  };
}
