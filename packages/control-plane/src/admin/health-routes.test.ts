import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { TypeUrl, type DiscoveryRequest, type DiscoveryResponse } from '@weft/xds-client';
import { createEndpointHealthMonitor } from '../health/endpoint-health.ts';
import type { WorkloadReadiness } from '../xds/self-registration.ts';
import { createXdsServer } from '../xds/xds-server.ts';
import { fakeSource, makeModel } from '../xds/testing/model-fixture.ts';
import { rawAdsClient, testNode } from '../xds/testing/raw-ads-client.ts';
import { createAdminServer } from './admin-server.ts';
import { mountHealthRoutes, type HealthDocument } from './health-routes.ts';
import { freePort } from '../demo/free-port.ts';


test('/debug/health shows each self-registered workload’s readiness: not ready with the probe error, then ready', async () => {
  const source = fakeSource(makeModel({ services: [] }));
  const xds = createXdsServer({ source, registrationGraceMs: 60_000 });
  const monitor = createEndpointHealthMonitor({ source, sink: { setEndpointHealth() {} } });
  const admin = createAdminServer();
  mountHealthRoutes(admin, monitor, { readiness: xds });
  const bare = createAdminServer();
  mountHealthRoutes(bare, monitor);
  const probePort = await freePort();
  let app: Server | undefined;
  const client = rawAdsClient(`127.0.0.1:${await xds.listen('127.0.0.1', 0)}`);
  await admin.listen('127.0.0.1', 0);
  await bare.listen('127.0.0.1', 0);
  const health = async (url = admin.url): Promise<HealthDocument> => (await (await fetch(`${url}/debug/health`)).json()) as HealthDocument;
  const until = async (what: string, check: (r: WorkloadReadiness | undefined) => boolean): Promise<WorkloadReadiness | undefined> => {
    for (let i = 0; i < 500; i++) {
      const r = (await health()).readiness?.find((w) => w.id === 'xds:ratings-1');
      if (check(r)) return r;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  try {
    assert.deepEqual((await health()).readiness, [], 'the key is there before any registration');
    const stream = client.sotw<DiscoveryRequest, DiscoveryResponse>();
    const meta = { NAMESPACE: 'shop', WEFT_SERVICE: 'ratings', WEFT_PORTS: `http:${probePort}`, INSTANCE_IPS: '127.0.0.1', WEFT_READINESS_PROBE: `http:${probePort}/ready` };
    stream.send({ node: testNode('ratings-1', meta), type_url: TypeUrl.listener });
    await stream.next();
    const unready = await until('a failed probe', (r) => (r?.consecutiveFailures ?? 0) > 0);
    assert.equal(unready?.isReady, false);
    assert.equal(unready?.probe, `HTTP GET :${probePort}/ready`);
    assert.equal(unready?.address, '127.0.0.1');
    assert.equal(unready?.service, 'ratings');
    assert.equal(unready?.isConnected, true);
    assert.ok(unready?.lastError, 'the probe error is shown');
    assert.equal(source.health.get('xds:ratings-1'), 'UNHEALTHY');

    const http = createHttpServer((_req, res) => res.end('ok'));
    app = http;
    await new Promise<void>((resolve) => http.listen(probePort, '127.0.0.1', resolve));
    const ready = await until('ready', (r) => r?.isReady === true);
    assert.equal(ready?.lastError, undefined);
    assert.ok(Date.parse(ready?.since ?? '') >= Date.parse(unready?.since ?? ''));
    assert.equal(source.health.get('xds:ratings-1'), 'HEALTHY');

    const doc = await health();
    assert.deepEqual([doc.groups, doc.endpoints, doc.problems], [[], [], []], 'the WorkloadGroup part is unchanged');
    assert.equal('readiness' in (await health(bare.url)), false, 'without a readiness source the key is left out');
    stream.close();
  } finally {
    client.close();
    monitor.close();
    await admin.close();
    await bare.close();
    await xds.close(200);
    if (app) await new Promise((r) => app?.close(r));
  }
});
