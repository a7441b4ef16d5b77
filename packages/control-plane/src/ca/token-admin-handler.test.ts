import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCertificateAuthority, type CertificateAuthority } from './certificate-authority.ts';
import { createTokenAdminHandler, TOKEN_ADMIN_PATH } from './token-admin-handler.ts';

const WEFT = new URL('../cli/weft.ts', import.meta.url).pathname;
const run = promisify(execFile);

describe('join tokens through the admin endpoint and `weft token create`', () => {
  const caDir = mkdtempSync(join(tmpdir(), 'weft-token-'));
  let ca: CertificateAuthority;
  let admin: string;
  const server = createServer();

  before(async () => {
    ca = createCertificateAuthority({ caDir });
    const handler = createTokenAdminHandler(ca);
    server.on('request', (req, res) => (req.url === TOKEN_ADMIN_PATH ? handler(req, res) : res.writeHead(404).end()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    admin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(caDir, { recursive: true, force: true });
  });

  test('POST /ca/token mints a token for the identity', async () => {
    const res = await fetch(`${admin}${TOKEN_ADMIN_PATH}`, { method: 'POST', body: JSON.stringify({ namespace: 'shop', serviceAccount: 'cart', ttl: '10m' }) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { token: string; spiffeId: string; expiresAt: string };
    assert.equal(body.spiffeId, 'spiffe://cluster.local/ns/shop/sa/cart');
    assert.equal(ca.verifyJoinToken(body.token).spiffeId, body.spiffeId);
    const ttl = Date.parse(body.expiresAt) - Date.now();
    assert.ok(ttl > 9 * 60_000 && ttl <= 10 * 60_000, `ttl ${ttl}`);
  });

  test('bad input is a 400 naming the field; GET is 405', async () => {
    const bad = await fetch(`${admin}${TOKEN_ADMIN_PATH}`, { method: 'POST', body: JSON.stringify({ namespace: 'Shop!', serviceAccount: 'cart' }) });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /namespace "Shop!"/);
    const badTtl = await fetch(`${admin}${TOKEN_ADMIN_PATH}`, { method: 'POST', body: JSON.stringify({ namespace: 'shop', serviceAccount: 'cart', ttl: 'soon' }) });
    assert.equal(badTtl.status, 400);
    assert.equal((await fetch(`${admin}${TOKEN_ADMIN_PATH}`)).status, 405);
  });

  test('non-loopback callers are refused', () => {
    const handler = createTokenAdminHandler(ca);
    const req = Object.assign(new PassThrough(), { socket: { remoteAddress: '10.1.2.3' }, method: 'POST' }) as unknown as IncomingMessage;
    let status = 0;
    let body = '';
    const res = {
      writeHead(s: number) { status = s; return this; },
      setHeader() {},
      end(text: string) { body = text; },
    } as unknown as ServerResponse;
    handler(req, res);
    assert.equal(status, 403);
    assert.match(body, /loopback/);
  });

  test('weft token create asks the admin port, or signs with --ca-dir', async () => {
    const viaAdmin = await run(process.execPath, [WEFT, 'token', 'create', '--namespace', 'shop', '--service-account', 'web', '--ttl', '5m', '--admin', admin]);
    assert.equal(ca.verifyJoinToken(viaAdmin.stdout.trim()).spiffeId, 'spiffe://cluster.local/ns/shop/sa/web');
    const local = await run(process.execPath, [WEFT, 'token', 'create', '--namespace', 'shop', '--service-account', 'web', '--ca-dir', caDir]);
    assert.equal(ca.verifyJoinToken(local.stdout.trim()).spiffeId, 'spiffe://cluster.local/ns/shop/sa/web');
    await assert.rejects(run(process.execPath, [WEFT, 'token', 'create', '--namespace', 'shop', '--service-account', 'web', '--ca-dir', join(caDir, 'nope')]),
      (e: { code: number; stderr: string }) => e.code === 1 && /holds no Weft CA/.test(e.stderr));
    await assert.rejects(run(process.execPath, [WEFT, 'token', 'create', '--namespace', 'shop']),
      (e: { code: number; stderr: string }) => e.code === 2 && /--service-account are required/.test(e.stderr));
  });
});
