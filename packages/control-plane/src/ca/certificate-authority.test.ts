import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import forge from 'node-forge';
import { createWorkloadCsr } from '@weft/core';
import { createCertificateAuthority, type CertificateAuthority } from './certificate-authority.ts';
import { signCertificate } from './x509-sign.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'weft-ca-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const csrFor = (id: string): string => createWorkloadCsr(keys.privateKey, keys.publicKey, id).pem;
const ID = 'spiffe://cluster.local/ns/shop/sa/cart';

function issueFor(ca: CertificateAuthority, ttlMs?: number): string[] {
  return ca.issue(csrFor(ID), { spiffeId: ID, ...(ttlMs ? { ttlMs } : {}) }).certChainPem;
}

function reasonOf(fn: () => unknown): { code: string; reason: unknown; message: string } {
  try {
    fn();
  } catch (err) {
    const e = err as { code: string; details: Record<string, unknown>; message: string };
    return { code: e.code, reason: e.details?.['reason'], message: e.message };
  }
  assert.fail('expected an error');
}

describe('certificate authority', () => {
  test('creates a self-signed root with a 0600 key and reuses it after a restart', () => {
    const dir = tempDir();
    const first = createCertificateAuthority({ caDir: dir });
    assert.equal(statSync(join(dir, 'ca-key.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'token-key')).mode & 0o777, 0o600);
    assert.equal(first.isSelfSigned, true);
    const again = createCertificateAuthority({ caDir: dir });
    assert.equal(again.rootCertPem(), first.rootCertPem());
    // A token minted before the restart is still accepted (same token key).
    const { token } = first.createJoinToken({ namespace: 'shop', serviceAccount: 'cart' });
    assert.equal(again.verifyJoinToken(token).spiffeId, ID);
  });

  test('issues an RSA workload certificate with the SPIFFE URI SAN and the requested TTL', () => {
    const ca = createCertificateAuthority({ caDir: tempDir() });
    const chain = issueFor(ca, 3_600_000);
    assert.equal(chain.length, 2);
    const leaf = new X509Certificate(chain[0] as string);
    assert.equal(leaf.subjectAltName, `URI:${ID}`);
    assert.equal(leaf.ca, false);
    const lifetime = leaf.validToDate.getTime() - leaf.validFromDate.getTime();
    assert.ok(Math.abs(lifetime - 3_600_000) <= 2000, `lifetime ${lifetime}`);
    assert.equal(ca.verifyWorkloadChain(chain).spiffeId, ID);
    assert.equal(chain[1], ca.rootCertPem());
  });

  test('defaults to a 24 h lifetime and clamps to the maximum', () => {
    const ca = createCertificateAuthority({ caDir: tempDir(), maxCertTtlMs: 7_200_000 });
    const leafDefault = new X509Certificate(issueFor(ca)[0] as string);
    assert.ok(leafDefault.validToDate.getTime() - Date.now() <= 7_200_000 + 1000);
    const ca24 = createCertificateAuthority({ caDir: tempDir() });
    const leaf = new X509Certificate(issueFor(ca24)[0] as string);
    assert.ok(Math.abs(leaf.validToDate.getTime() - leaf.validFromDate.getTime() - 86_400_000) <= 2000);
  });

  test('refuses a CSR that asks for another identity than the caller is entitled to', () => {
    const ca = createCertificateAuthority({ caDir: tempDir() });
    const other = 'spiffe://cluster.local/ns/shop/sa/payments';
    const r = reasonOf(() => ca.issue(csrFor(other), { spiffeId: ID }));
    assert.equal(r.code, 'WEFT_ERR_UNAUTHORIZED');
    assert.equal(r.reason, 'identity-mismatch');
    assert.match(r.message, /payments.*only entitled to .*cart/);
  });

  test('certifies ECDSA P-256 keys too, and refuses other curves', () => {
    const ca = createCertificateAuthority({ caDir: tempDir() });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const chain = ca.issue(createWorkloadCsr(ec.privateKey, ec.publicKey, ID).pem, { spiffeId: ID }).certChainPem;
    const leaf = new X509Certificate(chain[0] as string);
    assert.equal(leaf.publicKey.asymmetricKeyType, 'ec');
    assert.ok(leaf.checkPrivateKey(ec.privateKey));
    assert.equal(ca.verifyWorkloadChain(chain).spiffeId, ID);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const r = reasonOf(() => ca.issue(createWorkloadCsr(p384.privateKey, p384.publicKey, ID).pem, { spiffeId: ID }));
    assert.equal(r.reason, 'unsupported-key');
  });

  test('refuses a CSR whose signature does not match its key', () => {
    const ca = createCertificateAuthority({ caDir: tempDir() });
    const pem = csrFor(ID);
    const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    der[der.length - 5] = (der[der.length - 5] as number) ^ 0xff; // flip bits inside the signature
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.equal(reasonOf(() => ca.issue(tampered, { spiffeId: ID })).reason, 'bad-signature');
  });

  test('refuses a malformed CSR and a CSR without SAN', () => {
    const ca = createCertificateAuthority({ caDir: tempDir() });
    assert.equal(reasonOf(() => ca.issue('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', { spiffeId: ID })).code, 'WEFT_ERR_CERT_INVALID');
  });

  test('join tokens: bound to identity, tamper-evident, expiring, trust-domain scoped', () => {
    let now = Date.now();
    const dir = tempDir();
    const ca = createCertificateAuthority({ caDir: dir, now: () => now });
    const { token, expiresAtMs } = ca.createJoinToken({ namespace: 'shop', serviceAccount: 'cart', ttlMs: 60_000 });
    assert.ok(expiresAtMs > now);
    assert.equal(ca.verifyJoinToken(token).spiffeId, ID);
    // Altering the payload to name another service account breaks the MAC.
    const [p, body, mac] = token.split('.') as [string, string, string];
    const forged = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    forged['sa'] = 'payments';
    const forgedToken = `${p}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${mac}`;
    assert.match(reasonOf(() => ca.verifyJoinToken(forgedToken)).message, /signature does not match/);
    // Another CA (other token key) does not accept it.
    const stranger = createCertificateAuthority({ caDir: tempDir() });
    assert.equal(reasonOf(() => stranger.verifyJoinToken(token)).code, 'WEFT_ERR_UNAUTHORIZED');
    // Same key, other trust domain.
    const otherTd = createCertificateAuthority({ caDir: dir, trustDomain: 'other.local', now: () => now });
    assert.match(reasonOf(() => otherTd.verifyJoinToken(token)).message, /trust domain "cluster.local"/);
    now += 61_000;
    const expired = reasonOf(() => ca.verifyJoinToken(token));
    assert.equal(expired.code, 'WEFT_ERR_UNAUTHORIZED');
    assert.match(expired.message, /expired/);
    assert.equal(reasonOf(() => ca.verifyJoinToken('garbage')).code, 'WEFT_ERR_UNAUTHORIZED');
  });

  test('refuses expired, not-yet-valid, wrong-root and wrong-trust-domain certificates', () => {
    const dir = tempDir();
    let now = Date.now();
    const ca = createCertificateAuthority({ caDir: dir, now: () => now });
    const chain = issueFor(ca, 10_000);
    // Expired: the clock moves past notAfter.
    now += 20_000;
    assert.equal(reasonOf(() => ca.verifyWorkloadChain(chain)).reason, 'expired');
    // Not yet valid: a CA whose clock runs an hour ahead issues a certificate.
    now = Date.now();
    const ahead = createCertificateAuthority({ caDir: dir, now: () => Date.now() + 3_600_000 });
    assert.equal(reasonOf(() => ca.verifyWorkloadChain(issueFor(ahead))).reason, 'not-yet-valid');
    // Wrong root: issued by another CA (reported as such even if the clock disagrees too).
    const stranger = createCertificateAuthority({ caDir: tempDir() });
    const strangerChain = issueFor(stranger);
    now = Date.now();
    const wrongRoot = reasonOf(() => ca.verifyWorkloadChain(strangerChain));
    assert.equal(wrongRoot.code, 'WEFT_ERR_CERT_INVALID');
    assert.equal(wrongRoot.reason, 'wrong-root');
    // Wrong trust domain: same root, other trust domain.
    const otherTd = createCertificateAuthority({ caDir: dir, trustDomain: 'other.local' });
    const id = 'spiffe://other.local/ns/shop/sa/cart';
    const foreign = otherTd.issue(csrFor(id), { spiffeId: id }).certChainPem;
    now = Date.now();
    const wrongTd = reasonOf(() => ca.verifyWorkloadChain(foreign));
    assert.equal(wrongTd.reason, 'wrong-trust-domain');
    assert.match(wrongTd.message, /other\.local/);
  });

  test('root rotation keeps the old root trusted for the overlap, then drops it', async () => {
    let now = Date.now();
    const dir = tempDir();
    const ca = createCertificateAuthority({ caDir: dir, now: () => now });
    const oldRoot = ca.rootCertPem();
    const oldChain = issueFor(ca, 3_600_000);
    await ca.rotateRoot({ overlapMs: 60_000, activateAfterMs: 0 });
    assert.notEqual(ca.rootCertPem(), oldRoot);
    assert.deepEqual(ca.trustBundlePem().map((p) => new X509Certificate(p).fingerprint256),
      [ca.rootCertPem(), oldRoot].map((p) => new X509Certificate(p).fingerprint256));
    assert.equal(ca.verifyWorkloadChain(oldChain).spiffeId, ID);
    const newChain = issueFor(ca);
    assert.equal(new X509Certificate(newChain[1] as string).fingerprint256, new X509Certificate(ca.rootCertPem()).fingerprint256);
    // A restart during the overlap keeps both roots.
    const restarted = createCertificateAuthority({ caDir: dir, now: () => now });
    assert.equal(restarted.trustBundlePem().length, 2);
    now += 61_000;
    assert.equal(ca.trustBundlePem().length, 1);
    assert.equal(reasonOf(() => ca.verifyWorkloadChain(oldChain)).reason, 'wrong-root');
    assert.equal(ca.verifyWorkloadChain(newChain).spiffeId, ID);
  });

  test('staged rotation: the new root is trusted first, signs only from its activation time, survives a restart', async () => {
    let now = Date.now();
    const dir = tempDir();
    const ca = createCertificateAuthority({ caDir: dir, now: () => now });
    const oldRoot = ca.rootCertPem();
    const fp = (p: string): string => new X509Certificate(p).fingerprint256;
    await ca.rotateRoot({ activateAfterMs: 60_000, overlapMs: 3_600_000 });
    assert.equal(ca.rootCertPem(), oldRoot);
    assert.equal(ca.trustBundlePem().length, 2);
    const staged = ca.trustBundlePem().map(fp).find((f) => f !== fp(oldRoot)) as string;
    assert.equal(fp(issueFor(ca).at(-1) as string), fp(oldRoot));
    const restarted = createCertificateAuthority({ caDir: dir, now: () => now });
    assert.deepEqual(restarted.trustBundlePem().map(fp), ca.trustBundlePem().map(fp));
    now += 61_000;
    const chain = issueFor(ca);
    assert.equal(fp(chain.at(-1) as string), staged);
    assert.equal(fp(ca.rootCertPem()), staged);
    assert.deepEqual(new Set(ca.trustBundlePem().map(fp)), new Set([staged, fp(oldRoot)]));
    // The restarted instance (same directory) sees the activation too.
    assert.equal(fp(restarted.rootCertPem()), staged);
  });

  test('plug-in CA from Istio cacerts files: intermediate signs, chain ends at the root', async () => {
    const rootDir = tempDir();
    const rootCa = createCertificateAuthority({ caDir: rootDir });
    const rootPem = rootCa.rootCertPem();
    const rootKey = readFileSync(join(rootDir, 'ca-key.pem'), 'utf8');
    const inter = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const interPem = signCertificate({
      publicKey: inter.publicKey,
      subject: [{ name: 'organizationName', value: 'cluster.local' }, { name: 'commonName', value: 'intermediate' }],
      issuer: forge.pki.certificateFromPem(rootPem),
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000 * 30),
      extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, critical: true }],
    }, (await import('node:crypto')).createPrivateKey(rootKey));
    const dir = tempDir();
    writeFileSync(join(dir, 'ca-cert.pem'), interPem);
    writeFileSync(join(dir, 'ca-key.pem'), inter.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
    writeFileSync(join(dir, 'root-cert.pem'), rootPem);
    writeFileSync(join(dir, 'cert-chain.pem'), interPem + rootPem);
    const ca = createCertificateAuthority({ caDir: dir });
    assert.equal(ca.isSelfSigned, false);
    const chain = issueFor(ca);
    assert.equal(chain.length, 3);
    assert.equal(chain[2], rootPem);
    assert.equal(ca.verifyWorkloadChain(chain).spiffeId, ID);
    // The parent CA (same root) accepts the chain too.
    assert.equal(rootCa.verifyWorkloadChain(chain).spiffeId, ID);
    await assert.rejects(ca.rotateRoot(), (e: { code: string }) => e.code === 'WEFT_ERR_USAGE');
    // Mismatched key and certificate are reported naming the file.
    writeFileSync(join(dir, 'ca-key.pem'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    assert.throws(() => createCertificateAuthority({ caDir: dir }), (e: { code: string; message: string }) =>
      e.code === 'WEFT_ERR_CERT_INVALID' && e.message.includes('ca-key.pem'));
  });
});
