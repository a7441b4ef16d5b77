/**
 * The certificates the CA issues work for mutual TLS in grpc-js (what the gRPC adapter will
 * use): the server reads the client's SPIFFE ID from the call's auth context, the client checks
 * the server's SPIFFE ID instead of a DNS name, and a valid certificate for the wrong identity
 * is refused at the application layer with PERMISSION_DENIED.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createSpiffeServerIdentityCheck, createWorkloadCsr, verifyPeerSpiffeId } from '@weft/core';
import { createCertificateAuthority } from './certificate-authority.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-grpc-mtls-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('grpc-js mTLS with issued certificates and SPIFFE checks on both sides', async () => {
  const ca = createCertificateAuthority({ caDir: dir });
  const issue = (sa: string) => {
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spiffeId = `spiffe://cluster.local/ns/shop/sa/${sa}`;
    const chain = ca.issue(createWorkloadCsr(keys.privateKey, keys.publicKey, spiffeId).pem, { spiffeId }).certChainPem;
    return { key: Buffer.from(keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), chain: Buffer.from(chain.slice(0, -1).join('')) };
  };
  const root = Buffer.from(ca.trustBundlePem().join(''));
  const serverId = issue('payments');
  const service: grpc.ServiceDefinition = {
    Who: {
      path: '/test.Echo/Who', requestStream: false, responseStream: false,
      requestSerialize: (v: Buffer) => v, requestDeserialize: (b: Buffer) => b,
      responseSerialize: (v: Buffer) => v, responseDeserialize: (b: Buffer) => b,
    },
  };
  const server = new grpc.Server();
  server.addService(service, {
    Who: ((call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      try {
        const peer = verifyPeerSpiffeId(call.getAuthContext().sslPeerCertificate, {
          trustDomain: 'cluster.local', allowedIds: ['spiffe://cluster.local/ns/shop/sa/cart'],
        });
        cb(null, Buffer.from(peer));
      } catch (err) {
        cb({ code: grpc.status.PERMISSION_DENIED, details: (err as Error).message });
      }
    }) as grpc.UntypedHandleCall,
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0',
    grpc.ServerCredentials.createSsl(root, [{ private_key: serverId.key, cert_chain: serverId.chain }], true),
    (err, p) => (err ? reject(err) : resolve(p))));
  const Client = grpc.makeGenericClientConstructor(service, 'Echo');
  const call = (sa: string) => {
    const id = issue(sa);
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(root, id.key, id.chain, {
      checkServerIdentity: createSpiffeServerIdentityCheck({ trustDomain: 'cluster.local', allowedIds: ['spiffe://cluster.local/ns/shop/sa/payments'] }),
    }));
    return new Promise<string>((resolve, reject) => {
      (client as unknown as { Who(req: Buffer, cb: (e: grpc.ServiceError | null, r?: Buffer) => void): void }).Who(Buffer.alloc(0), (e, r) => {
        client.close();
        if (e) reject(e);
        else resolve(r!.toString());
      });
    });
  };
  try {
    assert.equal(await call('cart'), 'spiffe://cluster.local/ns/shop/sa/cart');
    await assert.rejects(call('web'), (e: grpc.ServiceError) =>
      e.code === grpc.status.PERMISSION_DENIED && /spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web is not one of the expected/.test(e.details));
  } finally {
    server.forceShutdown();
  }
});
