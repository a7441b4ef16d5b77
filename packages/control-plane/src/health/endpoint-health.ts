/**
 * Health checking of registered endpoints, end to end: for each model generation it takes the
 * model's WorkloadGroups with a `spec.probe`, selects each group's members among the model's
 * endpoints (WorkloadEntries and self-registered workloads in the group's namespace carrying
 * all of the group's `spec.metadata.labels`), and keeps a {@link HealthChecker} probing exactly
 * those. Transitions go to the registry, so the next generation publishes them in EDS: an
 * UNHEALTHY endpoint leaves clients' picks and comes back when it is HEALTHY again. A
 * WorkloadGroup edit is a config change like any other: it publishes a generation, which
 * re-targets the checker.
 */
import type { MeshModel } from '../model/mesh-model.ts';
import { labelsMatch } from '../registry/service-index.ts';
import { createHealthChecker, type HealthChecker, type HealthSink, type HealthTarget, type TargetStatus } from './health-checker.ts';
import { workloadGroupProbes, type WorkloadGroupProbe } from './workload-group.ts';

/** Options of {@link createEndpointHealthMonitor}. */
export interface EndpointHealthOptions {
  /** The model source (the config store). */
  source: { readonly current: MeshModel; onChange(listener: (model: MeshModel) => void): { [Symbol.dispose](): void } };
  /** Where probe results go (the config store's registry). */
  sink: HealthSink;
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

/**
 * Starts monitoring the current model's groups at once and re-targets on every new generation
 * (see the module comment). Probe timers are unref'd; the caller owns the monitor and must
 * `close()` it, which stops probing and clears the health it set.
 */
export function createEndpointHealthMonitor(options: EndpointHealthOptions): EndpointHealthMonitor {
  const checker = createHealthChecker(options.sink);
  let groups: WorkloadGroupProbe[] = [];
  let problems: string[] = [];
  let isClosed = false;

  const refresh = (model: MeshModel): void => {
    if (isClosed) return;
    const read = workloadGroupProbes(model);
    groups = read.groups;
    problems = read.problems;
    checker.update(healthTargets(model, groups));
  };
  refresh(options.source.current);
  const ready = Promise.resolve();
  const sub = options.source.onChange((model) => refresh(model));

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
      sub[Symbol.dispose]();
      checker.close();
    },
  };
}
