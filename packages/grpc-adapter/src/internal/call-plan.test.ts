import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FaultFilterConfig, RetryPolicy } from '@weft/xds-client';
import { compileRouteTable } from './core-imports.ts';
import { buildCallPlan, grpcRetryConfig } from './call-plan.ts';
import { ClusterStateRegistry, compileClientSnapshot } from './client-snapshot.ts';
import { match, meshConfig, route } from '../../test/support/mesh-fixture.ts';

const retry = (extra: Partial<RetryPolicy> = {}): RetryPolicy => ({
  retryOn: ['unavailable', '5xx', 'cancelled'],
  numRetries: 2,
  retriableStatusCodes: [],
  retryBackOff: { baseIntervalMs: 25, maxIntervalMs: 250 },
  retriableHeaders: [],
  retriableRequestHeaders: [],
  retryHostPredicates: [],
  hostSelectionRetryMaxAttempts: 1,
  ...extra,
});

describe('call plan', () => {
  it('maps an A44 retry policy to grpc-js retryPolicy, gRPC codes only', () => {
    assert.deepEqual(grpcRetryConfig(retry()), {
      retryPolicy: { maxAttempts: 3, initialBackoff: '0.025s', maxBackoff: '0.25s', backoffMultiplier: 2, retryableStatusCodes: [14, 1] },
    });
    assert.deepEqual(grpcRetryConfig(retry({ retryOn: ['5xx'] })), {});
    assert.deepEqual(grpcRetryConfig(retry({ numRetries: 0 })), {});
    assert.equal(grpcRetryConfig(retry({ numRetries: 10 })).retryPolicy?.maxAttempts, 5);
  });

  it('with a per-try timeout, retries (not hedges) and makes the timed-out attempt\'s DEADLINE_EXCEEDED retryable', () => {
    assert.deepEqual(grpcRetryConfig(retry({ perTryTimeoutMs: 150 })), {
      retryPolicy: { maxAttempts: 3, initialBackoff: '0.025s', maxBackoff: '0.25s', backoffMultiplier: 2, retryableStatusCodes: [14, 1, 4] },
    });
    assert.equal(grpcRetryConfig(retry({ perTryTimeoutMs: 150, retryOn: ['5xx'] })).retryPolicy?.retryableStatusCodes.join(), '4');
  });

  it('takes the smallest of max_stream_duration (grpc_timeout_header_max first), HCM and route timeouts', () => {
    const plan = (action: Parameters<typeof route>[2], hcmMs?: number) => {
      const config = meshConfig({ listenerName: 'a.b:1', routes: [route(match(''), 'c', action)], clusters: { c: { endpoints: ['127.0.0.1:1'] } }, ...(hcmMs === undefined ? {} : { maxStreamDurationMs: hcmMs }) });
      const snapshot = compileClientSnapshot(config, 'a.b:1', new ClusterStateRegistry(), undefined);
      const r = compileRouteTable(config.routeConfig).match('a.b:1', { path: '/s/m', headers: {} })!;
      return buildCallPlan(snapshot, r, 'c', '/s/m').methodConfig.timeout;
    };
    assert.deepEqual(plan({ maxStreamDuration: { maxStreamDurationMs: 1500 } }), { seconds: 1, nanos: 500_000_000 });
    assert.deepEqual(plan({ maxStreamDuration: { maxStreamDurationMs: 1500, grpcTimeoutHeaderMaxMs: 300 } }), { seconds: 0, nanos: 300_000_000 });
    assert.deepEqual(plan({}, 2000), { seconds: 2, nanos: 0 });
    assert.deepEqual(plan({ timeoutMs: 700, maxStreamDuration: { maxStreamDurationMs: 1500 } }), { seconds: 0, nanos: 700_000_000 });
    assert.equal(plan({}), undefined);
  });

  it('honours per-route filter overrides: disabled, or a replacement config', () => {
    const fault: FaultFilterConfig = { abort: { grpcStatus: 14, headerAbort: false, percentage: { numerator: 100, denominator: 100 } }, headers: [], downstreamNodes: [] };
    const config = meshConfig({
      listenerName: 'a.b:1',
      routes: [
        route(match('/quiet'), 'c', {}, { typedPerFilterConfig: new Map([['fault', { type: 'disabled' as const }]]) }),
        route(match(''), 'c'),
      ],
      clusters: { c: { endpoints: ['127.0.0.1:1'] } },
      httpFilters: [{ name: 'fault', isOptional: false, config: { type: 'fault', fault } }],
    });
    const snapshot = compileClientSnapshot(config, 'a.b:1', new ClusterStateRegistry(), undefined);
    const table = compileRouteTable(config.routeConfig);
    const quiet = table.match('a.b:1', { path: '/quiet/m', headers: {} })!;
    const loud = table.match('a.b:1', { path: '/loud/m', headers: {} })!;
    assert.equal(buildCallPlan(snapshot, quiet, 'c', '/quiet/m').filterFactories.length, 0);
    assert.equal(buildCallPlan(snapshot, loud, 'c', '/loud/m').filterFactories.length, 1);
  });
});
