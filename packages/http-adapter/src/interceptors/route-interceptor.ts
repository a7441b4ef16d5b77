/**
 * The routing interceptor, outermost of the mesh chain. Per request: starts its telemetry when
 * the dispatcher has any (`telemetry/outbound-telemetry.ts`: it sees every request, whatever
 * routing decides, and its duration includes the wait for a first config). Is the origin a host the
 * mesh knows? If not, the outbound traffic policy decides (ALLOW_ANY: pass through —
 * PassthroughCluster; REGISTRY_ONLY: fail with `WEFT_ERR_UNKNOWN_HOST`, flag `NR` —
 * BlackHoleCluster — without opening a connection). If it is: route (404 `NR` when nothing
 * matches), answer redirects and direct responses locally, apply prefix/regex/host rewrites and
 * header mutations, mirror a share of requests fire-and-forget, and hand the request on with a
 * {@link MeshRequestContext}. The first request to a never-seen host waits (bounded) for config.
 */
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCode, MeshError, isMeshError } from '@weft/xds-client';
import type { HeaderMutations, RedirectAction, RouteAction } from '@weft/xds-client';
import { isSampled } from '@weft/core';
import type { HostView, MeshView, RouteView } from '../mesh-view.ts';
import { applyMutations, applyRegexRewrite, hasMutations, normalizeHeaders, splitPath } from '../internal/headers.ts';
import type { HeaderRecord } from '../internal/headers.ts';
import { failLocally, replyLocally, replyWithError } from '../internal/local-reply.ts';
import { FlagStampHandler } from '../internal/flag-stamp-handler.ts';
import type { LocalReplyMode } from '../internal/local-reply.ts';
import { parseOrigin } from '../internal/origin.ts';
import { resolveHeaders } from '../internal/lazy-headers.ts';
import type { ParsedOrigin } from '../internal/origin.ts';
import { MESH_CONTEXT } from '../internal/request-context.ts';
import type { MeshRequestContext } from '../internal/request-context.ts';
import { startOutboundTelemetry } from '../telemetry/outbound-telemetry.ts';
import type { TelemetryHandler } from '../telemetry/outbound-telemetry.ts';
import type { MeshTelemetry } from '@weft/core';

type Dispatch = Dispatcher.Dispatch;
type Handler = Dispatcher.DispatchHandler;

/** Istio's `outboundTrafficPolicy.mode`. */
export type OutboundTrafficPolicy = 'ALLOW_ANY' | 'REGISTRY_ONLY';

/** Options of {@link createRouteInterceptor}. */
export interface RouteInterceptorOptions {
  readonly mesh: MeshView;
  readonly outboundTrafficPolicy: OutboundTrafficPolicy;
  /** Bound of the wait for a never-seen host's first config. */
  readonly firstConfigTimeoutMs: number;
  /** When that wait times out: fail with `WEFT_ERR_XDS_UNAVAILABLE` or pass through. */
  readonly onConfigTimeout: 'fail' | 'passthrough';
  readonly localReplies: LocalReplyMode;
  /** Where mirrored copies go (the endpoint stage, bypassing retries and local policies). */
  readonly shadowDispatch: Dispatch;
  /** Uniform [0, 1) source for mirror sampling. */
  readonly random?: () => number;
  /** The dispatcher's telemetry (Istio metrics, client spans, access log, load stats), if any. */
  readonly telemetry?: MeshTelemetry;
}

/** Creates the routing interceptor; see the module comment. */
export function createRouteInterceptor(options: RouteInterceptorOptions): Dispatcher.DispatcherComposeInterceptor {
  const { mesh, telemetry } = options;
  return (dispatch) => (opts, given) => {
    if ((opts as { [MESH_CONTEXT]?: unknown })[MESH_CONTEXT] !== undefined) return dispatch(opts, given);
    const origin = parseOrigin(opts.origin);
    // the telemetry handler is the request's record too; routing hands it on in the context
    const record = telemetry === undefined ? undefined : startOutboundTelemetry(telemetry, opts, given, origin?.authority);
    const handler = record ?? given;
    if (origin === null) return dispatch(opts, handler);
    if (!origin.isMeshable) return outbound(options, dispatch, opts, handler, origin, undefined);
    let host: HostView | undefined;
    try {
      host = mesh.resolve(origin.authority, origin.defaultPort);
    } catch (err) {
      failLocally(handler, err as Error);
      return true;
    }
    if (host !== undefined) return forward(options, dispatch, opts, handler, origin, host, record);
    mesh.waitForHost(origin.authority, { timeoutMs: options.firstConfigTimeoutMs, defaultPort: origin.defaultPort, signal: (opts as { signal?: AbortSignal }).signal }).then(
      (h) => void forward(options, dispatch, opts, handler, origin, h, record),
      (err: unknown) => {
        const code = isMeshError(err) ? err.code : undefined;
        if (code === ErrorCode.unknownHost) return void outbound(options, dispatch, opts, handler, origin, err as MeshError);
        if (code === ErrorCode.xdsUnavailable && options.onConfigTimeout === 'passthrough') return void dispatch(opts, handler);
        failLocally(handler, err as Error);
      },
    );
    return true;
  };
}

