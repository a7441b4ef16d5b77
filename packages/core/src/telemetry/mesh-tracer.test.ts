import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createMeshTracer, OTEL_API_GLOBALS } from './mesh-tracer.ts';

// One process per test file: the global registration below stays in this file.
test('client spans skip the OpenTelemetry API until something registers with it, and the API registers where the tracer looks', () => {
  const tracer = createMeshTracer({ samplingPercent: 100 });
  assert.equal((globalThis as { [OTEL_API_GLOBALS]?: unknown })[OTEL_API_GLOBALS], undefined, 'nothing registered yet');
  const before = tracer.startClientSpan('GET', {});
  assert.equal(before.span.isRecording(), false);
  assert.match(before.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  const wire = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), isSampled: false };
  const server = tracer.startServerSpan('GET', {}, wire);
  assert.equal(server.traceId, wire.traceId, 'a server span continues the caller\'s trace');
  assert.notEqual(server.spanId, wire.spanId);
  assert.equal(server.isSampled, false, 'and keeps its sampling decision');

  trace.setGlobalTracerProvider(new BasicTracerProvider());
  try {
    assert.notEqual((globalThis as { [OTEL_API_GLOBALS]?: unknown })[OTEL_API_GLOBALS], undefined, 'the API keeps its globals under the key the tracer checks');
    const after = tracer.startClientSpan('GET', {});
    assert.equal(after.span.isRecording(), true, 'an SDK registered later is used');
    assert.equal(after.traceparent, `00-${after.span.spanContext().traceId}-${after.span.spanContext().spanId}-01`);
    after.span.end();
  } finally {
    trace.disable();
  }
});
