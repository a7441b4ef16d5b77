/**
 * `startTelemetryFromEnv(env)`: starts the OpenTelemetry Node SDK (`@opentelemetry/sdk-node`,
 * loaded with a dynamic import) only when the standard `OTEL_*` variables configure a trace
 * exporter — `OTEL_TRACES_EXPORTER` (not `none`), `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` — and `OTEL_SDK_DISABLED` is not `true`. Called by the
 * register hooks (application entry), never at import time. Without `OTEL_TRACES_SAMPLER`, new
 * traces are sampled at the given `tracer`'s current `samplingPercent` (read per trace, so a rate
 * from the control plane applies at once), else at `samplingPercent`; children follow their
 * parent's decision (parent-based, like Istio's random sampling). OTel
 * metrics and logs exporters start only when `OTEL_METRICS_EXPORTER` / `OTEL_LOGS_EXPORTER`
 * ask for them (Weft's metrics are Prometheus). The SDK's exporter reads its own `OTEL_*` settings.
 */

/** A started SDK; `shutdown()` flushes pending spans. */
export interface TelemetrySdkHandle {
  shutdown(): Promise<void>;
}

/** True when `env` configures a trace exporter (see the module comment). */
export function isTraceExportConfigured(env: Readonly<Record<string, string | undefined>>): boolean {
  if (env['OTEL_SDK_DISABLED']?.toLowerCase() === 'true') return false;
  const exporters = env['OTEL_TRACES_EXPORTER']?.trim();
  if (exporters === 'none') return false;
  return (exporters !== undefined && exporters !== '') || !!env['OTEL_EXPORTER_OTLP_ENDPOINT'] || !!env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
}

/**
 * Starts the SDK when configured (see the module comment); resolves undefined otherwise.
 * `serviceName` defaults to `OTEL_SERVICE_NAME`, else `WEFT_SERVICE`. Never throws: a failure
 * is reported as a process warning and tracing stays API-only.
 */
export async function startTelemetryFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: { readonly samplingPercent?: number; readonly tracer?: { readonly samplingPercent: number }; readonly serviceName?: string } = {},
): Promise<TelemetrySdkHandle | undefined> {
  if (!isTraceExportConfigured(env)) return undefined;
  try {
    const { NodeSDK } = await import('@opentelemetry/sdk-node');
    let sampler: unknown;
    if (!env['OTEL_TRACES_SAMPLER']) {
      const base = await import('@opentelemetry/sdk-trace-base');
      const fixed = options.samplingPercent ?? 1;
      const tracer = options.tracer;
      const root = {
        shouldSample(): { decision: number } {
          const pct = Math.min(100, Math.max(0, tracer?.samplingPercent ?? fixed));
          return { decision: Math.random() * 100 < pct ? base.SamplingDecision.RECORD_AND_SAMPLED : base.SamplingDecision.NOT_RECORD };
        },
        toString: () => 'WeftRandomSampling',
      };
      sampler = new base.ParentBasedSampler({ root: root as never });
    }
    const sdk = new NodeSDK({
      serviceName: options.serviceName ?? env['OTEL_SERVICE_NAME'] ?? env['WEFT_SERVICE'],
      instrumentations: [],
      autoDetectResources: false,
      ...(sampler === undefined ? {} : { sampler: sampler as never }),
      ...(env['OTEL_METRICS_EXPORTER'] ? {} : { metricReaders: [] }),
      ...(env['OTEL_LOGS_EXPORTER'] ? {} : { logRecordProcessors: [] }),
    });
    sdk.start();
    return { shutdown: () => sdk.shutdown() };
  } catch (err) {
    process.emitWarning(`weft: OpenTelemetry SDK not started: ${(err as Error).message}`, { code: 'WEFT_TELEMETRY' });
    return undefined;
  }
}
