import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ErrorCode, MeshError } from '@weft/xds-client';
import { createStaticXdsConfigSource, weftChannelOptions } from '../src/index.ts';
import { createEchoClient, startBackend, unary } from './support/echo-service.ts';
import type { Backend, Echo } from './support/echo-service.ts';
import { meshClient } from './support/harness.ts';
import { match, meshConfig, route } from './support/mesh-fixture.ts';

const LISTENER = 'echo.default.svc.cluster.local:50051';

function expectUnavailable(p: Promise<unknown>, detail: RegExp): Promise<void> {
  return assert.rejects(p, (err: grpc.ServiceError) => {
    assert.equal(err.code, grpc.status.UNAVAILABLE);
    assert.match(err.details, detail);
    return true;
  });
}

describe('gRPC adapter failure modes', () => {
  let a: Backend;
  before(async () => {
    a = await startBackend('a');
  });
  after(async () => {
    await a.close();
  });

  it('fails a never-seen target with WEFT_ERR_XDS_UNAVAILABLE after the bounded wait', async () => {
    const source = createStaticXdsConfigSource();
    const client = createEchoClient(`weft:///${LISTENER}`, weftChannelOptions({ source, initialResolutionTimeoutMs: 150 }));
    try {
      await expectUnavailable(unary(client, { text: 'x' }), /WEFT_ERR_XDS_UNAVAILABLE.*echo\.default\.svc\.cluster\.local:50051/);
    } finally {
      client.close();
    }
  });

  it('keeps the last good config when the control plane goes away', async () => {
    const config = meshConfig({ listenerName: LISTENER, routes: [route(match(''), 'a')], clusters: { a: { endpoints: [a.address] } } });
    let watcher: Parameters<ReturnType<typeof createStaticXdsConfigSource>['watchXdsConfig']>[1] | undefined;
    const inner = createStaticXdsConfigSource([config]);
    const source = {
      watchXdsConfig: (name: string, w: NonNullable<typeof watcher>) => {
        watcher = w;
        return inner.watchXdsConfig(name, w);
      },
    };
    const client = createEchoClient(`weft:///${LISTENER}`, weftChannelOptions({ source }));
    try {
      assert.equal((await unary(client, { text: '1' })).server, 'a');
      watcher!.onError(new MeshError(ErrorCode.xdsUnavailable, 'control plane unreachable'));
      assert.equal((await unary(client, { text: '2' })).server, 'a');
    } finally {
      client.close();
    }
  });

  it('fails a target the mesh does not know with WEFT_ERR_UNKNOWN_HOST', async () => {
    const config = meshConfig({ listenerName: LISTENER, routes: [route(match(''), 'a')], clusters: { a: { endpoints: [a.address] } } });
    const { client, source } = meshClient(config);
    try {
      assert.equal((await unary(client, { text: '1' })).server, 'a');
      source.delete(LISTENER);
      await new Promise((r) => setImmediate(r));
      await expectUnavailable(unary(client, { text: '2' }), /WEFT_ERR_UNKNOWN_HOST/);
    } finally {
      client.close();
    }
  });

  it('fails bad targets clearly', async () => {
    const client = createEchoClient('weft:///', weftChannelOptions({ source: createStaticXdsConfigSource() }));
    try {
      await expectUnavailable(unary(client, { text: 'x' }), /WEFT_ERR_UNKNOWN_HOST.*bad target/);
    } finally {
      client.close();
    }
  });

  it('reports a cluster without endpoints as WEFT_ERR_NO_HEALTHY_UPSTREAM (UH)', async () => {
    const config = meshConfig({ listenerName: LISTENER, routes: [route(match(''), 'empty')], clusters: { empty: { endpoints: [] } } });
    const { client } = meshClient(config);
    try {
      await expectUnavailable(unary(client, { text: 'x' }), /WEFT_ERR_NO_HEALTHY_UPSTREAM \(UH\)/);
    } finally {
      client.close();
    }
  });

  it('ends a stream with an error when its server dies mid-stream', async () => {
    const dying = await startBackend('dying');
    const config = meshConfig({ listenerName: LISTENER, routes: [route(match(''), 'd')], clusters: { d: { endpoints: [dying.address] } } });
    const { client } = meshClient(config);
    try {
      const call = client.Bidi();
      const got: string[] = [];
      const ended = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
      call.on('data', (m: Echo) => {
        got.push(m.text);
        if (got.length === 1) void dying.close();
      });
      call.write({ text: 'first' });
      const err = await ended;
      assert.deepEqual(got, ['first']);
      // grpc-js reports a server's forced shutdown as CANCELLED (RST_STREAM) or UNAVAILABLE (GOAWAY/EOF).
      assert.ok(err.code === grpc.status.CANCELLED || err.code === grpc.status.UNAVAILABLE, `code ${err.code}`);
    } finally {
      client.close();
    }
  });
});
