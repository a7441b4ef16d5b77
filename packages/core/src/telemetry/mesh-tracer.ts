/**
 * Client and server spans through `@opentelemetry/api` only. When an SDK is installed (by the
 * application or {@link startTelemetryFromEnv}), spans are real and exported; when the API is a
 * no-op, ids are generated here so every meshed request still carries a `traceparent`, with
 * the sampled flag drawn per the sampling rate (Istio's default 1 %) or inherited from the parent.
 *
 * Inbound requests store their server span's context (and `baggage`) in an AsyncLocalStorage
 * owned by this tracer, so outbound requests made while handling them continue the trace
 * without application code; an active OpenTelemetry span (an app's own) takes precedence.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, INVALID_SPAN_CONTEXT, INVALID_TRACEID, isSpanContextValid, ProxyTracerProvider, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import type { Attributes, Context, Span, SpanContext, Tracer } from '@opentelemetry/api';
import { formatTraceparent, newSpanId, newTraceId } from './trace-context.ts';
import type { WireTraceContext } from './trace-context.ts';

/** The API's no-op provider: what the global provider delegates to until an SDK registers one. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
/** The span of every client span made without an SDK (it records nothing; ids are made here). */
const NON_RECORDING_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Where `@opentelemetry/api` (every installed copy of major version 1) keeps what was registered
 * with it: absent until an SDK, a context manager or a propagator registers. While it is absent
 * no span can be active and nothing records, so a client span needs no API call at all.
 */
export const OTEL_API_GLOBALS = Symbol.for('opentelemetry.js.api.1');

/** True while nothing is registered with the OpenTelemetry API (see {@link OTEL_API_GLOBALS}). */
function isApiUnused(): boolean {
  return (globalThis as { [OTEL_API_GLOBALS]?: unknown })[OTEL_API_GLOBALS] === undefined;
}

/** True once an SDK registered a tracer provider (checked per span: one may register later). */
function isSdkInstalled(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
}

/** What an inbound request leaves for the outbound requests made while handling it. */
export interface InboundTraceState {
  readonly spanContext: SpanContext;
  readonly baggage?: string;
}

/** A started span with the headers that continue it. */
export interface MeshSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly isSampled: boolean;
  /** The W3C header value continuing this span. */
  readonly traceparent: string;
  readonly traceState: string | undefined;
  /** `baggage` to forward, if any. */
  readonly baggage: string | undefined;
  /** The OpenTelemetry span (a non-recording one when no SDK is installed). */
  readonly span: Span;
}

/** Options of {@link createMeshTracer}. */
export interface MeshTracerOptions {
  /** Percentage (0–100) of new traces sampled when no SDK decides; default 1 (Istio's default). */
  readonly samplingPercent?: number;
  /** Tracer name given to the OpenTelemetry API; default `@weft/core`. */
  readonly tracerName?: string;
  /** Uniform [0, 1) source for sampling; tests inject one. */
  readonly random?: () => number;
}

/** See the module comment. One per process (the register hook owns it). */
export class MeshTracer {
  /** Sampling percentage for new traces (0–100); adapters update it from the listener's tracing config. */
  samplingPercent: number;
  readonly #tracerName: string;
  readonly #random: () => number;
  readonly #inbound = new AsyncLocalStorage<InboundTraceState>();
  #tracer: Tracer | undefined;

  /** Use {@link createMeshTracer}. */
  constructor(options: MeshTracerOptions = {}) {
    this.samplingPercent = options.samplingPercent ?? 1;
    this.#tracerName = options.tracerName ?? '@weft/core';
    this.#random = options.random ?? Math.random;
  }

  get #api(): Tracer {
    // Resolved lazily: an SDK registered after this object was made is still picked up (the API's proxy does that too).
    return (this.#tracer ??= trace.getTracer(this.#tracerName));
  }

  /** The trace state of the inbound request being handled, if any. */
  currentInbound(): InboundTraceState | undefined {
    return this.#inbound.getStore();
  }

