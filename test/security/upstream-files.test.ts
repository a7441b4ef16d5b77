/**
 * DestinationRule SIMPLE / MUTUAL with certificate files: the client's TLS context comes from the
 * files the cluster names (roots and, for MUTUAL, the client chain and key), read when a
 * connection is made, for both adapters (core's `upstreamSecureContext`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createCertificateProviders, upstreamSecureContext, type UpstreamTlsRequirement } from '@weft/core';
import { createCertificateAuthority } from '../../packages/control-plane/src/ca/certificate-authority.ts';
import { mintWorkloadCerts } from '../../packages/control-plane/src/cli/commands/bootstrap-certs.ts';

function requirement(over: Partial<UpstreamTlsRequirement>): UpstreamTlsRequirement {
  return { mode: 'SIMPLE', key: 'k', expectedSpiffeIds: [], alpnProtocols: [], providers: createCertificateProviders(), checkPeer: () => undefined, ...over };
}

async function handshake(server: Server, req: UpstreamTlsRequirement): Promise<string | undefined> {
  const port = (server.address() as AddressInfo).port;
  const secureContext = upstreamSecureContext(req, `127.0.0.1:${port}`);
  return new Promise((resolve) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, ...(secureContext ? { secureContext } : {}), rejectUnauthorized: true, checkServerIdentity: () => undefined });
    socket.once('secureConnect', () => socket.once('data', (d) => (socket.destroy(), resolve(d.toString()))));
    socket.once('error', (err: Error & { code?: string }) => resolve(`error ${err.code ?? err.message}`));
  });
}

test('SIMPLE and MUTUAL from files: roots and client certificate read from the named PEM files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-tls-files-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ca = join(dir, 'ca');
  const otherCa = join(dir, 'other-ca');
  createCertificateAuthority({ caDir: ca, trustDomain: 'cluster.local' });
  createCertificateAuthority({ caDir: otherCa, trustDomain: 'cluster.local' });
  for (const sa of ['server', 'client']) await mintWorkloadCerts({ certsDir: join(dir, sa), namespace: 'shop', serviceAccount: sa, trustDomain: 'cluster.local', caDir: ca });
  await mintWorkloadCerts({ certsDir: join(dir, 'foreign'), namespace: 'shop', serviceAccount: 'x', trustDomain: 'cluster.local', caDir: otherCa });
  const pem = (who: string, file: string) => readFileSync(join(dir, who, file));
  // The server requires a client certificate from `ca` and answers with the client's CN/URI presence.
  const server = createServer({ key: pem('server', 'key.pem'), cert: pem('server', 'cert-chain.pem'), ca: pem('server', 'root-cert.pem'), requestCert: true, rejectUnauthorized: false }, (s) =>
    s.end(s.authorized ? 'client verified' : 'no client cert'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());

  assert.equal(await handshake(server, requirement({ validationFile: join(dir, 'server', 'root-cert.pem') })), 'no client cert', 'SIMPLE: server verified with the file roots');
  assert.match((await handshake(server, requirement({ validationFile: join(dir, 'foreign', 'root-cert.pem') }))) ?? '', /^error/, 'roots of another CA: refused');
  const mutual = requirement({ mode: 'MUTUAL', validationFile: join(dir, 'client', 'root-cert.pem'), identityFiles: { certificateChain: join(dir, 'client', 'cert-chain.pem'), privateKey: join(dir, 'client', 'key.pem') } });
  assert.equal(await handshake(server, mutual), 'client verified', 'MUTUAL: the client certificate from the files is presented');
  assert.throws(() => upstreamSecureContext(requirement({ validationFile: join(dir, 'missing.pem') }), 'h'), (e: Error & { code?: string }) => e.code === 'WEFT_ERR_CERT_UNAVAILABLE');
});
