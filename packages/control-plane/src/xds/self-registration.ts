/**
 * Self-registration: a node whose metadata names the service it serves becomes an endpoint of
 * that service while its stream lives — the proxyless analogue of a pod joining its Service.
 * When the node's last stream ends, the endpoint is removed after a grace period, so a
 * reconnect does not flap it.
 *
 * Metadata keys read (Istio's where Istio has one): `NAMESPACE`, `LABELS` (map, or `k=v,k=v`),
 * `WORKLOAD_NAME`, `INSTANCE_IPS` (first address used), `SERVICE_ACCOUNT`, and Weft's
 * `WEFT_SERVICE` (short name or FQDN) and `WEFT_PORTS` (`name:port,…`, e.g. `grpc:50051`).
 */
import type { XdsNode } from '@weft/xds-client';
import type { EndpointHealth, ServicePort } from '../model/mesh-model.ts';

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
}

/** The part of the config store's registry that self-registration uses. */
export interface RegistryLike {
  register(workload: SelfRegisteredWorkload): void;
  unregister(id: string): void;
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

/** The workload a node announces, or `undefined` for a node that only consumes. */
export function workloadFromNode(node: XdsNode, metadata: Readonly<Record<string, unknown>>, namespace: string): SelfRegisteredWorkload | undefined {
  const service = metadata.WEFT_SERVICE;
  const ports = parsePorts(metadata.WEFT_PORTS);
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
    health: 'HEALTHY',
  };
}

/** Tracks live streams per node and registers / unregisters (after the grace) accordingly. */
export interface SelfRegistrar {
  connected(nodeId: string, workload: SelfRegisteredWorkload | undefined): void;
  disconnected(nodeId: string): void;
  /** Cancels pending removals (on shutdown the registry is closed anyway). */
  close(): void;
}

/** Creates a registrar over `registry`; without a registry every call is a no-op. */
export function createSelfRegistrar(registry: RegistryLike | undefined, graceMs: number): SelfRegistrar {
  const live = new Map<string, { streams: number; workloadId?: string; timer?: NodeJS.Timeout }>();
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
          registry.register(workload);
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
        registry.unregister(id);
      }, graceMs);
      entry.timer.unref();
    },
    close() {
      for (const entry of live.values()) if (entry.timer) clearTimeout(entry.timer);
      live.clear();
    },
  };
}