  /**
   * Starts a CLIENT span for an outbound request, child of the active OpenTelemetry span, else
   * of the inbound request being handled, else a new trace. `attributes` may be a function of
   * `arg`: it is called only when an SDK is installed (without one nothing would record them);
   * a module-level function plus `arg` spares the caller a closure per span.
   */
  startClientSpan<T = undefined>(name: string, attributes: Attributes | ((arg: T) => Attributes), arg?: T): MeshSpan {
    if (isApiUnused()) {
      // nothing registered with the API: the parent can only be the inbound request's span
      const inbound = this.#inbound.getStore();
      return inbound === undefined ? this.#newTrace() : this.#wrap(NON_RECORDING_SPAN, inbound.spanContext, inbound.baggage);
    }
    const active = context.active();
    let parent = trace.getSpanContext(active);
    let ctx: Context = active;
    let baggage: string | undefined;
    if (parent === undefined || !isSpanContextValid(parent)) {
      const inbound = this.#inbound.getStore();
      parent = inbound?.spanContext;
      baggage = inbound?.baggage;
      if (parent !== undefined) ctx = trace.setSpanContext(active, parent);
    }
    if (!isSdkInstalled()) return this.#wrap(NON_RECORDING_SPAN, parent, baggage);
    const span = this.#api.startSpan(name, { kind: SpanKind.CLIENT, attributes: typeof attributes === 'function' ? attributes(arg as T) : attributes }, ctx);
    return this.#wrap(span, parent, baggage);
  }

  /** Starts a SERVER span for an inbound request whose wire parent is `parent` (if any). */
  startServerSpan(name: string, attributes: Attributes, parent: WireTraceContext | undefined): MeshSpan {
    let sc: SpanContext | undefined;
    if (parent !== undefined) sc = { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parent.isSampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true };
    // nothing registered with the API: nothing records the span, its ids are made here
    if (isApiUnused()) return this.#wrap(NON_RECORDING_SPAN, sc, undefined, parent?.traceState);
    let ctx: Context = context.active();
    if (sc !== undefined) {
      ctx = trace.setSpanContext(ctx, sc);
    } else {
      ctx = trace.deleteSpan(ctx);
    }
    const span = this.#api.startSpan(name, { kind: SpanKind.SERVER, attributes }, ctx);
    return this.#wrap(span, sc, undefined, parent?.traceState);
  }

  /**
   * Makes `span` the inbound parent of everything the current execution continues into
   * (AsyncLocalStorage `enterWith`). Called synchronously before the request handler runs.
   */
  enterInbound(span: MeshSpan, baggage: string | undefined): void {
    this.#inbound.enterWith({ spanContext: span.span.spanContext().spanId === span.spanId ? span.span.spanContext() : this.#syntheticContext(span), baggage });
  }

  /** Ends `span` with the response status; `error` marks it failed (error.type = its code or name). */
  endSpan(span: MeshSpan, attributes: Attributes, error?: { readonly type: string; readonly message?: string }): void {
    const s = span.span;
    if (!s.isRecording()) return;
    s.setAttributes(attributes);
    if (error !== undefined) {
      s.setAttribute('error.type', error.type);
      s.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    }
    s.end();
  }

  #syntheticContext(span: MeshSpan): SpanContext {
    return { traceId: span.traceId, spanId: span.spanId, traceFlags: span.isSampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: false };
  }

  /** A span of a new trace that nothing records (no SDK, no parent): ids and the sampling draw only. */
  #newTrace(): MeshSpan {
    const traceId = newTraceId();
    const spanId = newSpanId();
    const isSampled = this.#random() * 100 < this.samplingPercent;
    return { traceId, spanId, isSampled, traceparent: formatTraceparent(traceId, spanId, isSampled), traceState: undefined, baggage: undefined, span: NON_RECORDING_SPAN };
  }

  #wrap(span: Span, parent: SpanContext | undefined, baggage: string | undefined, inboundState?: string): MeshSpan {
    const sc = span.spanContext();
    let traceId: string;
    let spanId: string;
    let isSampled: boolean;
    // Without an SDK every span carries the invalid context: test that before the regex checks.
    if (sc.traceId !== INVALID_TRACEID && sc.spanId !== parent?.spanId && isSpanContextValid(sc)) {
      traceId = sc.traceId;
      spanId = sc.spanId;
      isSampled = (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
    } else {
      traceId = parent?.traceId ?? newTraceId();
      spanId = newSpanId();
      isSampled = parent !== undefined ? (parent.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED : this.#random() * 100 < this.samplingPercent;
    }
    const traceState = inboundState ?? parent?.traceState?.serialize();
    return { traceId, spanId, isSampled, traceparent: formatTraceparent(traceId, spanId, isSampled), traceState: traceState === '' ? undefined : traceState, baggage, span };
  }
}

/** Creates a tracer; see {@link MeshTracerOptions}. */
export function createMeshTracer(options?: MeshTracerOptions): MeshTracer {
  return new MeshTracer(options);
}
