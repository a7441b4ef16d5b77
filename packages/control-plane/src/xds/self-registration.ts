/**
 * Self-registration: a node whose metadata names the service it serves becomes an endpoint of
 * that service while its stream lives — the proxyless analogue of a pod joining its Service.
 * When the node's last stream ends, the endpoint is removed after a grace period, so a
 * reconnect does not flap it.
 *
 * Readiness gating (Kubernetes readiness → EDS health, as istiod publishes it): a registered
 * workload is published UNHEALTHY — listed in EDS, picked by no client — until its readiness
 * probe passes (TCP on the first served port unless the node advertises another, see
 * `health/readiness-probe.ts`), and UNHEALTHY again when the probe fails three times in a row.
 * Probing starts at registration and goes on through the reconnect grace; a reconnect within
 * the grace keeps the readiness already earned. A WorkloadGroup probe selecting the workload
 * writes the registry's probed-health overlay, which takes precedence over readiness.
 *
 * Metadata keys read (Istio's where Istio has one): `NAMESPACE`, `LABELS` (map, or `k=v,k=v`),
 * `WORKLOAD_NAME`, `INSTANCE_IPS` (first address used), `SERVICE_ACCOUNT`, and Weft's
 * `WEFT_SERVICE` (short name or FQDN), `WEFT_PORTS` (`name:port,…`, e.g. `grpc:50051`),
 * `WEFT_READINESS_PROBE`, `WEFT_ENDPOINT_PORT` (an Envoy sidecar's inbound port: peers reach
 * every served port there, so it becomes the endpoint's target port) and `WEFT_PEER_EXCHANGE`
 * (passed on to the endpoint's EDS metadata as `weft.peer_exchange`).
 */
import { NodeMetadataKey } from '@weft/xds-client';
import type { XdsNode } from '@weft/xds-client';
import type { EndpointHealth, ServicePort } from '../model/mesh-model.ts';
import { createHealthChecker, type HealthChecker, type HealthTarget } from '../health/health-checker.ts';
import { readinessProbeOf } from '../health/readiness-probe.ts';
import type { ProbeSpec } from '../health/workload-group.ts';

/** A workload as the registry accepts it (the config store's `RegisteredWorkload`). */
export interface SelfRegisteredWorkload {
  id: string;
  service: string;
  namespace: string;
  address: string;
  ports: ServicePort[];
  labels: Record<string, string>;
  serviceAccount: string;
  locality?: string;
  health?: EndpointHealth;
  /** The node's `WEFT_PEER_EXCHANGE` (`connection`: its servers take the metadata exchange once per connection). */
  peerExchange?: string;
  /**
   * The readiness probe the registrar runs before publishing the workload HEALTHY; `undefined`
   * registers it ready at once. Read by the registrar, never passed to the registry.
   */
  readinessProbe?: ProbeSpec;
}

/** The part of the config store's registry that self-registration uses. */
export interface RegistryLike {
  register(workload: SelfRegisteredWorkload): void;
  unregister(id: string): void;
  /** Sets the (readiness) health of a registered workload; unknown ids are ignored. */
  setHealth(id: string, health: EndpointHealth): void;
}

function protocolOf(portName: string): string {
  const n = portName.toLowerCase();
  if (n.startsWith('grpc-web')) return 'GRPC-WEB';
  if (n.startsWith('grpc')) return 'GRPC';
  if (n.startsWith('http2')) return 'HTTP2';
  if (n.startsWith('https')) return 'HTTPS';
  if (n.startsWith('http')) return 'HTTP';
  if (n.startsWith('tcp')) return 'TCP';
  return 'HTTP';
}

/** Parses `WEFT_PORTS` (`grpc:50051,http:9080`; a bare `9080` is named `http`). Invalid entries are skipped. */
export function parsePorts(value: unknown): ServicePort[] {
  if (typeof value !== 'string') return [];
  const out: ServicePort[] = [];
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [a, b] = part.includes(':') ? part.split(':') : ['http', part];
    const number = Number(b);
    if (!a || !Number.isInteger(number) || number <= 0 || number > 65535) continue;
    out.push({ name: a, number, protocol: protocolOf(a) });
  }
  return out;
}

function parseLabels(value: unknown): Record<string, string> {
  if (typeof value === 'string') {
    return Object.fromEntries(value.split(',').map((kv) => kv.split('=')).filter((kv): kv is [string, string] => kv.length === 2 && !!kv[0]).map(([k, v]) => [k.trim(), v.trim()]));
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  }
  return {};
}

