import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { parseBootstrap } from '@weft/xds-client';
import { caServiceDefinition, createCaServiceHandlers } from '../../ca/ca-service.ts';
import { createCertificateAuthority } from '../../ca/certificate-authority.ts';
import { createTokenAdminHandler } from '../../ca/token-admin-handler.ts';
import { makeBootstrap } from './bootstrap.ts';
import { mintWorkloadCerts } from './bootstrap-certs.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bootstrap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The leaf verifies against the written root and carries the expected SPIFFE ID; the key matches it. */
function checkFiles(dir: string, spiffeId: string): void {
  const chain = readFileSync(join(dir, 'cert-chain.pem'), 'utf8');
  const leaf = new X509Certificate(chain);
  const root = new X509Certificate(readFileSync(join(dir, 'root-cert.pem'), 'utf8'));
  assert.ok(leaf.subjectAltName?.includes(`URI:${spiffeId}`), leaf.subjectAltName);
  assert.ok(leaf.verify(root.publicKey) || leaf.checkIssued(root), 'issued under the written root');
  assert.ok(leaf.checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'key.pem')))), 'key matches the certificate');
  assert.equal(statSync(join(dir, 'key.pem')).mode & 0o777, 0o600);
}

test('bootstrap: server listener template always; --certs-dir adds the file_watcher provider that grpc-js-xds and the SDK read', () => {
  const plain = makeBootstrap({ xdsAddress: '127.0.0.1:15010', namespace: 'shop', ip: '127.0.0.1' }) as Record<string, any>;
  assert.equal(plain.server_listener_resource_name_template, 'xds.istio.io/grpc/lds/inbound/%s');
  assert.equal(plain.certificate_providers, undefined);
  const b = makeBootstrap({ xdsAddress: '127.0.0.1:15010', namespace: 'shop', ip: '127.0.0.1', service: 'catalog', certsDir: '/etc/weft/certs' }) as Record<string, any>;
  assert.deepEqual(b.certificate_providers, {
    default: { plugin_name: 'file_watcher', config: { certificate_file: '/etc/weft/certs/cert-chain.pem', private_key_file: '/etc/weft/certs/key.pem', ca_certificate_file: '/etc/weft/certs/root-cert.pem', refresh_interval: '900s' } },
  });
  const parsed = parseBootstrap(b, 'test') as unknown as Record<string, any>;
  assert.equal(parsed.serverListenerResourceNameTemplate ?? parsed.server_listener_resource_name_template, 'xds.istio.io/grpc/lds/inbound/%s');
});

test('--ca-dir mints cert-chain.pem, key.pem (0600) and root-cert.pem for the identity; a directory without a CA is refused', async (t) => {
  const caDir = tempDir(t);
  createCertificateAuthority({ caDir, trustDomain: 'cluster.local' });
  const certsDir = join(tempDir(t), 'certs');
  const id = await mintWorkloadCerts({ certsDir, namespace: 'shop', serviceAccount: 'catalog', trustDomain: 'cluster.local', caDir });
  assert.equal(id, 'spiffe://cluster.local/ns/shop/sa/catalog');
  checkFiles(certsDir, id);
  await assert.rejects(mintWorkloadCerts({ certsDir, namespace: 'shop', serviceAccount: 'x', trustDomain: 'cluster.local', caDir: tempDir(t) }), { code: 'WEFT_ERR_CONFIG_IO' });
  await assert.rejects(mintWorkloadCerts({ certsDir, namespace: 'shop', serviceAccount: 'x', trustDomain: 'cluster.local' }), { code: 'WEFT_ERR_USAGE' });
});

test('--admin mints through the running control plane: join token from the admin port, CreateCertificate on the xDS port', async (t) => {
  const ca = createCertificateAuthority({ caDir: tempDir(t), trustDomain: 'cluster.local' });
  const grpcServer = new grpc.Server();
  grpcServer.addService(caServiceDefinition(), createCaServiceHandlers(ca));
  const port = await new Promise<number>((resolve, reject) => grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const admin = createServer(createTokenAdminHandler(ca));
  await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    grpcServer.forceShutdown();
    admin.close();
  });
  const adminPort = (admin.address() as { port: number }).port;
  const certsDir = join(tempDir(t), 'certs');
  const id = await mintWorkloadCerts({ certsDir, namespace: 'shop', serviceAccount: 'frontend', trustDomain: 'cluster.local', admin: `http://127.0.0.1:${adminPort}`, xdsAddress: `127.0.0.1:${port}` });
  checkFiles(certsDir, id);
});
