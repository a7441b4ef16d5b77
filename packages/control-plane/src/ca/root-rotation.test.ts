/**
 * Root rotation seen from a workload: during the overlap it renews with its current
 * certificate and receives both roots; once the old root is no longer trusted, its certificate
 * cannot authenticate a renewal and it falls back to its join token.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createGrpcCertificateSigner } from '@weft/xds-client';
import { createWorkloadIdentity } from '@weft/core';
import { createCertificateAuthority } from './certificate-authority.ts';
import { caServiceDefinition, createCaServiceHandlers, type CaServiceEvent } from './ca-service.ts';

const dir = mkdtempSync(join(tmpdir(), 'weft-rotate-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

test('workloads follow a root rotation: overlap renewal by certificate, then token fallback', async () => {
  const ca = createCertificateAuthority({ caDir: dir });
  const events: CaServiceEvent[] = [];
  const server = new grpc.Server();
  server.addService(caServiceDefinition(), createCaServiceHandlers(ca, { onEvent: (e) => events.push(e) }));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const identity = createWorkloadIdentity({
    signer: createGrpcCertificateSigner({ address: `127.0.0.1:${port}` }),
    namespace: 'shop', serviceAccount: 'cart', token: ca.createJoinToken({ namespace: 'shop', serviceAccount: 'cart' }).token,
  });
  try {
    const oldRoot = ca.rootCertPem();
    const first = await identity.ready();
    assert.deepEqual(first.trustBundlePem.map(fingerprint), [fingerprint(oldRoot)]);

    await ca.rotateRoot({ overlapMs: 3_600_000, activateAfterMs: 0 });
    const during = await identity.renewNow();
    assert.equal(events.at(-1)?.via, 'certificate');
    assert.equal(fingerprint(during.certChainPem.at(-1) as string), fingerprint(ca.rootCertPem()));
    assert.deepEqual(new Set(during.trustBundlePem.map(fingerprint)), new Set([fingerprint(ca.rootCertPem()), fingerprint(oldRoot)]));

    // A second rotation with no overlap: the certificate (under the previous root) is no longer trusted.
    await ca.rotateRoot({ overlapMs: 1, activateAfterMs: 0 });
    await new Promise((r) => setTimeout(r, 5));
    const after = await identity.renewNow();
    assert.deepEqual(events.slice(-2).map((e) => `${e.outcome}/${e.via}`), ['refused/certificate', 'issued/token']);
    assert.match(events.at(-2)?.message ?? '', /does not chain to a root/);
    assert.equal(fingerprint(after.certChainPem.at(-1) as string), fingerprint(ca.rootCertPem()));
    assert.ok(after.trustBundlePem.map(fingerprint).includes(fingerprint(ca.rootCertPem())));
    assert.equal(after.generation, 3);
  } finally {
    identity.close();
    server.forceShutdown();
  }
});
