/**
 * The compiled route table of one RouteConfiguration: virtual hosts indexed by domain, routes
 * compiled into predicates in order, weighted clusters into a cumulative table. Built once per
 * RDS update (regexes compiled, invalid ones rejected as `WEFT_ERR_XDS_INVALID`); matching a
 * request is synchronous and allocates only short strings (the path without query, its first
 * segment, lower-cased values for case-insensitive matchers).
 */
import { MeshError, ErrorCode } from '@weft/xds-client';
import type { Route, RouteConfiguration, RouteMatch, VirtualHost, WeightedCluster, FractionalPercent } from '@weft/xds-client';
import { DomainMatcher } from './domain-matcher.ts';
import { compileRegex, literalPrefix } from './regex.ts';
import { compileHeaderMatcher, compileQueryParameterMatcher } from './string-matcher.ts';
import type { RequestPredicate } from './string-matcher.ts';
import { headerValue, pathOnly } from './request-facts.ts';
import type { RequestFacts } from './request-facts.ts';
import type { RandomSource } from '../lb/types.ts';

/** A compiled route; `spec` is the decoded xDS route (action, retry policy, filter overrides…). */
export interface CompiledRoute {
  readonly spec: Route;
  readonly virtualHost: CompiledVirtualHost;
  /** Position of the route in its virtual host (for logs and `/config_dump`). */
  readonly index: number;
  /** True when the request satisfies every condition of `spec.match` (runtime fraction aside). */
  matches(req: RequestFacts, path: string): boolean;
  /**
   * The upstream cluster name for this request: the route's cluster, a weighted draw, or the
   * value of the cluster header. `undefined` for non-forwarding actions (redirect, direct
   * response) and when the cluster header is missing (Envoy answers 503 `NR`).
   */
  chooseCluster(req: RequestFacts): string | undefined;
  /** For weighted routes: the weighted cluster entry for a name returned by `chooseCluster`. */
  weightedCluster(name: string): WeightedCluster | undefined;
}

/** A compiled virtual host. */
export interface CompiledVirtualHost {
  readonly spec: VirtualHost;
  readonly routes: readonly CompiledRoute[];
  /**
   * The routes that can possibly match `path` (query already stripped), in config order: a
   * precomputed index by first path segment, so a request scans a few routes, not all.
   */
  candidates(path: string): readonly CompiledRoute[];
}

/** Options of {@link compileRouteTable}. */
export interface RouteTableOptions {
  /** Uniform [0, 1) source for runtime fractions and weighted clusters; default Math.random. */
  random?: RandomSource;
}

/** The compiled route table; see the module comment. */
export class RouteTable {
  readonly spec: RouteConfiguration;
  readonly virtualHosts: readonly CompiledVirtualHost[];
  readonly #domains: DomainMatcher<CompiledVirtualHost>;
  readonly #random: RandomSource;

  /** Use {@link compileRouteTable}. */
  constructor(spec: RouteConfiguration, virtualHosts: CompiledVirtualHost[], random: RandomSource) {
    this.spec = spec;
    this.virtualHosts = virtualHosts;
    this.#domains = new DomainMatcher(virtualHosts.map((v) => [v.spec.domains, v] as const));
    this.#random = random;
  }

  /** The virtual host serving `authority` (see `DomainMatcher` for the rules), if any. */
  virtualHostFor(authority: string): CompiledVirtualHost | undefined {
    return this.#domains.match(authority);
  }

  /**
   * The first route of the virtual host for `authority` that matches `req`, or `undefined`
   * (the caller answers 404 `NR`, `WEFT_ERR_NO_ROUTE`).
   */
  match(authority: string, req: RequestFacts): CompiledRoute | undefined {
    const vh = this.#domains.match(authority);
    if (vh === undefined) return undefined;
    return this.matchInVirtualHost(vh, req);
  }

