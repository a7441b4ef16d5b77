import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { bootstrapFromWeftEnv, type XdsNode } from '@weft/xds-client';
import { createSelfRegistrar, workloadFromNode, type RegistryLike, type SelfRegisteredWorkload } from './self-registration.ts';
import { parseReadinessAction, readinessProbeOf } from '../health/readiness-probe.ts';
import { freePort } from '../demo/free-port.ts';

/** A registry that records what the registrar did, in order. */
function recordingRegistry() {
  const health = new Map<string, string>();
  const log: string[] = [];
  const registry: RegistryLike = {
    register(w) {
      health.set(w.id, w.health ?? 'HEALTHY');
      log.push(`register ${w.health}`);
      assert.equal('readinessProbe' in w, false, 'the probe is the registrar\'s, not the registry\'s');
    },
    unregister(id) {
      health.delete(id);
      log.push('unregister');
    },
    setHealth(id, h) {
      if (!health.has(id) || health.get(id) === h) return;
      health.set(id, h);
      log.push(h);
    },
  };
  return { registry, health, log };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function node(id: string): XdsNode {
  return { id } as XdsNode;
}

function workloadOn(port: number, metadata: Record<string, string> = {}): SelfRegisteredWorkload {
  const w = workloadFromNode(node('ratings-1'), { WEFT_SERVICE: 'ratings', WEFT_PORTS: `http:${port}`, INSTANCE_IPS: '127.0.0.1', ...metadata }, 'shop');
  assert.ok(w);
  return w;
}


function listenOn(port: number): Promise<Server> {
  const s = createServer((socket) => socket.destroy());
  return new Promise((resolve) => s.listen(port, '127.0.0.1', () => resolve(s)));
}

test('WEFT_READINESS_PROBE in the SDK environment reaches the registrar through the node metadata', () => {
  const fromEnv = (probe?: string) => {
    const { node: n } = bootstrapFromWeftEnv({ WEFT_SERVICE: 'ratings', WEFT_NAMESPACE: 'shop', WEFT_PORT: 'grpc:9090', WEFT_INSTANCE_IP: '127.0.0.1', ...(probe ? { WEFT_READINESS_PROBE: probe } : {}) });
    return workloadFromNode(n, n.metadata ?? {}, 'shop');
  };
  assert.deepEqual(fromEnv('http:15020/ready')?.readinessProbe?.action, { type: 'httpGet', port: 15020, path: '/ready', scheme: 'HTTP', headers: [] });
  assert.deepEqual(fromEnv('grpc:9090/shop.Ratings')?.readinessProbe?.action, { type: 'grpc', port: 9090, service: 'shop.Ratings' });
  assert.equal(fromEnv('none')?.readinessProbe, undefined, 'none: registered ready at once');
  assert.deepEqual(fromEnv()?.readinessProbe?.action, { type: 'tcpSocket', port: 9090 });
});

test('readiness probe from metadata: TCP on the first served port by default, advertised http/grpc/tcp, none, bad values fall back', () => {
  const ports = [{ name: 'http', number: 9080, protocol: 'HTTP' }, { name: 'grpc', number: 9090, protocol: 'GRPC' }];
  assert.deepEqual(readinessProbeOf(ports, {})?.action, { type: 'tcpSocket', port: 9080 });
  assert.deepEqual(readinessProbeOf(ports, { WEFT_READINESS_PROBE: 'http:15020/ready' })?.action, { type: 'httpGet', port: 15020, path: '/ready', scheme: 'HTTP', headers: [] });
  assert.deepEqual(readinessProbeOf(ports, { WEFT_READINESS_PROBE: 'grpc:9090' })?.action, { type: 'grpc', port: 9090, service: '' });
  assert.deepEqual(parseReadinessAction('GRPC:9090/shop.Ratings'), { type: 'grpc', port: 9090, service: 'shop.Ratings' });
  assert.deepEqual(parseReadinessAction('https:8443'), { type: 'httpGet', port: 8443, path: '/', scheme: 'HTTPS', headers: [] });
  assert.deepEqual(parseReadinessAction('tcp:9091'), { type: 'tcpSocket', port: 9091 });
  assert.equal(readinessProbeOf(ports, { WEFT_READINESS_PROBE: 'none' }), undefined);
  for (const bad of ['http', 'tcp:0', 'tcp:70000', 'tcp:9080/x', 'exec:ls', '']) {
    assert.deepEqual(readinessProbeOf(ports, { WEFT_READINESS_PROBE: bad })?.action, { type: 'tcpSocket', port: 9080 }, bad);
  }
  assert.equal(readinessProbeOf([], {}), undefined);
});

test('registrar: UNHEALTHY until the served port accepts, HEALTHY after, kept across a reconnect, UNHEALTHY when it stops', async () => {
  const { registry, health, log } = recordingRegistry();
  const registrar = createSelfRegistrar(registry, 100);
  const port = await freePort();
  const w = workloadOn(port);
  try {
    registrar.connected('ratings-1', w);
    assert.equal(health.get(w.id), 'UNHEALTHY', 'registered not ready');
    await until('the first probe', () => (registrar.readiness()[0]?.probes ?? 0) > 0);
    assert.equal(health.get(w.id), 'UNHEALTHY', 'nothing listens yet');

    const server = await listenOn(port);
    await until('ready', () => health.get(w.id) === 'HEALTHY');

    registrar.disconnected('ratings-1');
    registrar.connected('ratings-1', w);
    assert.equal(health.get(w.id), 'HEALTHY', 'a reconnect keeps the readiness it earned');
    assert.deepEqual(log, ['register UNHEALTHY', 'HEALTHY', 'register HEALTHY']);

    await new Promise((r) => server.close(r));
    await until('out of rotation', () => health.get(w.id) === 'UNHEALTHY');
    assert.equal(registrar.readiness()[0]?.consecutiveFailures, 3, 'three failures in a row, as Kubernetes counts them');

    registrar.disconnected('ratings-1');
    await until('unregistered after the grace', () => !health.has(w.id));
    assert.deepEqual(registrar.readiness(), [], 'probing stops with the registration');
  } finally {
    registrar.close();
  }
});

test('registrar: WEFT_READINESS_PROBE=none registers the workload ready at once, without probing', () => {
  const { registry, health } = recordingRegistry();
  const registrar = createSelfRegistrar(registry, 100);
  try {
    const w = workloadOn(1, { WEFT_READINESS_PROBE: 'none' });
    registrar.connected('ratings-1', w);
    assert.equal(health.get(w.id), 'HEALTHY');
    const [r] = registrar.readiness();
    assert.deepEqual({ ...r, since: undefined }, { id: w.id, service: 'ratings', namespace: 'shop', address: '127.0.0.1', probe: 'none', isReady: true, since: undefined, probes: 0, consecutiveFailures: 0, isConnected: true });
    assert.ok(!Number.isNaN(Date.parse(r?.since ?? '')));
  } finally {
    registrar.close();
  }
});

test('registrar readiness(): per workload the probe, not ready with the last error until it passes, since when, connected or in the grace', async () => {
  const { registry } = recordingRegistry();
  const registrar = createSelfRegistrar(registry, 60_000);
  const port = await freePort();
  const w = workloadOn(port);
  let server: Server | undefined;
  try {
    registrar.connected('ratings-1', w);
    await until('a failed probe', () => (registrar.readiness()[0]?.consecutiveFailures ?? 0) > 0);
    const unready = registrar.readiness()[0];
    assert.equal(unready?.probe, `TCP :${port}`);
    assert.equal(unready?.isReady, false);
    assert.equal(unready?.address, '127.0.0.1');
    assert.ok(unready?.lastError, 'the failure is shown');
    assert.ok(unready?.lastProbeAt);
    server = await listenOn(port);
    await until('ready', () => registrar.readiness()[0]?.isReady === true);
    const ready = registrar.readiness()[0];
    assert.equal(ready?.lastError, undefined, 'a success clears the error');
    assert.ok(Date.parse(ready?.since ?? '') >= Date.parse(unready?.since ?? ''), 'since moves to the change');
    assert.equal(ready?.isConnected, true);
    registrar.disconnected('ratings-1');
    const grace = registrar.readiness()[0];
    assert.deepEqual({ isConnected: grace?.isConnected, isReady: grace?.isReady, since: grace?.since }, { isConnected: false, isReady: true, since: ready?.since }, 'still registered and ready within the grace');
    registrar.connected('ratings-1', w);
    assert.equal(registrar.readiness()[0]?.since, ready?.since, 'a reconnect keeps readiness and its time');
  } finally {
    registrar.close();
    if (server) await new Promise((r) => server?.close(r));
  }
  assert.deepEqual(registrar.readiness(), []);
});
