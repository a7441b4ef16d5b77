import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatStatus } from './status.ts';
import { makeBootstrap } from './bootstrap.ts';

test('weft bootstrap: A27 shape, Istio node id and metadata, self-registration keys, bad input', () => {
  const b = makeBootstrap({ xdsAddress: '127.0.0.1:15010', namespace: 'shop', service: 'reviews', ports: 'grpc:50051', labels: 'version=v2,app=reviews', ip: '127.0.0.1', workloadName: 'reviews-v2-abc' }) as any;
  assert.deepEqual(b.xds_servers, [{ server_uri: '127.0.0.1:15010', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }]);
  assert.equal(b.node.id, 'sidecar~127.0.0.1~reviews-v2-abc.shop~shop.svc.cluster.local');
  assert.deepEqual(b.node.metadata, { NAMESPACE: 'shop', WORKLOAD_NAME: 'reviews-v2-abc', INSTANCE_IPS: '127.0.0.1', LABELS: { version: 'v2', app: 'reviews' }, GENERATOR: 'grpc', SERVICE_ACCOUNT: 'reviews', WEFT_SERVICE: 'reviews', WEFT_PORTS: 'grpc:50051' });
  assert.throws(() => makeBootstrap({ xdsAddress: 'nohost', namespace: 'x', ip: '127.0.0.1' }), { code: 'WEFT_ERR_USAGE' });
  assert.throws(() => makeBootstrap({ xdsAddress: 'a:1', namespace: 'x', ip: 'not-an-ip' }), { code: 'WEFT_ERR_USAGE' });
  assert.throws(() => makeBootstrap({ xdsAddress: 'a:1', namespace: 'x', ip: '127.0.0.1', service: 's', ports: 'grpc:x' }), { code: 'WEFT_ERR_USAGE' });
});

test('weft status: the proxy-status table with NACKs, omissions and refused generations', () => {
  const text = formatStatus({
    generation: 3, version: 'v3',
    snapshotFailures: [{ generation: 4, profile: 'grpc-js-xds', message: 'route names cluster outbound|1|v9|x', at: '' }],
    clients: [{
      nodeId: 'node-a', connectionId: 'c1', protocol: 'sotw', kind: 'grpc-js-xds', namespace: 'shop', connectedAt: '', generation: 2, unknownTypes: [],
      omissions: [{ type: 'cluster', resource: 'outbound|1||x', field: 'trafficPolicy.loadBalancer', reason: 'LEAST_REQUEST unsupported' }],
      types: {
        lds: { state: 'SYNCED', subscribed: 1, isWildcard: false, sentVersion: 'a', sentNonce: '1', sentAt: '', ackedVersion: 'a', resourcesSent: 1, acks: 1, nacks: 0 },
        rds: { state: 'NACKED', subscribed: 1, isWildcard: false, sentVersion: 'b', sentNonce: '2', sentAt: '', ackedVersion: '', resourcesSent: 1, acks: 0, nacks: 1, lastNack: { nonce: '2', version: '', message: 'bad weights', code: 3, at: '' } },
      },
    }],
  });
  const lines = text.trim().split('\n');
  assert.match(lines[0] ?? '', /^NAME\s+KIND\s+PROTOCOL\s+CDS\s+LDS\s+EDS\s+RDS\s+GENERATION$/);
  assert.match(lines[1] ?? '', /^node-a\s+grpc-js-xds\s+sotw\s+NOT SENT\s+SYNCED\s+NOT SENT\s+NACKED\s+2 \(latest 3\)$/);
  assert.ok(lines.some((l) => l === 'NACK node-a RDS: bad weights (nonce 2, current)'));
  assert.ok(lines.some((l) => l.startsWith('LEFT OUT for grpc-js-xds clients: cluster outbound|1||x')));
  assert.ok(lines.some((l) => l.startsWith('GENERATION 4 NOT SERVED')));
});