/**
 * Node metadata key of the port peers connect to when a sidecar fronts the served ports
 * (`weft envoy-bootstrap` sets it to the inbound port 15006); absent: the served ports themselves.
 */
export const ENDPOINT_PORT_METADATA_KEY = 'WEFT_ENDPOINT_PORT';

function endpointPortOf(metadata: Readonly<Record<string, unknown>>): number | undefined {
  const raw = metadata[ENDPOINT_PORT_METADATA_KEY];
  const n = typeof raw === 'string' && /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** The workload a node announces, or `undefined` for a node that only consumes. */
export function workloadFromNode(node: XdsNode, metadata: Readonly<Record<string, unknown>>, namespace: string): SelfRegisteredWorkload | undefined {
  const service = metadata.WEFT_SERVICE;
  const endpointPort = endpointPortOf(metadata);
  const ports = parsePorts(metadata.WEFT_PORTS).map((p) => (endpointPort === undefined ? p : { ...p, targetPort: endpointPort }));
  if (typeof service !== 'string' || !service || ports.length === 0) return undefined;
  const ips = typeof metadata.INSTANCE_IPS === 'string' ? metadata.INSTANCE_IPS.split(',').map((s) => s.trim()).filter(Boolean) : [];
  const address = ips[0] ?? node.id?.split('~')[1] ?? '';
  if (!address) return undefined;
  const loc = node.locality;
  const locality = loc && (loc.region || loc.zone || loc.sub_zone) ? `${loc.region ?? ''}/${loc.zone ?? ''}/${loc.sub_zone ?? ''}` : undefined;
  return {
    id: `xds:${node.id}`,
    service,
    namespace,
    address,
    ports,
    labels: parseLabels(metadata.LABELS),
    serviceAccount: typeof metadata.SERVICE_ACCOUNT === 'string' && metadata.SERVICE_ACCOUNT ? metadata.SERVICE_ACCOUNT : service.split('.')[0] ?? service,
    ...(locality ? { locality } : {}),
    ...(typeof metadata[NodeMetadataKey.weftPeerExchange] === 'string' && metadata[NodeMetadataKey.weftPeerExchange] !== '' ? { peerExchange: metadata[NodeMetadataKey.weftPeerExchange] as string } : {}),
    ...readinessOf(ports, metadata),
  };
}

function readinessOf(ports: ServicePort[], metadata: Readonly<Record<string, unknown>>): { readinessProbe?: ProbeSpec } {
  const probe = readinessProbeOf(ports, metadata);
  return probe ? { readinessProbe: probe } : {};
}

/** The readiness of one self-registered workload, as `/debug/health` shows it. */
export interface WorkloadReadiness {
  /** Registry id (`xds:<node id>`). */
  id: string;
  service: string;
  namespace: string;
  /** Address the probe reaches (the endpoint address). */
  address: string;
  /** The probe run (`TCP :9080`, `HTTP GET :15020/ready`, `gRPC health :9090 svc`), or `none`. */
  probe: string;
  /** True while the workload is published HEALTHY (picked by clients). */
  isReady: boolean;
  /** ISO time of the last change of `isReady` (the registration, until the first change). */
  since: string;
  /** What the last probe answered when it failed (`connection refused`, `HTTP 503`, `timeout`); absent after a success. */
  lastError?: string;
  /** ISO time of the last probe; absent before the first and for `none`. */
  lastProbeAt?: string;
  /** Probes run so far (0 for `none`). */
  probes: number;
  /** Failed probes in a row (three take a ready workload out of rotation). */
  consecutiveFailures: number;
  /** False while the node has no live stream (the reconnect grace: still registered and probed). */
  isConnected: boolean;
}

/** Tracks live streams per node, registers / unregisters (after the grace) and probes readiness. */
export interface SelfRegistrar {
  connected(nodeId: string, workload: SelfRegisteredWorkload | undefined): void;
  disconnected(nodeId: string): void;
  /** Readiness of every registered workload (with or without a probe), sorted by id; a fresh copy per call. */
  readiness(): WorkloadReadiness[];
  /** Cancels pending removals and stops probing (on shutdown the registry is closed anyway). */
  close(): void;
}

/** Per registered workload (probed or not): its readiness, and its probe when it has one. */
interface Registration {
  service: string;
  namespace: string;
  address: string;
  /** The readiness probe's target, and the address + probe it was made for (a reconnect with the same keeps its readiness). */
  probe?: { target: HealthTarget; key: string };
  isReady: boolean;
  sinceMs: number;
}

/** Creates a registrar over `registry`; without a registry every call is a no-op. */
export function createSelfRegistrar(registry: RegistryLike | undefined, graceMs: number): SelfRegistrar {
  const live = new Map<string, { streams: number; workloadId?: string; timer?: NodeJS.Timeout }>();
  const registrations = new Map<string, Registration>();
  const checker: HealthChecker = createHealthChecker({
    setEndpointHealth(id, health) {
      const r = registrations.get(id);
      if (!r?.probe || !registry) return;
      const isReady = health === 'HEALTHY';
      if (r.isReady !== isReady) {
        r.isReady = isReady;
        r.sinceMs = Date.now();
      }
      registry.setHealth(id, isReady ? 'HEALTHY' : 'UNHEALTHY');
    },
  });
  const retarget = (): void => checker.update([...registrations.values()].flatMap((r) => (r.probe ? [r.probe.target] : [])));

  function register(workload: SelfRegisteredWorkload): void {
    if (!registry) return;
    const { readinessProbe, ...rest } = workload;
    const before = registrations.get(workload.id);
    const noted = (probe: Registration['probe'], isReady: boolean): void => {
      const isSame = before !== undefined && (before.probe !== undefined) === (probe !== undefined) && before.isReady === isReady;
      registrations.set(workload.id, { service: workload.service, namespace: workload.namespace, address: workload.address, ...(probe ? { probe } : {}), isReady, sinceMs: isSame ? before.sinceMs : Date.now() });
    };
    if (readinessProbe) {
      const key = JSON.stringify([workload.address, readinessProbe]);
      if (before?.probe?.key === key) {
        // The same workload reconnecting keeps the readiness it earned; its probe runs on.
        registry.register({ ...rest, health: before.isReady ? 'HEALTHY' : 'UNHEALTHY' });
        noted(before.probe, before.isReady);
        return;
      }
      registry.register({ ...rest, health: 'UNHEALTHY' });
      noted({ target: { id: workload.id, address: workload.address, probe: readinessProbe, group: 'readiness' }, key }, false);
    } else {
      registry.register({ ...rest, health: 'HEALTHY' });
      noted(undefined, true);
      if (before?.probe === undefined) return;
    }
    retarget();
  }

  return {
    connected(nodeId, workload) {
      if (!registry) return;
      const entry = live.get(nodeId) ?? { streams: 0 };
      if (entry.timer) clearTimeout(entry.timer);
      entry.timer = undefined;
      entry.streams++;
      if (workload) {
        entry.workloadId = workload.id;
        try {
          register(workload);
        } catch {
          // a registration the registry refuses (bad address, …) leaves the node a plain client
        }
      }
      live.set(nodeId, entry);
    },
    disconnected(nodeId) {
      const entry = live.get(nodeId);
      if (!registry || !entry) return;
      entry.streams = Math.max(0, entry.streams - 1);
      if (entry.streams > 0) return;
      const id = entry.workloadId;
      if (!id) {
        live.delete(nodeId);
        return;
      }
      entry.timer = setTimeout(() => {
        live.delete(nodeId);
        registrations.delete(id);
        retarget();
        registry.unregister(id);
      }, graceMs);
      entry.timer.unref();
    },
    readiness() {
      const probed = new Map(checker.status().map((s) => [s.id, s]));
      const connected = new Set<string>();
      for (const entry of live.values()) if (entry.streams > 0 && entry.workloadId) connected.add(entry.workloadId);
      const out: WorkloadReadiness[] = [];
      for (const [id, r] of registrations) {
        const s = r.probe ? probed.get(id) : undefined;
        out.push({
          id, service: r.service, namespace: r.namespace, address: r.address,
          probe: s?.probe ?? (r.probe ? 'pending' : 'none'),
          isReady: r.isReady,
          since: new Date(r.sinceMs).toISOString(),
          ...(s && s.consecutiveFailures > 0 && s.lastResult !== undefined ? { lastError: s.lastResult } : {}),
          ...(s?.lastProbeAt ? { lastProbeAt: s.lastProbeAt } : {}),
          probes: s?.probes ?? 0,
          consecutiveFailures: s?.consecutiveFailures ?? 0,
          isConnected: connected.has(id),
        });
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },
    close() {
      for (const entry of live.values()) if (entry.timer) clearTimeout(entry.timer);
      live.clear();
      registrations.clear();
      checker.close();
    },
  };
}
