/**
 * End to end: a CA in its own process, workload identities (`@weft/core`) obtaining and rotating
 * certificates through the gRPC signer (`@weft/xds-client`), and node:tls peers verifying each
 * other's SPIFFE IDs with the issued certificates.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest, createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createGrpcCertificateSigner } from '@weft/xds-client';
import { createSpiffeServerIdentityCheck, createWorkloadIdentity, identitySecureContext, identityTlsOptions, verifyCertificateChain, verifyPeerSpiffeId, type IdentityMaterial } from '@weft/core';
import { createCertificateAuthority } from './certificate-authority.ts';

const NODE = process.execPath;
const FIXTURE = new URL('./testing/ca-server-process.ts', import.meta.url).pathname;
const CART = 'spiffe://cluster.local/ns/shop/sa/cart';
const PAYMENTS = 'spiffe://cluster.local/ns/shop/sa/payments';

const dirs: string[] = [];
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.stdin?.end();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function startCa(caDir: string): Promise<{ port: number; rootFingerprint: string; stop(): Promise<void> }> {
  const child = spawn(NODE, [FIXTURE], { env: { ...process.env, CA_DIR: caDir }, stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('CA process did not start within 20 s')), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) {
        clearTimeout(timer);
        resolve(buf.slice(0, buf.indexOf('\n')));
      }
    });
    child.once('exit', (code) => reject(new Error(`CA process exited with ${code}`)));
  });
  const info = JSON.parse(line) as { port: number; rootFingerprint: string };
  return {
    ...info,
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin!.end();
    }),
  };
}

const tlsOptions = (m: IdentityMaterial) => identityTlsOptions(m);

describe('workload identity against a CA process', () => {
  const caDir = mkdtempSync(join(tmpdir(), 'weft-ca-e2e-'));
  dirs.push(caDir);
  const tokens = createCertificateAuthority({ caDir }); // what `weft token create --ca-dir` does
  let ca: Awaited<ReturnType<typeof startCa>>;

  test('a CA restart keeps the same root', async () => {
    const first = await startCa(caDir);
    await first.stop();
    ca = await startCa(caDir);
    assert.equal(ca.rootFingerprint, first.rootFingerprint);
  });

  test('a token for one identity obtains it and cannot obtain another', async () => {
    const cartToken = tokens.createJoinToken({ namespace: 'shop', serviceAccount: 'cart' }).token;
    const cart = createWorkloadIdentity({
      signer: createGrpcCertificateSigner({ address: `127.0.0.1:${ca.port}` }), namespace: 'shop', serviceAccount: 'cart', token: cartToken,
    });
    const thief = createWorkloadIdentity({
      signer: createGrpcCertificateSigner({ address: `127.0.0.1:${ca.port}` }), namespace: 'shop', serviceAccount: 'payments', token: cartToken,
      retryMinMs: 50,
    });
    const refusal = new Promise<{ code: string; message: string }>((resolve) => thief.onError(resolve));
    try {
      const m = await cart.ready({ timeoutMs: 10_000 });
      assert.equal(m.spiffeId, CART);
      assert.equal(m.generation, 1);
      const err = await refusal;
      assert.equal(err.code, 'WEFT_ERR_UNAUTHORIZED');
      assert.match(err.message, /PERMISSION_DENIED.*payments.*only entitled to spiffe:\/\/cluster\.local\/ns\/shop\/sa\/cart/);
      await assert.rejects(thief.ready({ timeoutMs: 100 }), (e: { code: string; cause?: { code: string } }) =>
        e.code === 'WEFT_ERR_CERT_UNAVAILABLE' && e.cause?.code === 'WEFT_ERR_UNAUTHORIZED');
      assert.equal(thief.current(), undefined);
    } finally {
      cart.close();
      thief.close();
    }
  });

  test('ready() honours its AbortSignal and close()', async () => {
    const idle = createWorkloadIdentity({
      signer: createGrpcCertificateSigner({ address: `127.0.0.1:${ca.port}` }), namespace: 'shop', serviceAccount: 'idle', token: () => undefined,
    });
    const ac = new AbortController();
    const waiting = idle.ready({ signal: ac.signal, timeoutMs: 10_000 });
    ac.abort(new Error('stop waiting'));
    await assert.rejects(waiting, /stop waiting/);
    const closed = idle.ready({ timeoutMs: 10_000 });
    idle.close();
    idle.close();
    await assert.rejects(closed, (e: { code: string }) => e.code === 'WEFT_ERR_CLOSED');
  });

  test('mutual TLS with issued certificates: each side sees the other\'s SPIFFE ID; a wrong identity is refused', async () => {
    const mk = (sa: string, keyAlgorithm: 'ecdsa-p256' | 'rsa-2048') => createWorkloadIdentity({
      signer: createGrpcCertificateSigner({ address: `127.0.0.1:${ca.port}` }), namespace: 'shop', serviceAccount: sa, keyAlgorithm,
      token: tokens.createJoinToken({ namespace: 'shop', serviceAccount: sa }).token,
    });
    // Mixed key types: an ECDSA server, an RSA client.
    const server = mk('payments', 'ecdsa-p256');
    const client = mk('cart', 'rsa-2048');
    const intruder = mk('web', 'ecdsa-p256');
    try {
      const [s, c, x] = await Promise.all([server.ready(), client.ready(), intruder.ready()]);
      const seen: string[] = [];
      const tlsServer = createTlsServer({ ...tlsOptions(s), requestCert: true, rejectUnauthorized: true }, (socket) => {
        try {
          seen.push(verifyPeerSpiffeId(socket.getPeerCertificate(), { trustDomain: 'cluster.local', allowedIds: [CART] }));
          socket.end('hello');
        } catch (err) {
          seen.push((err as { code: string }).code);
          socket.destroy();
        }
      });
      await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
      const port = (tlsServer.address() as AddressInfo).port;
      const dial = (m: IdentityMaterial, allowed: string[]) => new Promise<{ peer: string; body: string }>((resolve, reject) => {
        const sock: TLSSocket = tlsConnect({
          host: '127.0.0.1', port, secureContext: identitySecureContext(m), servername: 'payments.shop.svc.cluster.local',
          checkServerIdentity: createSpiffeServerIdentityCheck({ trustDomain: 'cluster.local', allowedIds: allowed }),
        }, () => {
          const peer = verifyPeerSpiffeId(sock.getPeerCertificate(), { trustDomain: 'cluster.local' });
          let body = '';
          sock.on('data', (d: Buffer) => (body += d.toString()));
          sock.on('end', () => resolve({ peer, body }));
          sock.on('close', () => resolve({ peer, body }));
        });
        sock.on('error', reject);
      });
      const ok = await dial(c, [PAYMENTS]);
      assert.deepEqual(ok, { peer: PAYMENTS, body: 'hello' });
      // The intruder's certificate is valid (same CA) but carries another identity: refused.
      const refused = await dial(x, [PAYMENTS]);
      assert.equal(refused.body, '');
      assert.deepEqual(seen, [CART, 'WEFT_ERR_UNAUTHORIZED']);
      // The client refuses a server that is not the identity it expects.
      await assert.rejects(dial(c, ['spiffe://cluster.local/ns/shop/sa/other']), (e: { code: string }) => e.code === 'WEFT_ERR_UNAUTHORIZED');
      await new Promise<void>((r) => tlsServer.close(() => r()));
    } finally {
      server.close();
      client.close();
      intruder.close();
    }
  });

  test('rotation with a 4 s TTL keeps serving valid certificates under steady traffic', async () => {
    const serverId = createWorkloadIdentity({
      signer: createGrpcCertificateSigner({ address: `127.0.0.1:${ca.port}` }), namespace: 'shop', serviceAccount: 'payments',
      token: tokens.createJoinToken({ namespace: 'shop', serviceAccount: 'payments' }).token, certTtlMs: 4000,
    });
    const clientId = createWorkloadIdentity({
      signer: createGrpcCertificateSigner({ address: `127.0.0.1:${ca.port}` }), namespace: 'shop', serviceAccount: 'cart',
      token: tokens.createJoinToken({ namespace: 'shop', serviceAccount: 'cart' }).token, certTtlMs: 4000,
    });
    try {
      const first = await serverId.ready();
      await clientId.ready();
      const rotations: number[] = [];
      const server = createHttpsServer({ ...tlsOptions(first), requestCert: true, rejectUnauthorized: true }, (req, res) => {
        const peer = verifyPeerSpiffeId((req.socket as TLSSocket).getPeerCertificate(), { trustDomain: 'cluster.local', allowedIds: [CART] });
        res.end(peer);
      });
      serverId.onRotate((m) => {
        rotations.push(m.generation);
        server.setSecureContext(tlsOptions(m));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      let ok = 0;
      const failures: string[] = [];
      const servedCerts = new Set<string>();
      const deadline = Date.now() + 6000;
      for (let i = 0; i < 400 && Date.now() < deadline; i++) {
        const m = clientId.current()!;
        const result = await new Promise<string>((resolve) => {
          const req = httpsRequest({
            host: '127.0.0.1', port, path: '/', agent: false, ...tlsOptions(m),
            checkServerIdentity: createSpiffeServerIdentityCheck({ trustDomain: 'cluster.local', allowedIds: [PAYMENTS] }),
          }, (res) => {
            const cert = (res.socket as TLSSocket).getPeerCertificate();
            servedCerts.add(cert.fingerprint256);
            // The server's certificate was within its validity window when it was presented.
            const now = Date.now();
            if (now < Date.parse(cert.valid_from) || now > Date.parse(cert.valid_to)) failures.push(`stale server cert ${cert.valid_to}`);
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve(body));
          });
          req.on('error', (e) => resolve(`error: ${e.message}`));
          req.end();
        });
        if (result === CART) ok++;
        else failures.push(result);
        await new Promise((r) => setTimeout(r, 25));
      }
      await new Promise<void>((r) => server.close(() => r()));
      assert.deepEqual(failures, []);
      assert.ok(ok >= 20, `only ${ok} requests completed`);
      assert.ok(rotations.length >= 2, `server rotated ${rotations.length} times in 6 s with a 4 s TTL`);
      assert.ok(servedCerts.size >= 3, `saw ${servedCerts.size} distinct server certificates`);
      assert.ok(clientId.current()!.generation >= 3);
      // Renewed chains still verify against the bundle and keep the identity.
      const latest = serverId.current()!;
      assert.equal(verifyCertificateChain(latest.certChainPem, latest.trustBundlePem, { trustDomain: 'cluster.local', expectedSpiffeId: PAYMENTS }).spiffeId, PAYMENTS);
    } finally {
      serverId.close();
      clientId.close();
      await ca.stop();
    }
  });
});
