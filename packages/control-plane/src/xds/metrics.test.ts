import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createXdsMetrics, MAX_PENDING_OBSERVATIONS, metricsForType, settlePushMetrics } from './metrics.ts';

const value = (text: string, series: string): number => Number(new RegExp(`^${series.replace(/[{}|]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);

test('per-push metrics recorded as plain numbers show up exactly once per observation when the registry is read', async () => {
  const metrics = createXdsMetrics(new Registry());
  const rds = metricsForType(metrics, 'rds');
  assert.equal(metricsForType(metrics, 'rds'), rds, 'one recorder per type');
  for (let i = 0; i < 3; i++) {
    rds.pushes.inc();
    rds.configSize.observe(500);
    rds.pushTime.observe(0.002);
  }
  metricsForType(metrics, 'cds').pushes.inc();
  let text = await metrics.registry.metrics();
  assert.equal(value(text, 'pilot_xds_pushes{type="rds"}'), 3);
  assert.equal(value(text, 'pilot_xds_pushes{type="cds"}'), 1);
  assert.equal(value(text, 'pilot_xds_config_size_bytes_bucket{le="1000",type="rds"}'), 3);
  assert.equal(value(text, 'pilot_xds_config_size_bytes_bucket{le="100",type="rds"}'), 0);
  assert.equal(value(text, 'pilot_xds_config_size_bytes_sum{type="rds"}'), 1500);
  assert.equal(value(text, 'pilot_xds_push_time_count{type="rds"}'), 3);
  assert.equal(value(text, 'pilot_xds_push_time_bucket{le="0.0025",type="rds"}'), 3);
  // a second read adds nothing; later observations add to the earlier ones
  rds.pushes.inc();
  text = await metrics.registry.metrics();
  assert.equal(value(text, 'pilot_xds_pushes{type="rds"}'), 4);
  assert.equal(value(text, 'pilot_xds_push_time_count{type="rds"}'), 3);
  assert.equal((await metrics.pushes.get()).values.find((v) => v.labels.type === 'rds')?.value, 4);
});

test('observations beyond the pending bound are handed over on the push path, none lost', async () => {
  const metrics = createXdsMetrics(new Registry());
  const eds = metricsForType(metrics, 'eds');
  const n = MAX_PENDING_OBSERVATIONS * 2 + 7;
  for (let i = 0; i < n; i++) eds.configSize.observe(50);
  const text = await metrics.registry.metrics();
  assert.equal(value(text, 'pilot_xds_config_size_bytes_count{type="eds"}'), n);
  assert.equal(value(text, 'pilot_xds_config_size_bytes_sum{type="eds"}'), n * 50);
});

test('settlePushMetrics between rounds loses and repeats nothing, for full and nearly empty series alike', async () => {
  const metrics = createXdsMetrics(new Registry());
  const rds = metricsForType(metrics, 'rds');
  const cds = metricsForType(metrics, 'cds');
  for (let i = 0; i <= MAX_PENDING_OBSERVATIONS / 2; i++) rds.pushTime.observe(0.001);
  cds.pushTime.observe(0.001);
  settlePushMetrics(metrics);
  settlePushMetrics(metrics);
  rds.pushTime.observe(0.001);
  const text = await metrics.registry.metrics();
  assert.equal(value(text, 'pilot_xds_push_time_count{type="cds"}'), 1);
  assert.equal(value(text, 'pilot_xds_push_time_count{type="rds"}'), MAX_PENDING_OBSERVATIONS / 2 + 2);
});
