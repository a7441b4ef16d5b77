/**
 * AuthorizationPolicy AUDIT end to end inside one workload: the control plane's translation (RBAC
 * `LOG` filter) decoded by the SDK, enforced on a real `http` server by the inbound wrapper, and
 * visible where Istio users look for it — the access log line carries `audit_policy` for the
 * requests the policy matched, while the decision (allowed / denied) is unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { TypeUrl, decodeResource, packAny, type Listener } from '@weft/xds-client';
import { compileInboundPolicy, createAccessLog, createMeshTelemetry, createPeerIdentity, type AccessLogEntry } from '@weft/core';
import { startInboundTelemetry, wrapHttpServer } from '@weft/http-adapter';
import { buildInboundListener } from '../../packages/control-plane/src/xds/generators/inbound-listener.ts';
import { capabilitiesFor } from '../../packages/control-plane/src/xds/client-capabilities.ts';
import { makeModel } from '../../packages/control-plane/src/xds/testing/model-fixture.ts';
import { withPolicies, workload } from '../../packages/control-plane/src/xds/testing/security-fixture.ts';

test('AUDIT marks matching requests in the access log and never changes the decision', async (t) => {
  const server = createServer((_req, res) => res.end('app'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  t.after(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));

  const model = withPolicies(makeModel({ generation: 1, services: [] }), {
    peer: [['shop', 'default', { mtls: { mode: 'DISABLE' } }]],
    authz: [
      ['shop', 'audit-writes', { selector: { matchLabels: { app: 'reviews' } }, action: 'AUDIT', rules: [{ to: [{ operation: { methods: ['POST', 'DELETE'] } }] }] }],
      ['shop', 'no-delete', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['DELETE'] } }] }] }],
    ],
  });
  const name = `xds.istio.io/grpc/lds/inbound/0.0.0.0:${port}`;
  const built = buildInboundListener({ model, workload: workload('shop', { app: 'reviews' }, 'reviews'), name, address: '0.0.0.0', port, caps: capabilitiesFor('weft'), omit: () => {} });
  const decoded = decodeResource(TypeUrl.listener, packAny(TypeUrl.listener, built.message));
  assert.ok(decoded.result.ok, decoded.result.ok ? '' : decoded.result.error);
  const policy = compileInboundPolicy(decoded.result.value as Listener, port);
  wrapHttpServer(server, { policy: () => policy, port });

  const lines: AccessLogEntry[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => (lines.push(...chunk.toString().trim().split('\n').map((l) => JSON.parse(l) as AccessLogEntry)), cb()) });
  const telemetry = createMeshTelemetry({ local: createPeerIdentity({ workload: 'reviews', namespace: 'shop', labels: { app: 'reviews' } }), accessLog: createAccessLog({ target: sink }) });
  const inbound = startInboundTelemetry(telemetry, { ports: [port] });
  t.after(() => inbound.stop());

  const call = async (method: string) => {
    const r = await request(`http://127.0.0.1:${port}/reviews/1`, { method });
    await r.body.text();
    return r.statusCode;
  };
  assert.equal(await call('GET'), 200);
  assert.equal(await call('POST'), 200, 'audited, still allowed');
  assert.equal(await call('DELETE'), 403, 'audited and denied by the DENY policy');
  await telemetry.close();
  assert.deepEqual(
    lines.map((l) => [l.method, l.response_code, l.audit_policy ?? null]),
    [
      ['GET', 200, null],
      ['POST', 200, 'ns[shop]-policy[audit-writes]-rule[0]'],
      ['DELETE', 403, 'ns[shop]-policy[audit-writes]-rule[0]'],
    ],
  );
});

test('gRPC: AUDIT marks matching calls in the server access log; DENY still denies', async (t) => {
  const { createWeftServer } = await import('@weft/grpc-adapter');
  const grpc = await import('@grpc/grpc-js');
  const { createEchoClient, echoServiceDefinition, unary } = await import('../../packages/grpc-adapter/test/support/echo-service.ts');
  const model = withPolicies(makeModel({ generation: 1, services: [] }), {
    peer: [['shop', 'default', { mtls: { mode: 'DISABLE' } }]],
    authz: [
      ['shop', 'audit-other', { action: 'AUDIT', rules: [{ to: [{ operation: { paths: ['/weft.test.Echo/Other'] } }] }] }],
      ['shop', 'audit-deny', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/weft.test.Echo/Unary'] } }], when: [{ key: 'request.headers[x-block]', values: ['yes'] }] }] }],
    ],
  });
  const lines: AccessLogEntry[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => (lines.push(...chunk.toString().trim().split('\n').map((l) => JSON.parse(l) as AccessLogEntry)), cb()) });
  const telemetry = createMeshTelemetry({ local: createPeerIdentity({ workload: 'echo', namespace: 'shop', labels: { app: 'echo' } }), accessLog: createAccessLog({ target: sink }) });
  let policy: ReturnType<typeof compileInboundPolicy> | undefined;
  const meshed = createWeftServer({ security: { policy: () => policy, identity: () => undefined }, telemetry });
  const echo = (call: { request: { text: string } }, cb: (e: null, r: { text: string }) => void) => cb(null, { text: call.request.text });
  meshed.server.addService(echoServiceDefinition as never, { Unary: echo, Other: echo, ClientStream: () => {}, ServerStream: () => {}, Bidi: () => {} });
  const port = await meshed.listen('127.0.0.1:0');
  t.after(() => meshed.close(0));
  const name = `xds.istio.io/grpc/lds/inbound/0.0.0.0:${port}`;
  const built = buildInboundListener({ model, workload: workload('shop', { app: 'echo' }, 'echo'), name, address: '0.0.0.0', port, caps: capabilitiesFor('weft'), omit: () => {} });
  const decoded = decodeResource(TypeUrl.listener, packAny(TypeUrl.listener, built.message));
  assert.ok(decoded.result.ok, decoded.result.ok ? '' : decoded.result.error);
  policy = compileInboundPolicy(decoded.result.value as Listener, port);

  const client = createEchoClient(`127.0.0.1:${port}`);
  t.after(() => client.close());
  assert.equal((await unary(client, { text: 'a' }, { deadlineMs: 10_000 })).text, 'a');
  assert.equal((await unary(client, { text: 'b' }, { deadlineMs: 10_000, method: 'Other' })).text, 'b', 'audited, still served');
  const blocked = new grpc.Metadata();
  blocked.set('x-block', 'yes');
  await assert.rejects(unary(client, { text: 'c' }, { deadlineMs: 10_000, metadata: blocked }), (e: { code?: number }) => e.code === grpc.status.PERMISSION_DENIED);
  await telemetry.close();
  assert.deepEqual(
    lines.map((l) => [l.path, l.grpc_status, l.audit_policy ?? null]),
    [
      ['/weft.test.Echo/Unary', '0', null],
      ['/weft.test.Echo/Other', '0', 'ns[shop]-policy[audit-other]-rule[0]'],
      ['/weft.test.Echo/Unary', '7', null],
    ],
  );
});
