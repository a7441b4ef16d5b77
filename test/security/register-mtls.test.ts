/**
 * Zero-code mTLS: an application started with `--import @weft/http-adapter/register` and
 * `WEFT_MTLS=on` obtains its certificate from a real control plane (`--ca-dir`) before serving,
 * and its plain `http.createServer` on `WEFT_PORT` then accepts mTLS (the caller's certificate is
 * visible to the application) and plaintext (PERMISSIVE until a policy says otherwise).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Pool } from 'undici';
import { compileUpstreamTls, createCertificateProviders, createWorkloadIdentity, type WorkloadIdentity } from '@weft/core';
import { createGrpcCertificateSigner } from '@weft/xds-client';
import { startControlPlane, type ControlPlaneProcess } from '../../packages/control-plane/src/demo/control-plane-process.ts';
import { createCertificateAuthority } from '../../packages/control-plane/src/ca/certificate-authority.ts';
import { createTlsConnector } from '../../packages/http-adapter/src/internal/tls-connector.ts';
import { mtlsCluster } from './fixtures.ts';
import { freePort } from '../../packages/control-plane/src/demo/free-port.ts';

let dir: string;
let cp: ControlPlaneProcess;
let app: ChildProcess;
let port: number;
let caller: WorkloadIdentity;


before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-reg-mtls-'));
  writeFileSync(join(dir, 'empty.yaml'), '');
  cp = await startControlPlane({ configPaths: [join(dir, 'empty.yaml')], args: ['--debounce-ms', '50', '--ca-dir', join(dir, 'ca')] });
  const ca = createCertificateAuthority({ caDir: join(dir, 'ca') });
  port = await freePort();
  app = spawn(process.execPath, ['--import', '@weft/http-adapter/register', fileURLToPath(new URL('./fixtures/mtls-app.mjs', import.meta.url))], {
    cwd: fileURLToPath(new URL('../../packages/http-adapter/', import.meta.url)),
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      GRPC_XDS_BOOTSTRAP: '',
      GRPC_XDS_BOOTSTRAP_CONFIG: '',
      WEFT_XDS_ADDRESS: cp.xdsAddress,
      WEFT_SERVICE: 'reviews',
      WEFT_NAMESPACE: 'shop',
      WEFT_PORT: String(port),
      WEFT_INSTANCE_IP: '127.0.0.1',
      WEFT_MTLS: 'on',
      WEFT_TOKEN: ca.createJoinToken({ namespace: 'shop', serviceAccount: 'reviews' }).token,
    },
  });
  let err = '';
  app.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not start: ${err}`)), 30_000);
    app.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (d.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    app.once('exit', (code) => reject(new Error(`the app exited with ${code}: ${err}`)));
  });
  caller = createWorkloadIdentity({ signer: createGrpcCertificateSigner({ address: cp.xdsAddress }), namespace: 'shop', serviceAccount: 'productpage', token: ca.createJoinToken({ namespace: 'shop', serviceAccount: 'productpage' }).token });
  await caller.ready({ timeoutMs: 15_000 });
});

after(async () => {
  caller?.close();
  if (app && app.exitCode === null) {
    const exited = new Promise((r) => app.once('exit', r));
    app.stdin!.end();
    await exited;
  }
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('WEFT_MTLS=on: the served port accepts mTLS from a mesh identity and the app sees its SPIFFE ID', async () => {
  const providers = createCertificateProviders({ identity: () => caller });
  const requirement = compileUpstreamTls(mtlsCluster('outbound|9080||reviews.shop.svc.cluster.local', ['spiffe://cluster.local/ns/shop/sa/reviews']), providers).forEndpoint(undefined);
  const pool = new Pool(`https://127.0.0.1:${port}`, { connect: createTlsConnector({ requirement, servername: 'reviews', connectTimeoutMs: 5000, isH2: false }) });
  try {
    const res = await pool.request({ path: '/', method: 'GET' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-peer'], 'URI:spiffe://cluster.local/ns/shop/sa/productpage');
    assert.equal(await res.body.text(), 'app');
  } finally {
    await pool.destroy();
  }
});

test('WEFT_MTLS=on without a policy yet: PERMISSIVE, plaintext is still served', async () => {
  const c = new Client(`http://127.0.0.1:${port}`);
  try {
    const res = await c.request({ path: '/', method: 'GET' });
    assert.deepEqual([res.statusCode, res.headers['x-peer'], await res.body.text()], [200, 'none', 'app']);
  } finally {
    await c.destroy();
  }
});
