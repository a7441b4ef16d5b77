import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { createXdsClient, TypeUrl, type Cluster } from '@weft/xds-client';
import { FakeAdsServer, waitFor } from './fake-ads-server.ts';
import { edsCluster } from './resources.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-xds-tls-'));
const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.splice(0)) c();
  rmSync(dir, { recursive: true, force: true });
});

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A self-signed certificate for 127.0.0.1 (IP SAN), made with the openssl CLI. */
function selfSigned(): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=xds', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

test('TLS channel credentials from the bootstrap reach a TLS xDS server; the process still exits by itself', { skip: hasOpenssl() ? false : 'openssl CLI not available' }, async () => {
  const { cert, key } = selfSigned();
  const server = new FakeAdsServer({ credentials: grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(cert), private_key: readFileSync(key) }]) });
  await server.start();
  cleanups.push(() => server.stop());
  server.set(TypeUrl.cluster, 'c1', edsCluster('c1'));
  const bootstrap = { xds_servers: [{ server_uri: server.address, channel_creds: [{ type: 'tls', config: { ca_certificate_file: cert } }] }], node: { id: 'tls' } };
  const client = createXdsClient({ bootstrap, backoff: { initialMs: 20, maxMs: 200 } });
  cleanups.push(() => client.close());
  const values: Cluster[] = [];
  client.watch(TypeUrl.cluster, 'c1', { onChanged: (c) => values.push(c), onError: () => {}, onDoesNotExist: () => {} });
  await waitFor(() => values.length === 1, 'value over TLS');

  const fixture = fileURLToPath(new URL('./fixtures/idle-client.ts', import.meta.url));
  const child = spawn(process.execPath, [fixture], { env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the idle TLS client did not exit by itself within 15 s'));
    }, 15_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0);
  assert.equal(stdout.trim(), 'READY');
});
