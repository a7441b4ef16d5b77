import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBootstrap } from './bootstrap.ts';

const A27 = {
  xds_servers: [{ server_uri: 'istiod.istio-system.svc:15010', channel_creds: [{ type: 'google_default' }, { type: 'insecure' }], server_features: ['xds_v3'] }],
  node: { id: 'sidecar~10.0.0.1~reviews-v1-abc.default~default.svc.cluster.local', metadata: { NAMESPACE: 'default' } },
  certificate_providers: { default: { plugin_name: 'file_watcher', config: { certificate_file: '/var/run/cert.pem' } } },
};

test('GRPC_XDS_BOOTSTRAP (a path) wins over GRPC_XDS_BOOTSTRAP_CONFIG and WEFT_*', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bootstrap-'));
  try {
    const path = join(dir, 'bootstrap.json');
    writeFileSync(path, JSON.stringify(A27));
    const b = loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP: path, GRPC_XDS_BOOTSTRAP_CONFIG: '{}', WEFT_XDS_ADDRESS: 'x:1' } });
    assert.equal(b.source, path);
    assert.equal(b.xdsServers[0]?.serverUri, 'istiod.istio-system.svc:15010');
    assert.deepEqual(b.xdsServers[0]?.channelCredentials, { type: 'insecure' }, 'first supported credential type');
    assert.equal(b.node.id, A27.node.id);
    assert.equal(b.certificateProviders['default']?.pluginName, 'file_watcher');
    assert.equal(b.clientDefaultListenerResourceNameTemplate, '%s');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GRPC_XDS_BOOTSTRAP_CONFIG is read inline', () => {
  const b = loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(A27) } });
  assert.equal(b.source, 'GRPC_XDS_BOOTSTRAP_CONFIG');
});

test('bad bootstraps fail with WEFT_ERR_BOOTSTRAP_INVALID naming the source and field', () => {
  assert.throws(() => loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP: '/nonexistent/weft.json' } }), (e: Error & { code?: string }) => e.code === 'WEFT_ERR_BOOTSTRAP_INVALID' && /\/nonexistent\/weft\.json/.test(e.message));
  assert.throws(() => loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: '{not json' } }), /GRPC_XDS_BOOTSTRAP_CONFIG: \(root\): not valid JSON/);
  assert.throws(() => loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: '{"xds_servers":[]}' } }), /xds_servers: must be a non-empty array/);
  assert.throws(
    () => loadBootstrap({ env: { GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify({ xds_servers: [{ server_uri: 'a:1', channel_creds: [{ type: 'alts' }] }] }) } }),
    /xds_servers\[0\]\.channel_creds: none of the channel credential types is supported/,
  );
  assert.throws(() => loadBootstrap({ env: { WEFT_LABELS: 'version' } }), /WEFT_LABELS: "version" is not key=value/);
  assert.throws(() => loadBootstrap({ env: { WEFT_PORT: 'http:99999' } }), /WEFT_PORT/);
  assert.throws(() => loadBootstrap({ env: { WEFT_LOCALITY: 'a/b/c/d' } }), /WEFT_LOCALITY: "a\/b\/c\/d" is not region/);
  assert.throws(() => loadBootstrap({ env: { WEFT_LOCALITY: '/zone-a' } }), /WEFT_LOCALITY/);
});

test('WEFT_LOCALITY puts region/zone/subzone into node.locality (what EDS failover priorities are computed from)', () => {
  assert.deepEqual(loadBootstrap({ env: { WEFT_LOCALITY: 'us-east1/us-east1-b/rack7' } }).node.locality, { region: 'us-east1', zone: 'us-east1-b', sub_zone: 'rack7' });
  assert.deepEqual(loadBootstrap({ env: { WEFT_LOCALITY: 'eu-west' } }).node.locality, { region: 'eu-west', zone: '', sub_zone: '' });
  assert.equal(loadBootstrap({ env: {} }).node.locality, undefined);
});

test('without an A27 bootstrap, WEFT_* builds an Istio-style node with registration metadata', () => {
  const b = loadBootstrap({
    env: { WEFT_SERVICE: 'reviews', WEFT_NAMESPACE: 'shop', WEFT_LABELS: 'version=v2, team=books', WEFT_PORT: '9080', WEFT_INSTANCE_IP: '10.1.2.3' },
  });
  assert.equal(b.xdsServers[0]?.serverUri, 'localhost:15010');
  assert.match(b.node.id ?? '', /^sidecar~10\.1\.2\.3~reviews-\d+\.shop~shop\.svc\.cluster\.local$/);
  const m = b.node.metadata ?? {};
  assert.equal(m['NAMESPACE'], 'shop');
  assert.deepEqual(m['LABELS'], { version: 'v2', team: 'books', app: 'reviews' });
  assert.equal(m['WORKLOAD_NAME'], 'reviews-v2');
  assert.equal(m['INSTANCE_IPS'], '10.1.2.3');
  assert.equal(m['SERVICE_ACCOUNT'], 'reviews');
  assert.equal(m['WEFT_SERVICE'], 'reviews');
  assert.equal(m['WEFT_PORTS'], 'http:9080');
  assert.deepEqual(JSON.parse(String(m['POD_PORTS'])), [{ name: 'http', containerPort: 9080, protocol: 'TCP' }]);
  const client = loadBootstrap({ env: {} });
  assert.equal(client.node.metadata?.['WEFT_SERVICE'], undefined, 'a pure client registers nothing');
  assert.equal(client.node.metadata?.['POD_PORTS'], undefined);
});

test('WEFT_READINESS_PROBE becomes the node metadata key of the same name; a malformed value fails naming the variable', () => {
  for (const probe of ['http:9901/ready', 'https:8443/healthz', 'grpc:50051', 'grpc:50051/shop.Reviews', 'tcp:9080', 'none', 'HTTP:9080/']) {
    const b = loadBootstrap({ env: { WEFT_SERVICE: 'reviews', WEFT_PORT: '9080', WEFT_READINESS_PROBE: ` ${probe} ` } });
    assert.equal(b.node.metadata?.['WEFT_READINESS_PROBE'], probe, probe);
  }
  assert.equal(loadBootstrap({ env: { WEFT_SERVICE: 'reviews', WEFT_PORT: '9080' } }).node.metadata?.['WEFT_READINESS_PROBE'], undefined, 'unset: the control plane probes TCP on the first served port');
  for (const bad of ['http/ready', 'tcp:9080/x', 'udp:53', 'http:0/ready', 'grpc:70000', 'exec:/bin/true']) {
    assert.throws(
      () => loadBootstrap({ env: { WEFT_SERVICE: 'reviews', WEFT_PORT: '9080', WEFT_READINESS_PROBE: bad } }),
      (e: Error & { code?: string }) => e.code === 'WEFT_ERR_BOOTSTRAP_INVALID' && e.message.includes('WEFT_READINESS_PROBE') && e.message.includes(JSON.stringify(bad)),
      bad,
    );
  }
});
