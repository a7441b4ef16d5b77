import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMeshMetrics, destinationServiceOf } from './istio-metrics.ts';
import { createPeerIdentity, withPrincipal } from './workload-identity-labels.ts';

test('inbound mTLS samples from the same peer and principal share one metric series', () => {
  const metrics = createMeshMetrics();
  const server = createPeerIdentity({ workload: 'ratings', namespace: 'shop', labels: { app: 'ratings' } });
  const caller = createPeerIdentity({ workload: 'frontend', namespace: 'shop', labels: { app: 'frontend' } });
  const record = (principal: string) =>
    metrics.record({
      reporter: 'destination',
      source: withPrincipal(caller, principal),
      destination: server,
      service: destinationServiceOf('ratings.shop.svc.cluster.local'),
      protocol: 'http',
      responseCode: 200,
      grpcStatus: '',
      responseFlags: '-',
      securityPolicy: 'mutual_tls',
      durationMs: 2,
      requestBytes: 0,
      responseBytes: 10,
    });
  for (let i = 0; i < 50; i++) record('spiffe://cluster.local/ns/shop/sa/frontend');
  assert.equal(metrics.seriesCount, 1);
  record('spiffe://cluster.local/ns/shop/sa/other');
  assert.equal(metrics.seriesCount, 2);
  assert.equal(withPrincipal(caller, 'p'), withPrincipal(caller, 'p'));
});

test('two identity objects with the same content share one metric series', () => {
  const metrics = createMeshMetrics();
  const sample = () => ({
    reporter: 'source' as const,
    source: createPeerIdentity({ workload: 'frontend', namespace: 'shop', labels: { app: 'frontend' } }),
    destination: createPeerIdentity({ workload: 'ratings', namespace: 'shop', labels: { app: 'ratings' } }),
    service: destinationServiceOf('ratings.shop.svc.cluster.local'),
    protocol: 'http' as const,
    responseCode: 200,
    grpcStatus: '',
    responseFlags: '-',
    securityPolicy: 'unknown' as const,
    durationMs: 1,
    requestBytes: 0,
    responseBytes: 1,
  });
  for (let i = 0; i < 20; i++) metrics.record(sample());
  assert.equal(metrics.seriesCount, 1);
});
