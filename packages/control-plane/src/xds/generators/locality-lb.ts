/**
 * Locality-aware load balancing of one ClusterLoadAssignment for one client, as istiod applies
 * a DestinationRule's `trafficPolicy.loadBalancer.localityLbSetting` relative to the locality
 * the client reports (node `locality` in its bootstrap):
 *
 * - `distribute`: for the first entry whose `from` matches the client, each `to` pattern's
 *   weight is shared by the localities it matches (in proportion to their own weights); the
 *   localities no `to` names get no traffic (their endpoints are dropped).
 * - failover (only with `outlierDetection` set, as in Istio): priority 0 for the client's
 *   region/zone/subzone, 1 for its region/zone, 2 for its region, 3 elsewhere; a `failover`
 *   entry whose `from` is the client's region keeps its `to` region at 3 and moves other
 *   regions to 4. With `failoverPriority` labels, endpoints are ranked instead by how many of
 *   those labels, in order, equal the client's (topology labels come from the locality).
 *   Priorities are then renumbered 0, 1, 2… without gaps.
 *
 * Pure functions on plain EDS messages; the snapshot applies them per client and caches them.
 */
import type { TrafficPolicyView } from './istio-views.ts';

/** Where a client runs: its locality (`region/zone/subzone`) and, if known, its labels. */
export interface ClientPlacement {
  locality: string;
  labels?: Readonly<Record<string, string>>;
}

/**
 * The placement a node reports: its `locality` (region/zone/sub_zone, any may be empty) and the
 * `LABELS` of its metadata (`k=v,k=v` string or a map, as Istio and Weft send them). Undefined
 * when the node reports no locality, so callers can pass it straight to `Snapshot.lookup`.
 */
