import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startUpstream } from './support.ts';
import { freePort } from '../../control-plane/src/demo/free-port.ts';


test('--import register: global fetch goes through the mesh dispatcher, the WEFT_PORT server is wrapped, the process exits by itself', async () => {
  const up = await startUpstream('upstream');
  const port = await freePort();
  const xdsPort = await freePort(); // nothing listens: the control plane is down
  const app = fileURLToPath(new URL('./fixtures/register-app.mjs', import.meta.url));
  try {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', '@weft/http-adapter/register', app, `http://127.0.0.1:${up.port}/hello`],
        {
          cwd: fileURLToPath(new URL('../', import.meta.url)),
          timeout: 30_000,
          env: { ...process.env, WEFT_XDS_ADDRESS: `127.0.0.1:${xdsPort}`, WEFT_SERVICE: 'catalog', WEFT_PORT: String(port), GRPC_XDS_BOOTSTRAP: '', GRPC_XDS_BOOTSTRAP_CONFIG: '' },
        },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { listeners: string[]; viaFetch: string; self: string; dispatcher: string };
    assert.equal(result.dispatcher, 'MeshDispatcher');
    assert.deepEqual(result.listeners, ['weftInbound']);
    assert.equal(result.viaFetch, 'upstream');
    assert.equal(result.self, 'app');
    assert.equal(up.seen.length, 1);
  } finally {
    await up.close();
  }
});
