/**
 * The cost of mTLS with Weft-issued certificates (RSA-2048 root; workload keys ECDSA P-256, the
 * SDK default, and RSA-2048), side by side with plaintext, on loopback in one process:
 *
 * - new connections: full TLS 1.3 mutual handshakes/s (no session resumption, SPIFFE check on
 *   both sides) with ECDSA and with RSA workload keys vs plaintext TCP connects/s;
 * - steady traffic: GET requests/s over keep-alive https (mTLS, ECDSA) vs http, 8 connections;
 * - identity costs: key generation (P-256 vs RSA-2048) and CA issuance (CSR → chain) in ms.
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
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createSecureContext, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { createSpiffeServerIdentityCheck, createWorkloadCsr, verifyPeerSpiffeId } from '@weft/core';
import { createCertificateAuthority } from '@weft/control-plane';

const isQuick = process.argv.includes('--quick');
const RUN_MS = isQuick ? 1000 : 4000;
/** Each measurement is split into ROUNDS slices interleaved with the others, so a change in machine load hits every side alike. */
const ROUNDS = isQuick ? 2 : 5;
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

function identity(spiffeId: string, kind: 'ec' | 'rsa') {
  const keys = kind === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const chain = ca.issue(createWorkloadCsr(keys.privateKey, keys.publicKey, spiffeId).pem, { spiffeId }).certChainPem;
  return { key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert: chain.slice(0, -1).join(''), ca: ca.trustBundlePem() };
}

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

