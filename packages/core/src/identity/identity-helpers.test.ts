import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWorkloadCsr } from './csr.ts';
import { formatSpiffeId, parseSpiffeId, verifyPeerSpiffeId } from './spiffe-id.ts';
import { readJoinToken } from './token-source.ts';
import { createWorkloadIdentity } from './workload-identity.ts';

test('SPIFFE IDs format, parse and reject bad parts', () => {
  assert.equal(formatSpiffeId({ trustDomain: 'cluster.local', namespace: 'shop', serviceAccount: 'cart' }), 'spiffe://cluster.local/ns/shop/sa/cart');
  assert.deepEqual(parseSpiffeId('spiffe://td/ns/a/sa/b'), { trustDomain: 'td', namespace: 'a', serviceAccount: 'b' });
  assert.equal(parseSpiffeId('spiffe://td/ns/a/sa/b/extra'), undefined);
  assert.throws(() => formatSpiffeId({ trustDomain: 'td', namespace: 'A/B', serviceAccount: 'x' }), { code: 'WEFT_ERR_CONFIG_INVALID' });
});

test('verifyPeerSpiffeId: missing certificate, wrong trust domain, identity not allowed', () => {
  assert.throws(() => verifyPeerSpiffeId({} as never, { trustDomain: 'cluster.local' }), { code: 'WEFT_ERR_CERT_INVALID' });
  const peer = { raw: Buffer.alloc(1), subjectaltname: 'URI:spiffe://other.local/ns/a/sa/b' } as never;
  assert.throws(() => verifyPeerSpiffeId(peer, { trustDomain: 'cluster.local' }), (e: { details: { reason: string } }) => e.details.reason === 'wrong-trust-domain');
  const good = { raw: Buffer.alloc(1), subjectaltname: 'URI:spiffe://cluster.local/ns/a/sa/b' } as never;
  assert.equal(verifyPeerSpiffeId(good, { trustDomain: 'cluster.local' }), 'spiffe://cluster.local/ns/a/sa/b');
  assert.throws(() => verifyPeerSpiffeId(good, { trustDomain: 'cluster.local', allowedIds: ['spiffe://cluster.local/ns/a/sa/c'] }), { code: 'WEFT_ERR_UNAUTHORIZED' });
});

test('the CSR is DER that carries the SPIFFE URI SAN', () => {
  const k = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const csr = createWorkloadCsr(k.privateKey, k.publicKey, 'spiffe://cluster.local/ns/a/sa/b');
  assert.match(csr.pem, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
  assert.ok(csr.der.includes(Buffer.from('spiffe://cluster.local/ns/a/sa/b')));
  assert.equal(csr.der[0], 0x30);
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecCsr = createWorkloadCsr(ec.privateKey, ec.publicKey, 'spiffe://x/ns/a/sa/b');
  assert.ok(ecCsr.der.includes(Buffer.from('spiffe://x/ns/a/sa/b')));
  const ed = generateKeyPairSync('ed25519');
  assert.throws(() => createWorkloadCsr(ed.privateKey, ed.publicKey, 'spiffe://x/ns/a/sa/b'), TypeError);
});

test('readJoinToken: WEFT_TOKEN wins, then WEFT_TOKEN_FILE; unreadable file is a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-tok-'));
  try {
    const file = join(dir, 'token');
    writeFileSync(file, 'abc\n');
    assert.equal(readJoinToken({ WEFT_TOKEN: 'inline', WEFT_TOKEN_FILE: file }), 'inline');
    assert.equal(readJoinToken({ WEFT_TOKEN_FILE: file }), 'abc');
    assert.equal(readJoinToken({}), undefined);
    assert.throws(() => readJoinToken({ WEFT_TOKEN_FILE: join(dir, 'missing') }), (e: { code: string; message: string }) =>
      e.code === 'WEFT_ERR_CONFIG_IO' && e.message.includes('missing'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a token the first certificate fails fast with a message that says how to get one', async () => {
  let calls = 0;
  const identity = createWorkloadIdentity({
    signer: { sign: async () => { calls++; throw new Error('unreachable'); } },
    namespace: 'shop', serviceAccount: 'cart', token: () => undefined, retryMinMs: 20, retryMaxMs: 40,
  });
  const errors: string[] = [];
  identity.onError((e) => errors.push(e.code));
  await assert.rejects(identity.ready({ timeoutMs: 300 }), (e: { code: string; cause: { message: string } }) =>
    e.code === 'WEFT_ERR_CERT_UNAVAILABLE' && /weft token create --namespace shop --service-account cart/.test(e.cause.message));
  identity.close();
  assert.equal(calls, 0);
  assert.ok(errors.length >= 1 && errors.every((c) => c === 'WEFT_ERR_CERT_UNAVAILABLE'));
});

test('a signer that answers with something that is not a certificate is refused', async () => {
  // The "CA" answers with garbage; the identity must not accept it and keeps no material.
  const identity = createWorkloadIdentity({
    signer: { sign: async () => ({ certChainPem: ['not a certificate'] }) },
    namespace: 'shop', serviceAccount: 'cart', token: 't', retryMinMs: 20, retryMaxMs: 40,
  });
  await assert.rejects(identity.ready({ timeoutMs: 300 }), (e: { cause: { code: string } }) => e.cause.code === 'WEFT_ERR_CERT_INVALID');
  assert.equal(identity.current(), undefined);
  identity.close();
});

test('a process that only awaits ready() stays alive until it settles, then exits by itself', async () => {
  const { execFile } = await import('node:child_process');
  const moduleUrl = new URL('./workload-identity.ts', import.meta.url).href;
  const script = `
    import { createWorkloadIdentity } from ${JSON.stringify(moduleUrl)};
    const id = createWorkloadIdentity({ signer: { sign: async () => { throw new Error('down'); } },
      namespace: 'a', serviceAccount: 'b', token: 't', retryMinMs: 50 });
    try { await id.ready({ timeoutMs: 300 }); } catch (e) { console.log('settled ' + e.code); }`;
  const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, (err, stdout) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout }));
    child.stdin?.end();
  });
  assert.equal(out.stdout.trim(), 'settled WEFT_ERR_CERT_UNAVAILABLE');
  assert.equal(out.code, 0);
});