  /** Route matching within one virtual host (when the caller already resolved it). */
  matchInVirtualHost(vh: CompiledVirtualHost, req: RequestFacts): CompiledRoute | undefined {
    const path = pathOnly(req.path);
    for (const r of vh.candidates(path)) {
      if (!r.matches(req, path)) continue;
      const fraction = r.spec.match.runtimeFraction;
      if (fraction !== undefined && !drawFraction(fraction, this.#random)) continue;
      return r;
    }
    return undefined;
  }
}

function drawFraction(f: FractionalPercent, random: RandomSource): boolean {
  return Math.floor(random() * f.denominator) < f.numerator;
}

function compilePathMatch(match: RouteMatch, where: string): (path: string) => boolean {
  const cs = match.caseSensitive;
  const lower = (s: string) => (cs ? s : s.toLowerCase());
  const p = match.path;
  switch (p.type) {
    case 'prefix': {
      const want = lower(p.prefix);
      if (cs || want === '' || want === '/') return (path) => path.startsWith(want);
      return (path) => path.toLowerCase().startsWith(want);
    }
    case 'path': {
      const want = lower(p.path);
      return (path) => lower(path) === want;
    }
    case 'pathSeparatedPrefix': {
      const want = lower(p.prefix);
      return (path) => {
        const v = lower(path);
        return v.startsWith(want) && (v.length === want.length || v.charCodeAt(want.length) === 47 /* / */);
      };
    }
    case 'safeRegex': {
      const re = compileRegex(p.regex, `${where}.match.safe_regex`);
      return (path) => re.test(path);
    }
  }
}

const GRPC_CONTENT_TYPE = 'application/grpc';

/**
 * The first path segment every path this match accepts must have (`/a/b` → `a`), or
 * `undefined` when the match could accept paths with different first segments.
 */
function requiredFirstSegment(match: RouteMatch): string | undefined {
  const p = match.path;
  if (p.type === 'safeRegex') return segmentOfPrefix(literalPrefix(p.regex), false);
  if (!match.caseSensitive) return undefined;
  switch (p.type) {
    case 'prefix':
      return segmentOfPrefix(p.prefix, false);
    case 'path':
      return segmentOfPrefix(p.path, true);
    case 'pathSeparatedPrefix':
      return segmentOfPrefix(p.prefix, true);
  }
}

function segmentOfPrefix(prefix: string, isComplete: boolean): string | undefined {
  if (prefix.charCodeAt(0) !== 47 /* / */) return undefined;
  const slash = prefix.indexOf('/', 1);
  if (slash > 0) return prefix.slice(1, slash);
  return isComplete ? prefix.slice(1) : undefined;
}

/** The first segment of a request path (`/a/b` → `a`, `/a` → `a`), '' when not absolute. */
function firstSegment(path: string): string | undefined {
  if (path.charCodeAt(0) !== 47) return undefined;
  const slash = path.indexOf('/', 1);
  return slash < 0 ? path.slice(1) : path.slice(1, slash);
}

function buildCandidateIndex(routes: readonly CompiledRoute[]): (path: string) => readonly CompiledRoute[] {
  const segments = routes.map((r) => requiredFirstSegment(r.spec.match));
  const open = routes.filter((_, i) => segments[i] === undefined);
  if (open.length === routes.length) return () => routes;
  const buckets = new Map<string, CompiledRoute[]>();
  routes.forEach((r, i) => {
    const seg = segments[i];
    if (seg === undefined) return;
    let list = buckets.get(seg);
    if (list === undefined) buckets.set(seg, (list = []));
    list.push(r);
  });
  // Each bucket holds its own routes plus every unindexed one, in config order.
  for (const [seg, list] of buckets) buckets.set(seg, [...list, ...open].sort((a, b) => a.index - b.index));
  return (path) => {
    const seg = firstSegment(path);
    return (seg === undefined ? undefined : buckets.get(seg)) ?? open;
  };
}

function compileRoute(route: Route, index: number, vh: CompiledVirtualHost, where: string, random: RandomSource): CompiledRoute {
  const m = route.match;
  const pathTest = compilePathMatch(m, where);
  const predicates: RequestPredicate[] = [
    ...m.headers.map((h, i) => compileHeaderMatcher(h, `${where}.match.headers[${i}]`)),
    ...m.queryParameters.map((q, i) => compileQueryParameterMatcher(q, `${where}.match.query_parameters[${i}]`)),
  ];
  if (m.grpcOnly) predicates.push((req) => headerValue(req, 'content-type')?.startsWith(GRPC_CONTENT_TYPE) === true);
  const matches =
    predicates.length === 0
      ? (_req: RequestFacts, path: string) => pathTest(path)
      : (req: RequestFacts, path: string) => {
          if (!pathTest(path)) return false;
          for (const p of predicates) if (!p(req)) return false;
          return true;
        };

  let chooseCluster: (req: RequestFacts) => string | undefined = () => undefined;
  let weighted: ReadonlyMap<string, WeightedCluster> = new Map();
  if (route.action.type === 'route') {
    const spec = route.action.route.clusterSpecifier;
    if (spec.type === 'cluster') {
      const name = spec.cluster;
      chooseCluster = () => name;
    } else if (spec.type === 'clusterHeader') {
      const header = spec.header.toLowerCase();
      chooseCluster = (req) => headerValue(req, header) || undefined;
    } else {
      const clusters = spec.clusters;
      if (clusters.length === 0) throw new MeshError(ErrorCode.xdsInvalid, `${where}.route.weighted_clusters: no clusters`, { details: { field: where } });
      const cumulative = new Float64Array(clusters.length);
      let total = 0;
      clusters.forEach((c, i) => {
        if (!(c.weight > 0)) throw new MeshError(ErrorCode.xdsInvalid, `${where}.route.weighted_clusters.clusters[${i}].weight must be > 0, got ${c.weight}`, { details: { field: where } });
        total += c.weight;
        cumulative[i] = total;
      });
      const names = clusters.map((c) => c.name);
      weighted = new Map(clusters.map((c) => [c.name, c]));
      chooseCluster = () => {
        const x = Math.floor(random() * total);
        let lo = 0;
        let hi = names.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cumulative[mid]! > x) hi = mid;
          else lo = mid + 1;
        }
        return names[lo];
      };
    }
  }
  return {
    spec: route,
    virtualHost: vh,
    index,
    matches,
    chooseCluster,
    weightedCluster: (name) => weighted.get(name),
  };
}

/**
 * Compiles a decoded RouteConfiguration. Throws `MeshError` `WEFT_ERR_XDS_INVALID` naming the
 * route configuration, virtual host, route index and field when a regex does not compile or a
 * weighted cluster list is unusable; the previous table then stays in use.
 */
export function compileRouteTable(config: RouteConfiguration, options: RouteTableOptions = {}): RouteTable {
  const random = options.random ?? Math.random;
  const hosts = config.virtualHosts.map((vhSpec, vi) => {
    const routes: CompiledRoute[] = [];
    let candidates: (path: string) => readonly CompiledRoute[] = () => routes;
    const vh: CompiledVirtualHost = { spec: vhSpec, routes, candidates: (path) => candidates(path) };
    vhSpec.routes.forEach((r, ri) => {
      const where = `route_config ${config.name}, virtual_hosts[${vi}] (${vhSpec.name}), routes[${ri}]${r.name ? ` (${r.name})` : ''}`;
      routes.push(compileRoute(r, ri, vh, where, random));
    });
    candidates = buildCandidateIndex(routes);
    return vh;
  });
  return new RouteTable(config, hosts, random);
}