/** Runs `op` in CONCURRENCY loops for `ms`; returns completed operations and elapsed ms. */
async function slice(op: () => Promise<void>, ms: number): Promise<{ count: number; elapsedMs: number; cpuUs: number }> {
  const cpuStart = process.cpuUsage();
  const until = performance.now() + ms;
  let count = 0;
  const loop = async (): Promise<void> => {
    for (let i = 0; i < 1_000_000 && performance.now() < until; i++) {
      await op();
      count++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  const cpu = process.cpuUsage(cpuStart);
  return { count, elapsedMs: performance.now() - start, cpuUs: cpu.user + cpu.system };
}

/**
 * Measures every op in interleaved rounds (RUN_MS in total each); returns, by name, operations
 * per wall-clock second and CPU microseconds per operation (client and server both run in this
 * process, so this is the whole cost of one operation, and it is far less sensitive to other
 * load on the machine than the wall-clock rate).
 */
async function rates(ops: Record<string, () => Promise<void>>): Promise<Record<string, { perSecond: number; cpuUsPerOp: number }>> {
  const totals = Object.fromEntries(Object.keys(ops).map((k) => [k, { count: 0, elapsedMs: 0, cpuUs: 0 }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, op] of Object.entries(ops)) {
      const r = await slice(op, RUN_MS / ROUNDS);
      totals[name]!.count += r.count;
      totals[name]!.elapsedMs += r.elapsedMs;
      totals[name]!.cpuUs += r.cpuUs;
    }
  }
  return Object.fromEntries(Object.entries(totals).map(([k, t]) => [k, { perSecond: (t.count * 1000) / t.elapsedMs, cpuUsPerOp: t.cpuUs / Math.max(1, t.count) }]));
}

async function main(): Promise<void> {
  const keygenRsaMs = timeMs(() => generateKeyPairSync('rsa', { modulusLength: 2048 }), isQuick ? 5 : 20);
  const keygenEcMs = timeMs(() => generateKeyPairSync('ec', { namedCurve: 'P-256' }), isQuick ? 20 : 100);
  const probe = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const probeCsr = createWorkloadCsr(probe.privateKey, probe.publicKey, CLIENT_ID).pem;
  const issueMs = timeMs(() => ca.issue(probeCsr, { spiffeId: CLIENT_ID }), isQuick ? 20 : 100);

  const server = identity(SERVER_ID, 'ec');
  const client = identity(CLIENT_ID, 'ec');
  const rsaServer = identity(SERVER_ID, 'rsa');
  const rsaClient = identity(CLIENT_ID, 'rsa');
  const serverCheck = (socket: TLSSocket): void => void verifyPeerSpiffeId(socket.getPeerCertificate(), { trustDomain: TD, allowedIds: [CLIENT_ID] });
  const checkServerIdentity = createSpiffeServerIdentityCheck({ trustDomain: TD, allowedIds: [SERVER_ID] });

  // New connections.
  const tcp = createNetServer((s) => s.end());
  const tcpPort = await listen(tcp);
  const tlsServer = (id: typeof server) => createTlsServer({ ...id, requestCert: true, rejectUnauthorized: true }, (s) => {
    serverCheck(s);
    s.end();
  });
  const ecTls = tlsServer(server);
  const rsaTls = tlsServer(rsaServer);
  const ecPort = await listen(ecTls);
  const rsaPort = await listen(rsaTls);
  // The client's SecureContext is built once, as an adapter would: building it per connection
  // (passing key/cert/ca to every tls.connect) costs more than the handshake itself.
  const handshake = (port: number, clientId: typeof client) => {
    const secureContext = createSecureContext(clientId);
    return () => new Promise<void>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, secureContext, checkServerIdentity }, () => s.end());
      s.on('close', () => resolve());
      s.on('error', reject);
    });
  };
  const connects = await rates({
    tcp: () => new Promise<void>((resolve, reject) => {
      const s = netConnect(tcpPort, '127.0.0.1', () => s.end());
      s.on('close', () => resolve());
      s.on('error', reject);
    }),
    ecdsa: handshake(ecPort, client),
    rsa: handshake(rsaPort, rsaClient),
    ecdsaContextPerConnection: () => new Promise<void>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: ecPort, ...client, checkServerIdentity }, () => s.end());
      s.on('close', () => resolve());
      s.on('error', reject);
    }),
  });

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
  const https = createHttpsServer({ ...server, requestCert: true, rejectUnauthorized: true }, (_req, res) => res.end(body));
  https.on('secureConnection', serverCheck);
  const httpsPort = await listen(https);
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: CONCURRENCY, ...client, checkServerIdentity });
  const requests = await rates({
    http: () => get(httpRequest, { host: '127.0.0.1', port: httpPort, path: '/', agent: httpAgent }),
    https: () => get(httpsRequest, { host: '127.0.0.1', port: httpsPort, path: '/', agent: httpsAgent }),
  });
  const tcpRate = connects['tcp']!.perSecond;
  const tlsRate = connects['ecdsa']!.perSecond;
  const rsaTlsRate = connects['rsa']!.perSecond;
  const httpRate = requests['http']!.perSecond;
  const httpsRate = requests['https']!.perSecond;
  const cpu = (m: Record<string, { cpuUsPerOp: number }>, k: string): number => m[k]!.cpuUsPerOp;

  httpAgent.destroy();
  httpsAgent.destroy();
  for (const s of [tcp, ecTls, rsaTls, http, https]) s.close();
  rmSync(caDir, { recursive: true, force: true });

  const r = (n: number): string => n.toFixed(n >= 100 ? 0 : 2);
  console.log(`mode=${isQuick ? 'quick' : 'full'} run_ms=${RUN_MS} rounds=${ROUNDS} concurrency=${CONCURRENCY} node=${process.version} loadavg=${loadavg()[0]?.toFixed(2)}`);
  console.log(`RESULT tcp_connects_per_s=${r(tcpRate)}`);
  console.log(`RESULT mtls_handshakes_per_s=${r(tlsRate)}`);
  console.log(`RESULT mtls_handshakes_rsa2048_per_s=${r(rsaTlsRate)}`);
  console.log(`RATIO mtls_handshake_vs_tcp_connect=${(tlsRate / tcpRate).toFixed(3)}`);
  console.log(`RATIO mtls_handshake_ecdsa_vs_rsa=${(tlsRate / rsaTlsRate).toFixed(2)}`);
  console.log(`RESULT http_keepalive_rps=${r(httpRate)}`);
  console.log(`RESULT https_mtls_keepalive_rps=${r(httpsRate)}`);
  console.log(`RATIO https_mtls_vs_http_keepalive=${(httpsRate / httpRate).toFixed(3)}`);
  console.log(`RESULT tcp_connect_cpu_us=${cpu(connects, 'tcp').toFixed(0)}`);
  console.log(`RESULT mtls_handshake_cpu_us=${cpu(connects, 'ecdsa').toFixed(0)}`);
  console.log(`RESULT mtls_handshake_rsa2048_cpu_us=${cpu(connects, 'rsa').toFixed(0)}`);
  console.log(`RESULT mtls_handshake_context_per_connection_cpu_us=${cpu(connects, 'ecdsaContextPerConnection').toFixed(0)}`);
  console.log(`RATIO mtls_handshake_cpu_rsa_vs_ecdsa=${(cpu(connects, 'rsa') / cpu(connects, 'ecdsa')).toFixed(2)}`);
  console.log(`RESULT http_request_cpu_us=${cpu(requests, 'http').toFixed(0)}`);
  console.log(`RESULT https_mtls_request_cpu_us=${cpu(requests, 'https').toFixed(0)}`);
  console.log(`RATIO https_mtls_vs_http_request_cpu=${(cpu(requests, 'https') / cpu(requests, 'http')).toFixed(2)}`);
  console.log(`RESULT rsa2048_keygen_ms=${keygenRsaMs.toFixed(1)}`);
  console.log(`RESULT ec_p256_keygen_ms=${keygenEcMs.toFixed(2)}`);
  console.log(`RESULT ca_issue_ms=${issueMs.toFixed(2)}`);
}

await main();