export function placementOfNode(locality: { region?: string; zone?: string; sub_zone?: string } | undefined, metadataLabels: unknown): ClientPlacement | undefined {
  if (!locality || !(locality.region || locality.zone || locality.sub_zone)) return undefined;
  const labels: Record<string, string> = {};
  if (typeof metadataLabels === 'string') {
    for (const pair of metadataLabels.split(',')) {
      const eq = pair.indexOf('=');
      if (eq > 0) labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
  } else if (metadataLabels && typeof metadataLabels === 'object') {
    for (const [k, v] of Object.entries(metadataLabels)) if (typeof v === 'string') labels[k] = v;
  }
  return { locality: `${locality.region ?? ''}/${locality.zone ?? ''}/${locality.sub_zone ?? ''}`, labels };
}

interface LocalityView {
  region?: string;
  zone?: string;
  sub_zone?: string;
}

interface LocalityGroup {
  locality?: LocalityView;
  lb_endpoints?: { metadata?: unknown }[];
  load_balancing_weight?: { value: number };
  priority?: number;
  [k: string]: unknown;
}

function splitLocality(l: string): [string, string, string] {
  const [region = '', zone = '', subZone = ''] = l.split('/');
  return [region, zone, subZone];
}

function partsOf(l: LocalityView | undefined): [string, string, string] {
  return [l?.region ?? '', l?.zone ?? '', l?.sub_zone ?? ''];
}

/** True when locality `l` matches `pattern` (`region/zone/subzone`, `*` or a missing part matches anything). */
export function localityMatches(l: readonly [string, string, string], pattern: string): boolean {
  const p = pattern.split('/');
  for (let i = 0; i < 3; i++) {
    const want = p[i];
    if (want === undefined || want === '*') return true;
    if (want !== l[i]) return false;
  }
  return true;
}

/** The topology labels Istio derives from a locality, used by `failoverPriority`. */
function topologyLabels(l: readonly [string, string, string]): Record<string, string> {
  return { 'topology.kubernetes.io/region': l[0], 'topology.kubernetes.io/zone': l[1], 'topology.istio.io/subzone': l[2] };
}

function applyDistribute(groups: LocalityGroup[], to: Readonly<Record<string, number>>): LocalityGroup[] {
  const unmatched = new Set(groups.map((_, i) => i));
  const weights = new Map<number, number>();
  for (const [pattern, weight] of Object.entries(to)) {
    const matched: number[] = [];
    let total = 0;
    for (const i of unmatched) {
      if (localityMatches(partsOf(groups[i]?.locality), pattern)) matched.push(i);
    }
    for (const i of matched) {
      unmatched.delete(i);
      total += groups[i]?.load_balancing_weight?.value ?? 1;
    }
    for (const i of matched) {
      const own = groups[i]?.load_balancing_weight?.value ?? 1;
      const w = Math.ceil((own * weight) / total);
      if (w > 0) weights.set(i, w);
    }
  }
  return groups.flatMap((g, i) => {
    const w = weights.get(i);
    return w === undefined ? [] : [{ ...g, load_balancing_weight: { value: w }, priority: 0 }];
  });
}

function labelsOf(group: LocalityGroup): Record<string, string> {
  const meta = group.lb_endpoints?.[0]?.metadata as { filter_metadata?: { istio?: { fields?: Record<string, { struct_value?: { fields?: Record<string, { string_value?: string }> } }> } } } | undefined;
  const fields = meta?.filter_metadata?.istio?.fields?.['labels']?.struct_value?.fields ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (typeof v.string_value === 'string') out[k] = v.string_value;
  return out;
}

function failoverPriorities(groups: LocalityGroup[], client: ClientPlacement, failover: readonly { from?: string; to?: string }[], failoverPriority: readonly string[]): number[] {
  const mine = splitLocality(client.locality);
  if (failoverPriority.length > 0) {
    const clientLabels = { ...topologyLabels(mine), ...(client.labels ?? {}) };
    return groups.map((g) => {
      const theirs = { ...topologyLabels(partsOf(g.locality)), ...labelsOf(g) };
      let matched = 0;
      while (matched < failoverPriority.length) {
        const key = failoverPriority[matched] as string;
        if (clientLabels[key] === undefined || clientLabels[key] !== theirs[key]) break;
        matched++;
      }
      return failoverPriority.length - matched;
    });
  }
  return groups.map((g) => {
    const theirs = partsOf(g.locality);
    let p = 3;
    if (theirs[0] === mine[0]) p = theirs[1] === mine[1] ? (theirs[2] === mine[2] ? 0 : 1) : 2;
    if (p === 3) {
      const rule = failover.find((f) => f.from === mine[0]);
      if (rule && theirs[0] !== rule.to) p = 4;
    }
    return p;
  });
}

/**
 * The assignment `message` as the client at `client` should get it under `policy`, or
 * `undefined` when the policy changes nothing for it (no locality setting in force, or the
 * client reports no locality).
 */
export function applyLocalityLb(message: Readonly<Record<string, unknown>>, policy: TrafficPolicyView, client: ClientPlacement): Record<string, unknown> | undefined {
  const setting = policy.loadBalancer?.localityLbSetting;
  if (setting?.enabled === false || client.locality.replaceAll('/', '') === '') return undefined;
  const groups = (message.endpoints as LocalityGroup[] | undefined) ?? [];
  if (groups.length === 0) return undefined;
  const mine = splitLocality(client.locality);
  const distribute = setting?.distribute?.find((d) => d.from !== undefined && localityMatches(mine, d.from));
  if (distribute) return { ...message, endpoints: applyDistribute(groups, distribute.to ?? {}) };
  if (!policy.outlierDetection) return undefined;
  const raw = failoverPriorities(groups, client, setting?.failover ?? [], setting?.failoverPriority ?? []);
  const ranks = [...new Set(raw)].sort((a, b) => a - b);
  return { ...message, endpoints: groups.map((g, i) => ({ ...g, priority: ranks.indexOf(raw[i] as number) })) };
}
