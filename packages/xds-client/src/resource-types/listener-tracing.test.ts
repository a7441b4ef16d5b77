import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packAny, TypeUrl } from '../protos.ts';
import { decodeResource } from './index.ts';
import type { Listener } from './types.ts';

const router = { name: 'envoy.filters.http.router', typed_config: packAny(TypeUrl.router, {}) };

function decode(extra: object) {
  return decodeResource(
    TypeUrl.listener,
    packAny(TypeUrl.listener, {
      name: 'reviews.default.svc.cluster.local:9080',
      api_listener: {
        api_listener: packAny(TypeUrl.httpConnectionManager, {
          rds: { route_config_name: 'reviews.default.svc.cluster.local:9080', config_source: { ads: {} } },
          http_filters: [router],
          ...extra,
        }),
      },
    }),
  ).result;
}

test('HCM tracing.random_sampling decodes as httpConnectionManager.tracing.randomSamplingPercent (read by core telemetry)', () => {
  const r = decode({ tracing: { random_sampling: { value: 12.5 } } });
  assert.ok(r.ok, r.ok ? '' : r.error);
  const l = r.value as Listener;
  assert.deepEqual(l.httpConnectionManager?.tracing, { randomSamplingPercent: 12.5 });
});

test('HCM tracing: unset random_sampling leaves the rate alone; no tracing field, no tracing; 0 is a real 0', () => {
  const bare = decode({ tracing: {} });
  assert.ok(bare.ok);
  assert.deepEqual((bare.value as Listener).httpConnectionManager?.tracing, {});
  const none = decode({});
  assert.ok(none.ok);
  assert.equal((none.value as Listener).httpConnectionManager?.tracing, undefined);
  const zero = decode({ tracing: { random_sampling: {} } });
  assert.ok(zero.ok);
  assert.deepEqual((zero.value as Listener).httpConnectionManager?.tracing, { randomSamplingPercent: 0 });
});

test('HCM tracing: a percentage above 100 NACKs the listener naming the field', () => {
  const r = decode({ tracing: { random_sampling: { value: 150 } } });
  assert.ok(!r.ok);
  assert.match(r.error, /tracing\.random_sampling\.value.*\[0, 100\]/);
});
