/**
 * The readiness probe of a self-registered workload — the proxyless analogue of a pod's
 * readiness probe, which the kubelet runs and Kubernetes turns into endpoint readiness (and
 * istiod into EDS `health_status`). The control plane runs it with the same probers as
 * WorkloadGroup checks; until it passes the workload is published UNHEALTHY, so neither Weft
 * nor grpc-js-xds clients pick it.
 *
 * A workload may advertise its probe in its node metadata under `WEFT_READINESS_PROBE`:
 * - `tcp:PORT` — a TCP connection is accepted (the default, on the first served port);
 * - `http:PORT/path` or `https:PORT/path` — GET answers 200..399 (e.g. the workload admin
 *   server's `/ready`);
 * - `grpc:PORT` or `grpc:PORT/service` — `grpc.health.v1.Health/Check` answers SERVING (the
 *   zero-code gRPC servers answer it);
 * - `none` — no gating: the workload is ready as soon as it registers (the behaviour before
 *   readiness gating, for a workload the control plane cannot reach).
 *
 * The default is TCP because it is the one probe every meshed server answers whatever the
 * PeerAuthentication: a plaintext HTTP or gRPC probe is refused by a STRICT mTLS server (Istio
 * solves that by rewriting probes to the sidecar agent, which a proxyless workload has not).
 * A value that does not parse falls back to the default, so a typo never makes a workload
 * routable without a check.
 */
import type { ServicePort } from '../model/mesh-model.ts';
import type { ProbeAction, ProbeSpec } from './workload-group.ts';

/** The node metadata key a workload advertises its readiness probe under. */
export const READINESS_PROBE_METADATA_KEY = 'WEFT_READINESS_PROBE';

/**
 * Timing of readiness probes (Kubernetes field names, in ms): probed at once on registration,
 * every 500 ms while not ready (Envoy's `unhealthy_interval`), every second once ready; three
 * failures in a row take a ready workload out of rotation, one success brings it back.
 */
export const READINESS_TIMING: Omit<ProbeSpec, 'action'> = Object.freeze({
  initialDelayMs: 0,
  periodMs: 1000,
  unhealthyPeriodMs: 500,
  timeoutMs: 1000,
  successThreshold: 1,
  failureThreshold: 3,
});

function portNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** Parses an advertised `WEFT_READINESS_PROBE` value; `undefined` when it does not parse, `null` for `none`. */
export function parseReadinessAction(value: string): ProbeAction | null | undefined {
  const v = value.trim();
  if (v.toLowerCase() === 'none') return null;
  const m = /^(tcp|http|https|grpc):(\d{1,5})(\/.*)?$/i.exec(v);
  if (!m) return undefined;
  const kind = (m[1] as string).toLowerCase();
  const port = portNumber(m[2]);
  if (port === undefined) return undefined;
  const rest = m[3];
  if (kind === 'tcp') return rest === undefined ? { type: 'tcpSocket', port } : undefined;
  if (kind === 'grpc') return { type: 'grpc', port, service: rest === undefined ? '' : rest.slice(1) };
  return { type: 'httpGet', port, path: rest ?? '/', scheme: kind === 'https' ? 'HTTPS' : 'HTTP', headers: [] };
}

/**
 * The readiness probe of a workload serving `ports` with `metadata`: the advertised one (see
 * the module comment), else TCP on the first served port; `undefined` for `none` or when no
 * port is served. Never throws.
 */
export function readinessProbeOf(ports: readonly ServicePort[], metadata: Readonly<Record<string, unknown>>): ProbeSpec | undefined {
  const advertised = metadata[READINESS_PROBE_METADATA_KEY];
  const parsed = typeof advertised === 'string' ? parseReadinessAction(advertised) : undefined;
  if (parsed === null) return undefined;
  const first = ports[0];
  const action: ProbeAction | undefined = parsed ?? (first ? { type: 'tcpSocket', port: first.targetPort ?? first.number } : undefined);
  return action ? { action, ...READINESS_TIMING } : undefined;
}
