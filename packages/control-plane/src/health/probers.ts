/**
 * One probe attempt per kind, as Kubernetes runs them: HTTP GET succeeds on a status in
 * 200..399 (HTTPS without certificate verification, like the kubelet), TCP on an accepted
 * connection, gRPC on `grpc.health.v1.Health/Check` answering SERVING. Each attempt is bounded
 * by `timeoutMs`, resolves to a result and never rejects; every socket is released.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { credentials, Client, type ServiceError } from '@grpc/grpc-js';
import type { ProbeAction } from './workload-group.ts';

/** Outcome of one attempt. */
export interface ProbeResult {
  isSuccess: boolean;
  /** Why it failed (status, error code, timeout), for `/debug/health`. */
  detail: string;
}

function hostFor(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

function probeHttp(action: Extract<ProbeAction, { type: 'httpGet' }>, address: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { 'user-agent': 'weft-health-probe', accept: '*/*' };
    for (const h of action.headers) headers[h.name] = h.value;
    const options = { host: action.host ?? address, port: action.port, path: action.path, method: 'GET', headers, agent: false as const, timeout: timeoutMs };
    const req = action.scheme === 'HTTPS' ? httpsRequest({ ...options, rejectUnauthorized: false }) : httpRequest(options);
    let isDone = false;
    const finish = (r: ProbeResult): void => {
      if (isDone) return;
      isDone = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ isSuccess: false, detail: `timeout after ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
    req.on('response', (res) => {
      const code = res.statusCode ?? 0;
      res.resume();
      finish({ isSuccess: code >= 200 && code < 400, detail: `HTTP ${code}` });
    });
    req.on('timeout', () => finish({ isSuccess: false, detail: `timeout after ${timeoutMs} ms` }));
    req.on('error', (err: NodeJS.ErrnoException) => finish({ isSuccess: false, detail: err.code ?? err.message }));
    req.end();
  });
}

function probeTcp(action: Extract<ProbeAction, { type: 'tcpSocket' }>, address: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: action.host ?? address, port: action.port });
    let isDone = false;
    const finish = (r: ProbeResult): void => {
      if (isDone) return;
      isDone = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ isSuccess: false, detail: `timeout after ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
    socket.once('connect', () => finish({ isSuccess: true, detail: 'connected' }));
    socket.once('error', (err: NodeJS.ErrnoException) => finish({ isSuccess: false, detail: err.code ?? err.message }));
  });
}

/** `HealthCheckRequest{ service = 1 }`, encoded by hand (one string field). */
function encodeHealthRequest(service: string): Buffer {
  const body = Buffer.from(service, 'utf8');
  if (body.length === 0) return Buffer.alloc(0);
  const len: number[] = [];
  let n = body.length;
  while (n > 0x7f) {
    len.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  len.push(n);
  return Buffer.concat([Buffer.from([0x0a, ...len]), body]);
}

/** `HealthCheckResponse.status` (field 1, varint); 0 (UNKNOWN) when absent. */
function decodeHealthStatus(buf: Buffer): number {
  for (let i = 0; i < buf.length; ) {
    const tag = buf[i++] as number;
    if (tag === 0x08) {
      let v = 0;
      let shift = 0;
      for (;;) {
        const b = buf[i++] ?? 0;
        v |= (b & 0x7f) << shift;
        if (!(b & 0x80) || shift > 28) return v;
        shift += 7;
      }
    }
    return 0;
  }
  return 0;
}

const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

function probeGrpc(action: Extract<ProbeAction, { type: 'grpc' }>, address: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const client = new Client(`${hostFor(address)}:${action.port}`, credentials.createInsecure(), { 'grpc.enable_retries': 0 });
    client.makeUnaryRequest<Buffer, Buffer>(
      '/grpc.health.v1.Health/Check',
      (b) => b,
      (b) => b,
      encodeHealthRequest(action.service),
      { deadline: Date.now() + timeoutMs },
      (err: ServiceError | null, res?: Buffer) => {
        client.close();
        if (err) return resolve({ isSuccess: false, detail: `gRPC ${err.code}: ${err.details}` });
        const s = decodeHealthStatus(res ?? Buffer.alloc(0));
        resolve({ isSuccess: s === 1, detail: SERVING_STATUS[s] ?? `status ${s}` });
      },
    );
  });
}

/** Runs one attempt of `action` against the workload at `address`. */
export function runProbe(action: ProbeAction, address: string, timeoutMs: number): Promise<ProbeResult> {
  if (action.type === 'httpGet') return probeHttp(action, address, timeoutMs);
  if (action.type === 'tcpSocket') return probeTcp(action, address, timeoutMs);
  return probeGrpc(action, address, timeoutMs);
}
