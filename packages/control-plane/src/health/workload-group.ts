/**
 * The part of Istio's `WorkloadGroup` (networking.istio.io/v1) that health checking needs:
 * `spec.metadata.labels` (which WorkloadEntries and registered workloads belong to the group)
 * and `spec.probe` (httpGet, tcpSocket or grpc, with Kubernetes probe timing). The config
 * loader reads WorkloadGroups into the model (schema-checked); this module turns one into a
 * probe setting. A bad group throws MeshError `WEFT_ERR_CONFIG_INVALID` naming the field (the
 * workload-group analyzer reports that as a finding, so such a config is never published).
 */
import { MeshError } from '@weft/xds-client';
import type { ConfigObject, MeshModel, WorkloadGroupSpec } from '../model/mesh-model.ts';

/** What to probe: exactly one action. */
export type ProbeAction =
  | { type: 'httpGet'; path: string; port: number; host?: string; scheme: 'HTTP' | 'HTTPS'; headers: readonly { name: string; value: string }[] }
  | { type: 'tcpSocket'; port: number; host?: string }
  | { type: 'grpc'; port: number; service: string };

/** A parsed probe; durations in ms. */
export interface ProbeSpec {
  action: ProbeAction;
  initialDelayMs: number;
  periodMs: number;
  /**
   * Period while the endpoint is not HEALTHY (Envoy's `unhealthy_interval`); `periodMs` when
   * absent. Readiness probes use a short one so a workload gets traffic soon after it listens.
   */
  unhealthyPeriodMs?: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** A parsed WorkloadGroup with a probe. */
export interface WorkloadGroupProbe {
  name: string;
  namespace: string;
  /** Labels every member carries (`spec.metadata.labels`); empty selects nothing. */
  labels: Readonly<Record<string, string>>;
  probe: ProbeSpec;
}

function fail(where: string, field: string, message: string): never {
  throw new MeshError('WEFT_ERR_CONFIG_INVALID', `WorkloadGroup ${where}: ${field} ${message}`, { details: { resource: `WorkloadGroup ${where}`, field } });
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function seconds(where: string, probe: Record<string, unknown>, key: string, fallback: number, min: number): number {
  const v = probe[key];
  if (v === undefined) return fallback * 1000;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) fail(where, `spec.probe.${key}`, `must be a number of seconds >= ${min}`);
  return Math.round(v * 1000);
}

function count(where: string, probe: Record<string, unknown>, key: string, fallback: number): number {
  const v = probe[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(where, `spec.probe.${key}`, 'must be an integer >= 1');
  return v;
}

function portOf(where: string, field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) fail(where, field, 'must be a port number 1..65535 (named ports are not supported)');
  return v;
}

function actionOf(where: string, probe: Record<string, unknown>): ProbeAction {
  const kinds = ['httpGet', 'tcpSocket', 'grpc', 'exec'].filter((k) => probe[k] !== undefined);
  if (kinds.length !== 1) fail(where, 'spec.probe', `must have exactly one of httpGet, tcpSocket, grpc (found ${kinds.length ? kinds.join(', ') : 'none'})`);
  const kind = kinds[0];
  if (kind === 'exec') fail(where, 'spec.probe.exec', 'is not supported: the control plane cannot run commands inside a workload (use httpGet, tcpSocket or grpc)');
  const a = obj(probe[kind as string]);
  if (!a) fail(where, `spec.probe.${kind}`, 'must be an object');
  if (kind === 'httpGet') {
    const path = a.path === undefined ? '/' : a.path;
    if (typeof path !== 'string' || !path.startsWith('/')) fail(where, 'spec.probe.httpGet.path', 'must be a path starting with "/"');
    const scheme = a.scheme === undefined ? 'HTTP' : a.scheme;
    if (scheme !== 'HTTP' && scheme !== 'HTTPS') fail(where, 'spec.probe.httpGet.scheme', 'must be HTTP or HTTPS');
    const headers: { name: string; value: string }[] = [];
    const raw = a.httpHeaders ?? [];
    if (!Array.isArray(raw)) fail(where, 'spec.probe.httpGet.httpHeaders', 'must be a list of {name, value}');
    raw.forEach((h, i) => {
      const o = obj(h);
      if (!o || typeof o.name !== 'string' || !o.name || typeof o.value !== 'string') fail(where, `spec.probe.httpGet.httpHeaders[${i}]`, 'must be {name, value} strings');
      headers.push({ name: o.name, value: o.value });
    });
    if (a.host !== undefined && (typeof a.host !== 'string' || !a.host)) fail(where, 'spec.probe.httpGet.host', 'must be a non-empty string');
    return { type: 'httpGet', path, port: portOf(where, 'spec.probe.httpGet.port', a.port), scheme, headers, ...(a.host ? { host: a.host as string } : {}) };
  }
  if (kind === 'tcpSocket') {
    if (a.host !== undefined && (typeof a.host !== 'string' || !a.host)) fail(where, 'spec.probe.tcpSocket.host', 'must be a non-empty string');
    return { type: 'tcpSocket', port: portOf(where, 'spec.probe.tcpSocket.port', a.port), ...(a.host ? { host: a.host as string } : {}) };
  }
  if (a.service !== undefined && typeof a.service !== 'string') fail(where, 'spec.probe.grpc.service', 'must be a string');
  return { type: 'grpc', port: portOf(where, 'spec.probe.grpc.port', a.port), service: (a.service as string | undefined) ?? '' };
}

/**
 * Parses one raw Kubernetes object. Returns `undefined` for anything that is not a WorkloadGroup
 * or that has no probe; throws the MeshError of the module comment for a bad one.
 */
export function parseWorkloadGroup(doc: unknown, defaultNamespace = 'default'): WorkloadGroupProbe | undefined {
  const o = obj(doc);
  if (!o || o.kind !== 'WorkloadGroup' || typeof o.apiVersion !== 'string' || !o.apiVersion.startsWith('networking.istio.io/')) return undefined;
  const meta = obj(o.metadata) ?? {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const namespace = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : defaultNamespace;
  const where = `${namespace}/${name || '?'}`;
  if (!name) fail(where, 'metadata.name', 'must be a non-empty string');
  const spec = obj(o.spec) ?? {};
  const probe = spec.probe === undefined ? undefined : obj(spec.probe);
  if (spec.probe !== undefined && !probe) fail(where, 'spec.probe', 'must be an object');
  if (!probe) return undefined;
  const labelsRaw = obj(obj(spec.metadata)?.labels) ?? {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(labelsRaw)) {
    if (typeof v !== 'string') fail(where, `spec.metadata.labels.${k}`, 'must be a string');
    labels[k] = v;
  }
  return {
    name,
    namespace,
    labels,
    probe: {
      action: actionOf(where, probe),
      initialDelayMs: seconds(where, probe, 'initialDelaySeconds', 0, 0),
      periodMs: seconds(where, probe, 'periodSeconds', 10, 0.01),
      timeoutMs: seconds(where, probe, 'timeoutSeconds', 1, 0.01),
      successThreshold: count(where, probe, 'successThreshold', 1),
      failureThreshold: count(where, probe, 'failureThreshold', 3),
    },
  };
}

/** {@link parseWorkloadGroup} of a WorkloadGroup already loaded into the model. */
export function probeOfWorkloadGroup(group: ConfigObject<WorkloadGroupSpec>): WorkloadGroupProbe | undefined {
  return parseWorkloadGroup({ apiVersion: group.apiVersion, kind: 'WorkloadGroup', metadata: { name: group.name, namespace: group.namespace }, spec: group.spec }, group.namespace);
}

/**
 * The WorkloadGroups of `model` that have a probe, parsed. A group that does not parse (only
 * possible for one the analyzer let through with a warning, such as an `exec` probe) is left out
 * and its message goes to `problems`. Never throws.
 */
export function workloadGroupProbes(model: MeshModel): { groups: WorkloadGroupProbe[]; problems: string[] } {
  const groups: WorkloadGroupProbe[] = [];
  const problems: string[] = [];
  for (const g of model.workloadGroups ?? []) {
    try {
      const parsed = probeOfWorkloadGroup(g);
      if (parsed) groups.push(parsed);
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  return { groups, problems };
}
