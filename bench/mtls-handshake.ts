/**
 * The cost of mTLS with Weft-issued certificates (RSA-2048 workload keys, RSA-2048 root), side
 * by side with plaintext, on loopback in one process:
 *
 * - new connections: full TLS 1.3 mutual handshakes/s (no session resumption, SPIFFE check on
 *   both sides) vs plaintext TCP connects/s;
 * - steady traffic: GET requests/s over keep-alive https (mTLS) vs http, 8 connections;
 * - identity costs: RSA-2048 key generation and CA issuance (CSR → chain) in ms.
 *
 *   node_modules/.bin/node bench/mtls-handshake.ts [--quick]
 *
 * Prints `RESULT name=value` and `RATIO name=value` lines (bench/run.ts collects them).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent as HttpAgent, createServer as createHttpServer, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { createSpiffeServerIdentityCheck, createWorkloadCsr, verifyPeerSpiffeId } from '@weft/core';
import { createCertificateAuthority } from '@weft/control-plane';

const isQuick = process.argv.includes('--quick');
const RUN_MS = isQuick ? 1000 : 4000;
const CONCURRENCY = 8;
const TD = 'cluster.local';
const SERVER_ID = 'spiffe://cluster.local/ns/bench/sa/server';
const CLIENT_ID = 'spiffe://cluster.local/ns/bench/sa/client';

const caDir = mkdtempSync(join(tmpdir(), 'weft-bench-ca-'));
const ca = createCertificateAuthority({ caDir, trustDomain: TD });

function timeMs(fn: () => void, rounds: number): number {
  const start = performance.now();
  for (let i = 0; i < rounds; i++) fn();
  return (performance.now() - start) / rounds;
}

function identity(spiffeId: string) {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const chain = ca.issue(createWorkloadCsr(keys.privateKey, keys.publicKey, spiffeId).pem, { spiffeId }).certChainPem;
  return { key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert: chain.slice(0, -1).join(''), ca: ca.trustBundlePem() };
}

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

/** Runs `op` in CONCURRENCY loops for RUN_MS; returns completed operations per second. */
async function rate(op: () => Promise<void>): Promise<number> {
  const until = performance.now() + RUN_MS;
  let count = 0;
  const loop = async (): Promise<void> => {
    for (let i = 0; i < 1_000_000 && performance.now() < until; i++) {
      await op();
      count++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  return (count * 1000) / (performance.now() - start);
}

async function main(): Promise<void> {
  const keygenRsaMs = timeMs(() => generateKeyPairSync('rsa', { modulusLength: 2048 }), isQuick ? 5 : 20);
  const keygenEcMs = timeMs(() => generateKeyPairSync('ec', { namedCurve: 'P-256' }), isQuick ? 20 : 100);
  const probe = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const probeCsr = createWorkloadCsr(probe.privateKey, probe.publicKey, CLIENT_ID).pem;
  const issueMs = timeMs(() => ca.issue(probeCsr, { spiffeId: CLIENT_ID }), isQuick ? 20 : 100);

  const server = identity(SERVER_ID);
  const client = identity(CLIENT_ID);
  const serverCheck = (socket: TLSSocket): void => void verifyPeerSpiffeId(socket.getPeerCertificate(), { trustDomain: TD, allowedIds: [CLIENT_ID] });
  const checkServerIdentity = createSpiffeServerIdentityCheck({ trustDomain: TD, allowedIds: [SERVER_ID] });

  // New connections.
  const tcp = createNetServer((s) => s.end());
  const tcpPort = await listen(tcp);
  const tcpRate = await rate(() => new Promise<void>((resolve, reject) => {
    const s = netConnect(tcpPort, '127.0.0.1', () => s.end());
    s.on('close', () => resolve());
    s.on('error', reject);
  }));
  const tls = createTlsServer({ ...server, requestCert: true, rejectUnauthorized: true }, (s) => {
    serverCheck(s);
    s.end();
  });
  const tlsPort = await listen(tls);
  const tlsRate = await rate(() => new Promise<void>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: tlsPort, ...client, checkServerIdentity }, () => s.end());
    s.on('close', () => resolve());
    s.on('error', reject);
  }));

  // Steady traffic over keep-alive connections.
  const body = Buffer.from('ok');
  const http = createHttpServer((_req, res) => res.end(body));
  const httpPort = await listen(http);
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: CONCURRENCY });
  const get = (requester: typeof httpRequest, options: object): Promise<void> => new Promise((resolve, reject) => {
    const req = requester(options, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
  const httpRate = await rate(() => get(httpRequest, { host: '127.0.0.1', port: httpPort, path: '/', agent: httpAgent }));
  const https = createHttpsServer({ ...server, requestCert: true, rejectUnauthorized: true }, (req, res) => res.end(body));
  https.on('secureConnection', serverCheck);
  const httpsPort = await listen(https);
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: CONCURRENCY, ...client, checkServerIdentity });
  const httpsRate = await rate(() => get(httpsRequest, { host: '127.0.0.1', port: httpsPort, path: '/', agent: httpsAgent }));

  httpAgent.destroy();
  httpsAgent.destroy();
  for (const s of [tcp, tls, http, https]) s.close();
  rmSync(caDir, { recursive: true, force: true });

  const r = (n: number): string => n.toFixed(n >= 100 ? 0 : 2);
  console.log(`mode=${isQuick ? 'quick' : 'full'} run_ms=${RUN_MS} concurrency=${CONCURRENCY} node=${process.version}`);
  console.log(`RESULT tcp_connects_per_s=${r(tcpRate)}`);
  console.log(`RESULT mtls_handshakes_per_s=${r(tlsRate)}`);
  console.log(`RATIO mtls_handshake_vs_tcp_connect=${(tlsRate / tcpRate).toFixed(3)}`);
  console.log(`RESULT http_keepalive_rps=${r(httpRate)}`);
  console.log(`RESULT https_mtls_keepalive_rps=${r(httpsRate)}`);
  console.log(`RATIO https_mtls_vs_http_keepalive=${(httpsRate / httpRate).toFixed(3)}`);
  console.log(`RESULT rsa2048_keygen_ms=${keygenRsaMs.toFixed(1)}`);
  console.log(`RESULT ec_p256_keygen_ms=${keygenEcMs.toFixed(2)}`);
  console.log(`RESULT ca_issue_ms=${issueMs.toFixed(2)}`);
}

await main();
