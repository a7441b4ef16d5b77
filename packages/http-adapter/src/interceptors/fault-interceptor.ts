/**
 * Fault injection (`envoy.filters.http.fault`, Istio `fault:`) as an undici interceptor: a
 * delay (flag `DI`, stamped on the response's `x-weft-response-flags`) and/or an abort (flag
 * `FI`: the configured status answered locally, or MeshError `WEFT_ERR_FAULT_ABORT` in `error`
 * mode), each by its percentage, for requests matching the fault's headers and cluster. Header
 * controlled faults (`x-envoy-fault-delay-request`, `x-envoy-fault-abort-request`) are honoured
 * when the config asks for them. The delay timer is unref'd and cancelled by a caller abort.
 */
import type { Dispatcher } from 'undici';
import { ErrorCode, MeshError } from '@weft/xds-client';
import type { FaultFilterConfig } from '@weft/xds-client';
import { isSampled } from '@weft/core';
import { compileAllHeaders } from '@weft/core';
import type { HeaderPredicate } from '@weft/core';
import { effectiveFilters } from '../internal/filter-config.ts';
import { failLocally, replyWithError } from '../internal/local-reply.ts';
import type { LocalReplyMode } from '../internal/local-reply.ts';
import { contextOf } from '../internal/request-context.ts';
import { FlagStampHandler } from '../internal/flag-stamp-handler.ts';
import type { MeshRequestContext } from '../internal/request-context.ts';

/** Options of {@link createFaultInterceptor}. */
export interface FaultInterceptorOptions {
  readonly localReplies: LocalReplyMode;
  readonly random?: () => number;
}

/** Creates the fault injection interceptor; see the module comment. */
export function createFaultInterceptor(options: FaultInterceptorOptions): Dispatcher.DispatcherComposeInterceptor {
  const matchers = new WeakMap<FaultFilterConfig, HeaderPredicate>();
  const headersMatch = (f: FaultFilterConfig, ctx: MeshRequestContext): boolean => {
    if (f.headers.length === 0) return true;
    let p = matchers.get(f);
    if (p === undefined) matchers.set(f, (p = compileAllHeaders(f.headers, 'fault.headers')));
    return p(ctx.facts.headers as Record<string, string>);
  };
  return (dispatch) => (opts, handler) => {
    const ctx = contextOf(opts);
    if (ctx === undefined || ctx.isShadow) return dispatch(opts, handler);
    const faults = effectiveFilters(ctx, 'fault');
    if (faults.length === 0) return dispatch(opts, handler);
    let delayMs = 0;
    let abortStatus: number | undefined;
    for (const { config } of faults) {
      const f = config.fault;
      if (f.upstreamCluster !== undefined && f.upstreamCluster !== ctx.clusterName) continue;
      if (!headersMatch(f, ctx)) continue;
      if (f.delay !== undefined && isSampled(f.delay.percentage, options.random)) {
        const ms = f.delay.headerDelay ? Number(ctx.facts.headers['x-envoy-fault-delay-request']) : (f.delay.fixedDelayMs ?? 0);
        if (Number.isFinite(ms) && ms > 0) delayMs = Math.max(delayMs, ms);
      }
      if (abortStatus === undefined && f.abort !== undefined && isSampled(f.abort.percentage, options.random)) {
        const s = f.abort.headerAbort ? Number(ctx.facts.headers['x-envoy-fault-abort-request']) : f.abort.httpStatus;
        if (s !== undefined && Number.isInteger(s) && s >= 200 && s < 600) abortStatus = s;
      }
    }
    const proceed = (): boolean => {
      if (abortStatus !== undefined) {
        const flags = [...ctx.responseFlags, 'FI'].join(',');
        const err = new MeshError(ErrorCode.faultAbort, `fault injection aborted the request to ${ctx.authority} with ${abortStatus}`, {
          responseFlag: 'FI',
          details: { host: ctx.authority, status: abortStatus },
        });
        replyWithError(handler, options.localReplies, abortStatus, err, { 'x-weft-response-flags': flags });
        return true;
      }
      return dispatch(opts, delayMs > 0 ? new FlagStampHandler(handler, ctx) : handler);
    };
    if (delayMs === 0) return proceed();
    ctx.responseFlags.push('DI');
    const signal = (opts as { signal?: AbortSignal }).signal;
    const timer = setTimeout(() => {
      signal?.removeEventListener?.('abort', onAbort);
      proceed();
    }, delayMs);
    timer.unref();
    const onAbort = (): void => {
      clearTimeout(timer);
      failLocally(handler, (signal?.reason as Error) ?? new Error('aborted'));
    };
    signal?.addEventListener?.('abort', onAbort, { once: true });
    return true;
  };
}
