/**
 * Probes endpoints on their own schedule (Kubernetes semantics: first probe after
 * `initialDelay`, then every `period`; `failureThreshold` consecutive failures make a healthy
 * endpoint UNHEALTHY, `successThreshold` consecutive successes make an unhealthy one HEALTHY;
 * the first result decides the starting state; an endpoint that is not HEALTHY is probed every
 * `unhealthyPeriodMs` when the probe sets one) and writes each transition to a sink (the
 * registry), which turns it into a new model generation and EDS `health_status`.
 * Every timer is unref'd; `close()` stops all probing and clears the health it set.
 */
import { runProbe, type ProbeResult } from './probers.ts';
import type { ProbeSpec } from './workload-group.ts';
import type { EndpointHealth } from '../model/mesh-model.ts';

/** One endpoint to probe. */
export interface HealthTarget {
  /** Endpoint id as the model knows it (`namespace/name` for a WorkloadEntry). */
  id: string;
  address: string;
  probe: ProbeSpec;
  /** `namespace/name` of the WorkloadGroup the probe came from. */
  group: string;
}

/** Where transitions go (the registry's `setEndpointHealth`). */
export interface HealthSink {
  setEndpointHealth(id: string, health: EndpointHealth | undefined): void;
}

/** One endpoint's probe state, for `/debug/health`. */
export interface TargetStatus {
  id: string;
  group: string;
  address: string;
  probe: string;
  /** `UNKNOWN` until the first result. */
  health: 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';
  lastResult?: string;
  lastProbeAt?: string;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  probes: number;
}

/** See the module comment. */
export interface HealthChecker {
  /** Replaces the target set: new targets start probing, removed ones stop (and their health is cleared), changed ones restart. */
  update(targets: readonly HealthTarget[]): void;
  status(): TargetStatus[];
  /** Resolves after the next probe result of `id` (tests). */
  nextResult(id: string): Promise<ProbeResult>;
  /** Stops every probe and clears the health set by them. Idempotent. */
  close(): void;
}

interface Running {
  target: HealthTarget;
  key: string;
  timer?: NodeJS.Timeout;
  isStopped: boolean;
  status: TargetStatus;
  waiters: ((r: ProbeResult) => void)[];
}

function describe(t: HealthTarget): string {
  const a = t.probe.action;
  if (a.type === 'httpGet') return `${a.scheme} GET :${a.port}${a.path}`;
  if (a.type === 'tcpSocket') return `TCP :${a.port}`;
  return `gRPC health :${a.port}${a.service ? ` ${a.service}` : ''}`;
}

/** Creates a checker writing to `sink`. */
export function createHealthChecker(sink: HealthSink): HealthChecker {
  const running = new Map<string, Running>();
  let isClosed = false;

  function schedule(r: Running, delayMs: number): void {
    if (r.isStopped) return;
    r.timer = setTimeout(() => void probeOnce(r), Math.max(0, delayMs));
    r.timer.unref();
  }

  async function probeOnce(r: Running): Promise<void> {
    const started = Date.now();
    const { probe, address, id } = r.target;
    const result = await runProbe(probe.action, address, probe.timeoutMs);
    if (r.isStopped) return;
    const s = r.status;
    s.probes++;
    s.lastResult = result.detail;
    s.lastProbeAt = new Date().toISOString();
    if (result.isSuccess) {
      s.consecutiveSuccesses++;
      s.consecutiveFailures = 0;
    } else {
      s.consecutiveFailures++;
      s.consecutiveSuccesses = 0;
    }
    let next = s.health;
    if (s.health === 'UNKNOWN') next = result.isSuccess ? 'HEALTHY' : 'UNHEALTHY';
    else if (s.health === 'HEALTHY' && s.consecutiveFailures >= probe.failureThreshold) next = 'UNHEALTHY';
    else if (s.health === 'UNHEALTHY' && s.consecutiveSuccesses >= probe.successThreshold) next = 'HEALTHY';
    if (next !== s.health) {
      s.health = next;
      try {
        sink.setEndpointHealth(id, next === 'UNKNOWN' ? undefined : next);
      } catch {
        // the sink validates ids and values; ours are always valid
      }
    }
    for (const w of r.waiters.splice(0)) w(result);
    const periodMs = s.health === 'HEALTHY' ? probe.periodMs : (probe.unhealthyPeriodMs ?? probe.periodMs);
    schedule(r, periodMs - (Date.now() - started));
  }

  function stop(r: Running): void {
    r.isStopped = true;
    if (r.timer) clearTimeout(r.timer);
    if (r.status.health !== 'UNKNOWN') sink.setEndpointHealth(r.target.id, undefined);
  }

  return {
    update(targets) {
      if (isClosed) return;
      const wanted = new Map(targets.map((t) => [t.id, t]));
      for (const [id, r] of running) {
        const t = wanted.get(id);
        if (!t || JSON.stringify([t.address, t.probe]) !== r.key) {
          stop(r);
          running.delete(id);
        }
      }
      for (const t of wanted.values()) {
        if (running.has(t.id)) continue;
        const r: Running = {
          target: t, key: JSON.stringify([t.address, t.probe]), isStopped: false, waiters: [],
          status: { id: t.id, group: t.group, address: t.address, probe: describe(t), health: 'UNKNOWN', consecutiveSuccesses: 0, consecutiveFailures: 0, probes: 0 },
        };
        running.set(t.id, r);
        schedule(r, t.probe.initialDelayMs);
      }
    },
    status: () => [...running.values()].map((r) => ({ ...r.status })),
    nextResult(id) {
      const r = running.get(id);
      if (!r) return Promise.reject(new Error(`no health target ${id}`));
      return new Promise((resolve) => r.waiters.push(resolve));
    },
    close() {
      if (isClosed) return;
      isClosed = true;
      for (const r of running.values()) stop(r);
      running.clear();
    },
  };
}
