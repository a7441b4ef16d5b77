/**
 * A script whose only work is one `fetch` to a meshed host must not exit while that request
 * waits for the host's first xDS config (Weft's sockets and timers are otherwise unref'd).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane, type ControlPlaneProcess } from '../../control-plane/src/demo/control-plane-process.ts';
import { serviceEntryYaml } from '../../../test/support/istio-yaml.ts';
import { startUpstream } from './support.ts';
import { freePort } from '../../control-plane/src/demo/free-port.ts';


test('one fetch to a meshed host whose config arrives late: the process waits, prints the response and exits 0', async () => {
  const up = await startUpstream('reviews');
  const xdsPort = await freePort(); // nothing listens yet: the control plane comes up after the request started
  const dir = mkdtempSync(join(tmpdir(), 'weft-first-config-'));
  writeFileSync(join(dir, 'mesh.yaml'), serviceEntryYaml({ name: 'reviews', namespace: 'shop', port: 9080, endpoints: [{ port: up.port }] }));
  const app = fileURLToPath(new URL('./fixtures/fetch-once.mjs', import.meta.url));
  let cp: ControlPlaneProcess | undefined;
  try {
    const child = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const proc = execFile(
        process.execPath,
        ['--import', '@weft/http-adapter/register', app, 'http://reviews:9080/reviews/1'],
        {
          cwd: fileURLToPath(new URL('../', import.meta.url)),
          timeout: 60_000,
          env: { ...process.env, WEFT_XDS_ADDRESS: `127.0.0.1:${xdsPort}`, WEFT_NAMESPACE: 'shop', WEFT_FIRST_CONFIG_TIMEOUT_MS: '40000', GRPC_XDS_BOOTSTRAP: '', GRPC_XDS_BOOTSTRAP_CONFIG: '' },
        },
        (err, stdout, stderr) => resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), stdout, stderr }),
      );
      void proc;
    });
    await new Promise((r) => setTimeout(r, 500));
    cp = await startControlPlane({ configPaths: [dir], xdsPort, args: ['--debounce-ms', '50'] });
    const result = await child;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.trim().split('\n').pop()!), { status: 200, body: 'reviews' });
    assert.equal(up.seen.length, 1);
  } finally {
    await cp?.stop();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
