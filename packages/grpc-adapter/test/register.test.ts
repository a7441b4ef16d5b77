/**
 * The zero-code entry in a child process: `node --import @weft/grpc-adapter/register app`.
 * A bad bootstrap fails meshed calls clearly (the process neither crashes nor hangs), and a
 * grpc-js-xds registered first is detected and left the xds: scheme, with a warning.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const APP = fileURLToPath(new URL('./support/register-app.ts', import.meta.url));

function runApp(args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ stdout, stderr, code: err === null ? 0 : typeof err.code === 'number' ? err.code : null }),
    );
  });
}

describe('register hook', () => {
  it('meshes xds:/// targets and fails them clearly on a bad bootstrap, then exits by itself', async () => {
    const r = await runApp(['--import', '@weft/grpc-adapter/register', APP], { GRPC_XDS_BOOTSTRAP: '/nonexistent/bootstrap.json', GRPC_XDS_BOOTSTRAP_CONFIG: '' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /code=14 /);
    assert.match(r.stdout, /WEFT_ERR_BOOTSTRAP_INVALID/);
  });

  it('leaves the xds: scheme to a grpc-js-xds registered first, and says so', async () => {
    const r = await runApp(['--import', fileURLToPath(new URL('./support/register-grpc-js-xds.ts', import.meta.url)), '--import', '@weft/grpc-adapter/register', APP, '--schemes'], {});
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /WEFT_GRPC_XDS_CONFLICT/);
    assert.match(r.stdout, /weft-registered=true/);
  });

  it('warns when grpc-js-xds registers itself after Weft and takes the xds: scheme', async () => {
    const r = await runApp(['--import', '@weft/grpc-adapter/register', APP, '--schemes'], { WEFT_TEST_REGISTER_GRPC_JS_XDS: '1' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /WEFT_GRPC_XDS_CONFLICT.*registered after Weft/);
  });
});