function outbound(o: RouteInterceptorOptions, dispatch: Dispatch, opts: Dispatcher.DispatchOptions, handler: Handler, origin: ParsedOrigin, cause: MeshError | undefined): boolean {
  if (o.outboundTrafficPolicy === 'ALLOW_ANY') return dispatch(opts, handler);
  const err = new MeshError(ErrorCode.unknownHost, `${origin.authority} is not a host of the mesh and the outbound traffic policy is REGISTRY_ONLY (BlackHoleCluster)`, {
    responseFlag: 'NR',
    cause,
    details: { host: origin.authority, cluster: 'BlackHoleCluster' },
  });
  failLocally(handler, err);
  return true;
}

function forward(o: RouteInterceptorOptions, dispatch: Dispatch, opts: Dispatcher.DispatchOptions, handler: Handler, origin: ParsedOrigin, host: HostView, record: TelemetryHandler | undefined): boolean {
  const headers = normalizeHeaders(opts.headers);
  const path = opts.path;
  const facts = { method: opts.method, path, headers, authority: origin.authority };
  let decision: { route: RouteView; clusterName: string };
  try {
    decision = host.route(origin.authority, facts);
  } catch (err) {
    if (isMeshError(err) && err.code === ErrorCode.noRoute) replyWithError(handler, o.localReplies, 404, err);
    else failLocally(handler, err as Error);
    return true;
  }
  const { route, clusterName } = decision;
  const action = route.spec.action;
  if (action.type === 'redirect') {
    replyLocally(handler, { status: action.redirect.responseCode, headers: { location: redirectLocation(action.redirect, origin, path, route) } });
    return true;
  }
  if (action.type === 'directResponse') {
    replyLocally(handler, { status: action.status, body: action.body ?? '' });
    return true;
  }
  if (action.type !== 'route') {
    replyWithError(handler, o.localReplies, 404, new MeshError(ErrorCode.noRoute, `route ${route.spec.name || route.index} of ${origin.authority} does not forward`, { responseFlag: 'NR', details: { host: origin.authority } }));
    return true;
  }
  const ra = action.route;
  const weighted = route.weightedCluster(clusterName);
  const newPath = rewritePath(ra, route, path);
  let authority = origin.authority;
  const hr = ra.hostRewrite;
  if (weighted?.hostRewriteLiteral !== undefined) authority = weighted.hostRewriteLiteral;
  else if (hr?.type === 'literal') authority = hr.host;
  else if (hr?.type === 'header') {
    const v = headers[hr.header.toLowerCase()];
    if (typeof v === 'string' && v !== '') authority = v;
  } else if (hr?.type === 'pathRegex') authority = applyRegexRewrite(hr.rewrite, splitPath(path).path);
  headers.host = authority;
  const plan = mutationPlanOf(weighted, route, host);
  const levels = plan.levels;
  if (plan.hasRequest) applyMutations(headers, levels, 'request');
  const ctx: MeshRequestContext = {
    authority: origin.authority,
    scheme: origin.scheme,
    host,
    route,
    clusterName,
    facts: newPath === path ? facts : { ...facts, path: newPath },
    responseFlags: [],
    record,
  };
  // telemetry attributes what happens from here on (local replies of the policies too) to the route's cluster
  if (record !== undefined) record.ctx = ctx;
  if (ra.requestMirrorPolicies.length > 0) mirror(o, opts, headers, newPath, ctx, ra);
  // An explicit servername spares undici deriving one from the Host header on every request.
  const next = { ...opts, path: newPath, headers, servername: origin.hostname, [MESH_CONTEXT]: ctx };
  return dispatch(next, plan.hasResponse ? new ResponseMutationHandler(handler, levels, ctx) : handler);
}

/** The header mutation levels of one (weighted cluster or route), computed once per config object. */
interface MutationPlan {
  readonly levels: readonly (HeaderMutations | undefined)[];
  readonly hasRequest: boolean;
  readonly hasResponse: boolean;
}

