/**
 * A process with the whole workload telemetry running (admin server, LRS client to an xDS
 * server, tracer, metrics) exits by itself when its work is done: nothing telemetry starts keeps
 * the event loop alive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { lrsServiceDefinition } from '@weft/xds-client';

test('a workload with admin server and load reporting running exits by itself', async () => {
  const server = new grpc.Server();
  let sawLrsStream = false;
  server.addService(lrsServiceDefinition(), {
    StreamLoadStats(call: grpc.ServerDuplexStream<object, object>) {
      sawLrsStream = true;
      call.write({ send_all_clusters: true, load_reporting_interval: { seconds: 1 } });
      call.on('error', () => undefined);
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const script = `
    import { startWorkloadTelemetry } from '@weft/core';
    const w = await startWorkloadTelemetry({ env: process.env });
    const res = await fetch(w.admin.url + '/healthz');
    console.log('admin', res.status);
    await new Promise((r) => setTimeout(r, 300)); // let the LRS stream open
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('../../', import.meta.url),
    env: { ...process.env, WEFT_XDS_ADDRESS: `127.0.0.1:${port}`, WEFT_ADMIN_PORT: '0', WEFT_SERVICE: 'exit-check' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the process did not exit by itself; stderr: ${err}`)), 30_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, err);
    assert.match(out, /admin 200/);
    assert.ok(sawLrsStream, 'the load-reporting stream was open while the process ran');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    server.forceShutdown();
  }
});
