import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { TypeUrl } from '@weft/xds-client';
import { FakeAdsServer } from './fake-ads-server.ts';
import { edsCluster } from './resources.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/idle-client.ts', import.meta.url));
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Runs the idle client against `serverUri`; resolves with its output and exit code, or fails after 15 s. */
function runIdleClient(serverUri: string): Promise<{ stdout: string; code: number | null }> {
  const bootstrap = JSON.stringify({ xds_servers: [{ server_uri: serverUri, channel_creds: [{ type: 'insecure' }] }], node: { id: 'idle' } });
  const child = spawn(process.execPath, [FIXTURE], { env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: bootstrap }, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the idle client did not exit by itself within 15 s (output: ${JSON.stringify(stdout)})`));
    }, 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ stdout, code });
    });
  });
}

test('a process holding a connected xDS client with live watches exits by itself', async () => {
  const server = new FakeAdsServer();
  await server.start();
  cleanups.push(() => server.stop());
  server.set(TypeUrl.cluster, 'c1', edsCluster('c1'));
  const { stdout, code } = await runIdleClient(server.address);
  assert.equal(code, 0);
  assert.equal(stdout.trim(), 'READY', 'the config arrived before the process went idle');
});

test('a process whose xDS server is unreachable (client in backoff) exits by itself', async () => {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  const { stdout, code } = await runIdleClient(`127.0.0.1:${port}`);
  assert.equal(code, 0);
  assert.equal(stdout.trim(), 'UNAVAILABLE');
});
