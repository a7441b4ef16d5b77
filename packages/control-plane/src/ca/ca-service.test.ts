import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createGrpcCertificateSigner, type GrpcCertificateSigner } from '@weft/xds-client';
import { createWorkloadCsr } from '@weft/core';
import { createCertificateAuthority, type CertificateAuthority } from './certificate-authority.ts';
import { caServiceDefinition, createCaServiceHandlers, type CaServiceEvent } from './ca-service.ts';

const CART = 'spiffe://cluster.local/ns/shop/sa/cart';
const PAYMENTS = 'spiffe://cluster.local/ns/shop/sa/payments';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('IstioCertificateService/CreateCertificate over grpc-js on 127.0.0.1', () => {
  const dirs: string[] = [];
  let ca: CertificateAuthority;
  let server: grpc.Server;
  let signer: GrpcCertificateSigner;
  const events: CaServiceEvent[] = [];

  before(async () => {
    dirs.push(mkdtempSync(join(tmpdir(), 'weft-ca-svc-')));
    ca = createCertificateAuthority({ caDir: dirs[0] as string });
    server = new grpc.Server();
    server.addService(caServiceDefinition(), createCaServiceHandlers(ca, { onEvent: (e) => events.push(e) }));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    signer = createGrpcCertificateSigner({ address: `127.0.0.1:${port}` });
  });
  after(() => {
    signer.close();
    server.forceShutdown();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const csr = (id: string, k = keys) => createWorkloadCsr(k.privateKey, k.publicKey, id);

  test('a join token for an identity obtains that identity, with the trust bundle in the header', async () => {
    const { token } = ca.createJoinToken({ namespace: 'shop', serviceAccount: 'cart' });
    const res = await signer.sign({ csrPem: csr(CART).pem, validitySeconds: 600, credentials: { kind: 'token', token } });
    assert.equal(ca.verifyWorkloadChain(res.certChainPem).spiffeId, CART);
    assert.equal(res.trustBundlePem?.length, 1);
    assert.equal(events.at(-1)?.outcome, 'issued');
    assert.equal(events.at(-1)?.via, 'token');
  });

  test('a token for one identity cannot obtain another (PERMISSION_DENIED)', async () => {
    const { token } = ca.createJoinToken({ namespace: 'shop', serviceAccount: 'cart' });
    await assert.rejects(
      signer.sign({ csrPem: csr(PAYMENTS).pem, validitySeconds: 600, credentials: { kind: 'token', token } }),
      (e: { code: string; message: string; details: { grpcCode: number } }) =>
        e.code === 'WEFT_ERR_UNAUTHORIZED' && e.details.grpcCode === grpc.status.PERMISSION_DENIED && /payments/.test(e.message));
    assert.equal(events.at(-1)?.status, 'PERMISSION_DENIED');
  });

  test('no credentials, a forged token or an expired token are UNAUTHENTICATED', async () => {
    await assert.rejects(signer.sign({ csrPem: csr(CART).pem, validitySeconds: 60, credentials: { kind: 'token', token: '' } }),
      (e: { details: { grpcCode: number }; message: string }) => e.details.grpcCode === grpc.status.UNAUTHENTICATED && /no credentials/.test(e.message));
    await assert.rejects(signer.sign({ csrPem: csr(CART).pem, validitySeconds: 60, credentials: { kind: 'token', token: 'weft1.e30.AAAA' } }),
      (e: { details: { grpcCode: number } }) => e.details.grpcCode === grpc.status.UNAUTHENTICATED);
  });

  test('renewal is authenticated by the current certificate and a signature over the new CSR', async () => {
    const { token } = ca.createJoinToken({ namespace: 'shop', serviceAccount: 'cart' });
    const first = await signer.sign({ csrPem: csr(CART).pem, validitySeconds: 600, credentials: { kind: 'token', token } });
    const next = csr(CART, otherKeys);
    const proof = sign('sha256', next.der, keys.privateKey);
    const renewed = await signer.sign({ csrPem: next.pem, validitySeconds: 600, credentials: { kind: 'certificate', certChainPem: first.certChainPem, csrSignature: proof } });
    assert.equal(ca.verifyWorkloadChain(renewed.certChainPem).spiffeId, CART);
    assert.equal(events.at(-1)?.via, 'certificate');
    // A signature by a key other than the certificate's is refused.
    const wrongProof = sign('sha256', next.der, otherKeys.privateKey);
    await assert.rejects(
      signer.sign({ csrPem: next.pem, validitySeconds: 600, credentials: { kind: 'certificate', certChainPem: first.certChainPem, csrSignature: wrongProof } }),
      (e: { code: string; message: string }) => e.code === 'WEFT_ERR_UNAUTHORIZED' && /signature does not verify/.test(e.message));
    // The current certificate cannot renew into another identity.
    const other = csr(PAYMENTS, otherKeys);
    await assert.rejects(
      signer.sign({ csrPem: other.pem, validitySeconds: 600, credentials: { kind: 'certificate', certChainPem: first.certChainPem, csrSignature: sign('sha256', other.der, keys.privateKey) } }),
      (e: { details: { grpcCode: number } }) => e.details.grpcCode === grpc.status.PERMISSION_DENIED);
  });

  test('an aborted signal rejects without calling, a closed signer refuses', async () => {
    const { token } = ca.createJoinToken({ namespace: 'shop', serviceAccount: 'cart' });
    const ac = new AbortController();
    ac.abort(new Error('gave up'));
    const before = events.length;
    await assert.rejects(signer.sign({ csrPem: csr(CART).pem, validitySeconds: 60, credentials: { kind: 'token', token }, signal: ac.signal }), /gave up/);
    assert.equal(events.length, before);
    const other = createGrpcCertificateSigner({ address: '127.0.0.1:1' });
    other.close();
    other.close();
    await assert.rejects(other.sign({ csrPem: csr(CART).pem, validitySeconds: 60, credentials: { kind: 'token', token } }), (e: { code: string }) => e.code === 'WEFT_ERR_CLOSED');
  });

  test('a certificate from another CA cannot renew (wrong root)', async () => {
    dirs.push(mkdtempSync(join(tmpdir(), 'weft-ca-svc-')));
    const stranger = createCertificateAuthority({ caDir: dirs.at(-1) as string });
    const foreign = stranger.issue(csr(CART).pem, { spiffeId: CART }).certChainPem;
    const next = csr(CART, otherKeys);
    await assert.rejects(
      signer.sign({ csrPem: next.pem, validitySeconds: 600, credentials: { kind: 'certificate', certChainPem: foreign, csrSignature: sign('sha256', next.der, keys.privateKey) } }),
      (e: { code: string; message: string }) => e.code === 'WEFT_ERR_UNAUTHORIZED' && /does not chain to a root/.test(e.message));
  });
});
