/**
 * The per-request mesh context the routing interceptor attaches to undici's dispatch options
 * (under a symbol key, so undici itself never sees it) and every later stage reads. A request
 * without a context is not meshed (pass-through). When telemetry is on, the context carries
 * the request's {@link OutboundRecord}, which the inner stages fill.
 */
import type { Dispatcher } from 'undici';
import type { MeshSpan } from '@weft/core';
import type { EndpointView, HostView, MeshRequestFacts, RouteView } from '../mesh-view.ts';

/** Symbol key of the context on dispatch options. */
export const MESH_CONTEXT = Symbol.for('weft.http.meshContext');

/** What routing decided for one request. */
export interface MeshRequestContext {
  /** The authority the application called (`reviews:9080`). */
  readonly authority: string;
  readonly scheme: 'http:' | 'https:';
  readonly host: HostView;
  readonly route: RouteView;
  readonly clusterName: string;
  /** Facts after rewrites (what the upstream sees); used for hashing and retry predicates. */
  readonly facts: MeshRequestFacts;
  /** Envoy response flags gathered on the way (e.g. `DI`), stamped on the response. */
  readonly responseFlags: string[];
  /**
   * The request's retry bookkeeping, set by the retry interceptor when the policy avoids
   * previous hosts (`envoy.retry_host_predicates.previous_hosts`): the endpoint stage records
   * each attempt's host in it and re-picks (up to `hostSelectionRetryMaxAttempts`) while it
   * says to avoid a host (retry to a different host).
   */
  retry?: { shouldAvoidHost(key: string): boolean; recordHost(key: string): void; readonly hostSelectionAttempts: number };
  /** True for mirrored copies (never retried, never counted for outlier detection, no telemetry record). */
  readonly isShadow?: boolean;
  /** The request's telemetry record, when telemetry is on. */
  readonly record?: OutboundRecord;
}

/** Dispatch options that may carry a mesh context. */
export type MeshDispatchOptions = Dispatcher.DispatchOptions & { [MESH_CONTEXT]?: MeshRequestContext };

/** The context of `opts`, or undefined for a pass-through request. */
export function contextOf(opts: Dispatcher.DispatchOptions): MeshRequestContext | undefined {
  return (opts as MeshDispatchOptions)[MESH_CONTEXT];
}

/** What the inner stages tell telemetry about one request (the last attempt wins). */
export interface OutboundRecord {
  readonly span: MeshSpan;
  /** The mesh context, once routing decided (set by the routing stage). */
  ctx: MeshRequestContext | undefined;
  /** The endpoint of the last attempt. */
  endpoint: EndpointView | undefined;
  /** `performance.now()` when the last attempt was handed to its pool (0 unless the access log is on). */
  upstreamStartMs: number;
  /** Milliseconds from the last attempt's dispatch to its response headers. */
  upstreamServiceMs: number | undefined;
  /** True when the last attempt ran over HTTP/2. */
  isHttp2: boolean;
}