const mutationPlans = new WeakMap<object, MutationPlan>();

/**
 * Envoy's mutation levels, most specific first (weighted cluster, route, virtual host, route
 * configuration). Decoded config objects are immutable and a route belongs to one route
 * configuration, so the plan is cached on the most specific level's object.
 */
function mutationPlanOf(weighted: HeaderMutations | undefined, route: RouteView, host: HostView): MutationPlan {
  const key: object = weighted ?? route.spec;
  let plan = mutationPlans.get(key);
  if (plan === undefined) {
    const levels = [weighted, route.spec, route.virtualHost.spec, host.config?.routeConfig];
    plan = { levels, hasRequest: hasMutations(levels, 'request'), hasResponse: hasMutations(levels, 'response') };
    mutationPlans.set(key, plan);
  }
  return plan;
}

function rewritePath(ra: RouteAction, route: RouteView, target: string): string {
  if (ra.prefixRewrite !== undefined) {
    const m = route.spec.match.path;
    if (m.type === 'prefix' || m.type === 'pathSeparatedPrefix') {
      return ra.prefixRewrite + target.slice(m.prefix.length);
    }
    if (m.type === 'path') return ra.prefixRewrite + target.slice(m.path.length);
  }
  if (ra.regexRewrite !== undefined) {
    const { path, query } = splitPath(target);
    return applyRegexRewrite(ra.regexRewrite, path) + query;
  }
  return target;
}

function redirectLocation(r: RedirectAction, origin: ParsedOrigin, target: string, route: RouteView): string {
  const scheme = r.schemeRedirect ?? origin.scheme.slice(0, -1);
  const hostname = r.hostRedirect ?? origin.hostname;
  const defaultPort = scheme === 'https' ? 443 : 80;
  const port = r.portRedirect ?? (r.hostRedirect === undefined && r.schemeRedirect === undefined ? origin.port : defaultPort);
  let { path, query } = splitPath(target);
  if (r.pathRedirect !== undefined) {
    const p = splitPath(r.pathRedirect);
    path = p.path;
    if (p.query !== '') query = p.query;
  } else if (r.prefixRewrite !== undefined) {
    const m = route.spec.match.path;
    if (m.type === 'prefix' || m.type === 'pathSeparatedPrefix') path = r.prefixRewrite + path.slice(m.prefix.length);
  } else if (r.regexRewrite !== undefined) {
    path = applyRegexRewrite(r.regexRewrite, path);
  }
  if (r.stripQuery) query = '';
  return `${scheme}://${hostname}${port === defaultPort ? '' : `:${port}`}${path}${query}`;
}

function mirror(o: RouteInterceptorOptions, opts: Dispatcher.DispatchOptions, headers: HeaderRecord, path: string, ctx: MeshRequestContext, ra: RouteAction): void {
  const body = opts.body;
  if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) return; // a stream is read once
  const hostOnly = ctx.authority.replace(/:\d+$/, '');
  for (const policy of ra.requestMirrorPolicies) {
    if (policy.runtimeFraction !== undefined && !isSampled(policy.runtimeFraction, o.random)) continue;
    const shadowCtx: MeshRequestContext = { ...ctx, clusterName: policy.cluster, responseFlags: [], isShadow: true, record: undefined };
    const shadowHeaders = { ...headers, host: `${hostOnly}-shadow${ctx.authority.slice(hostOnly.length)}` };
    try {
      o.shadowDispatch({ ...opts, path, headers: shadowHeaders, signal: undefined, [MESH_CONTEXT]: shadowCtx } as Dispatcher.DispatchOptions, DISCARD);
    } catch {
      // fire-and-forget: a mirror never affects the primary request
    }
  }
}

const DISCARD: Handler = {
  onRequestStart() {},
  onResponseStart() {},
  onResponseData() {},
  onResponseEnd() {},
  onResponseError() {},
};

/** Applies `response_headers_to_add/remove` of every level. */
class ResponseMutationHandler extends FlagStampHandler {
  readonly #levels: readonly (HeaderMutations | undefined)[];
  constructor(inner: Handler, levels: readonly (HeaderMutations | undefined)[], ctx: MeshRequestContext) {
    super(inner, ctx);
    this.#levels = levels;
  }
  override onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    const copy = { ...resolveHeaders(headers) } as HeaderRecord;
    applyMutations(copy, this.#levels, 'response');
    super.onResponseStart(controller, statusCode, copy as IncomingHttpHeaders, statusMessage);
  }
}
