/**
 * Decoding and validation of `envoy.config.endpoint.v3.ClusterLoadAssignment` (EDS) per gRFC
 * A27 (priorities contiguous from 0, weights within uint32), A42 (per-endpoint weights) and A61
 * (additional addresses).
 */
import { arr, decodeSafely, fractionalPercent, has, invalid, metadata, num, obj, str, wrapped, type Obj } from './common.ts';
import type { ClusterLoadAssignment, DecodeResult, Endpoint, EndpointHealthStatus, LocalityEndpoints } from './types.ts';

const MAX_UINT32 = 0xffffffff;

function socketAddress(value: unknown, field: string): { address: string; port: number } {
  const s = obj(obj(value)['socket_address']);
  const address = str(s['address']);
  if (address === '') invalid(`${field}.socket_address.address`, 'must not be empty');
  if (has(s, 'named_port')) invalid(`${field}.socket_address.named_port`, 'named ports are not supported');
  const port = num(s['port_value']);
  if (port < 1 || port > 65535) invalid(`${field}.socket_address.port_value`, `${port} is not a valid port`);
  return { address, port };
}

function endpoint(e: Obj, field: string): Endpoint {
  const ep = obj(e['endpoint']);
  const { address, port } = socketAddress(ep['address'], `${field}.endpoint.address`);
  const weight = wrapped(e['load_balancing_weight']) ?? 1;
  if (weight === 0) invalid(`${field}.load_balancing_weight`, 'must be at least 1');
  return {
    address,
    port,
    additionalAddresses: arr(ep['additional_addresses']).map((a, i) => socketAddress(a['address'], `${field}.endpoint.additional_addresses[${i}].address`)),
    ...(str(ep['hostname']) ? { hostname: str(ep['hostname']) } : {}),
    healthStatus: (str(e['health_status']) || 'UNKNOWN') as EndpointHealthStatus,
    loadBalancingWeight: weight,
    metadata: metadata(e['metadata']),
  };
}

/** Validates a decoded ClusterLoadAssignment message; `fallbackName` is used when it has none. */
export function clusterLoadAssignmentFrom(m: Obj, field = '', fallbackName = ''): ClusterLoadAssignment {
  const prefix = field === '' ? '' : `${field}.`;
  const localities: LocalityEndpoints[] = [];
  const seen = new Set<string>();
  const weightPerPriority = new Map<number, number>();
  arr(m['endpoints']).forEach((l, i) => {
    const lf = `${prefix}endpoints[${i}]`;
    const loc = obj(l['locality']);
    const locality = { region: str(loc['region']), zone: str(loc['zone']), subZone: str(loc['sub_zone']) };
    const priority = num(l['priority']);
    const key = `${priority}|${locality.region}|${locality.zone}|${locality.subZone}`;
    if (seen.has(key)) invalid(`${lf}.locality`, `duplicate locality ${JSON.stringify(locality)} at priority ${priority}`);
    seen.add(key);
    const weight = wrapped(l['load_balancing_weight']);
    const sum = (weightPerPriority.get(priority) ?? 0) + (weight ?? 0);
    if (sum > MAX_UINT32) invalid(`${lf}.load_balancing_weight`, `locality weights of priority ${priority} exceed uint32`);
    weightPerPriority.set(priority, sum);
    localities.push({
      locality,
      priority,
      ...(weight ? { loadBalancingWeight: weight } : {}),
      endpoints: arr(l['lb_endpoints']).map((e, j) => endpoint(e, `${lf}.lb_endpoints[${j}]`)),
    });
  });
  const priorities = [...weightPerPriority.keys()].sort((a, b) => a - b);
  priorities.forEach((p, i) => {
    if (p !== i) invalid(`${prefix}endpoints`, `priorities are not contiguous from 0 (missing ${i})`);
  });
  const policy = obj(m['policy']);
  const factor = wrapped(policy['overprovisioning_factor']) ?? 140;
  return {
    clusterName: str(m['cluster_name']) || fallbackName,
    localities,
    overprovisioningFactor: factor / 100,
    dropOverloads: arr(policy['drop_overloads']).map((d, i) => {
      const category = str(d['category']);
      if (category === '') invalid(`${prefix}policy.drop_overloads[${i}].category`, 'must not be empty');
      return { category, dropPercentage: fractionalPercent(d['drop_percentage'], { numerator: 0, denominator: 100 }) };
    }),
  };
}

/** Decodes one EDS resource (already unpacked from its `Any`). Never throws. */
export function decodeClusterLoadAssignment(message: Obj): DecodeResult<ClusterLoadAssignment> {
  return decodeSafely(() => clusterLoadAssignmentFrom(message));
}
