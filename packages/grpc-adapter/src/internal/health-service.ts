/**
 * The standard `grpc.health.v1.Health` service (Check and Watch), backed by a status table
 * the server wrapper keeps in line with readiness. The two messages have one field each, so
 * they are encoded by hand here (no proto loading at runtime).
 */
import * as grpc from '@grpc/grpc-js';

/** `grpc.health.v1.HealthCheckResponse.ServingStatus`. */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
const STATUS_NUMBER: Readonly<Record<ServingStatus, number>> = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 };

interface HealthCheckRequest {
  service: string;
}
interface HealthCheckResponse {
  status: ServingStatus;
}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 5 && pos < buf.length; i++) {
    const b = buf[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, pos];
    shift += 7;
  }
  return [value, pos];
}

/** Decodes `HealthCheckRequest { string service = 1; }`; unknown fields are skipped. */
export function decodeHealthCheckRequest(buf: Buffer): HealthCheckRequest {
  let service = '';
  let pos = 0;
  while (pos < buf.length) {
    let tag: number;
    [tag, pos] = readVarint(buf, pos);
    const wire = tag & 7;
    if (wire === 2) {
      let len: number;
      [len, pos] = readVarint(buf, pos);
      if (tag >>> 3 === 1) service = buf.toString('utf8', pos, pos + len);
      pos += len;
    } else if (wire === 0) {
      [, pos] = readVarint(buf, pos);
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else break;
  }
  return { service };
}

/** Encodes `HealthCheckRequest` (for clients and tests). */
export function encodeHealthCheckRequest(req: HealthCheckRequest): Buffer {
  const s = Buffer.from(req.service, 'utf8');
  if (s.length === 0) return Buffer.alloc(0);
  if (s.length > 127) return Buffer.concat([Buffer.from([0x0a]), encodeVarint(s.length), s]);
  return Buffer.concat([Buffer.from([0x0a, s.length]), s]);
}

function encodeVarint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** Encodes `HealthCheckResponse { ServingStatus status = 1; }`. */
export function encodeHealthCheckResponse(res: HealthCheckResponse): Buffer {
  const n = STATUS_NUMBER[res.status];
  return n === 0 ? Buffer.alloc(0) : Buffer.from([0x08, n]);
}

/** Decodes `HealthCheckResponse` (for clients and tests). */
export function decodeHealthCheckResponse(buf: Buffer): HealthCheckResponse {
  const n = buf.length >= 2 && buf[0] === 0x08 ? buf[1]! : 0;
  const status = (Object.keys(STATUS_NUMBER) as ServingStatus[]).find((k) => STATUS_NUMBER[k] === n) ?? 'UNKNOWN';
  return { status };
}

function method(name: 'Check' | 'Watch', responseStream: boolean) {
  return {
    path: `/grpc.health.v1.Health/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: encodeHealthCheckRequest,
    requestDeserialize: decodeHealthCheckRequest,
    responseSerialize: encodeHealthCheckResponse,
    responseDeserialize: decodeHealthCheckResponse,
    originalName: name,
  };
}

/** Service definition of `grpc.health.v1.Health`. */
export const healthServiceDefinition = { Check: method('Check', false), Watch: method('Watch', true) } as const;

/**
 * The health status table: service name → status (`''` is the whole server). `Check` of an
 * unknown service answers NOT_FOUND; `Watch` of one streams SERVICE_UNKNOWN until it appears.
 */
export class HealthStatusTable {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #watchers = new Map<string, Set<(s: ServingStatus) => void>>();
  readonly #watchCalls = new Set<grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>();

  /** Sets `service`'s status and notifies its watchers when it changed. */
  set(service: string, status: ServingStatus): void {
    if (this.#statuses.get(service) === status) return;
    this.#statuses.set(service, status);
    for (const w of this.#watchers.get(service) ?? []) w(status);
  }

  /** Sets every known service (and the server) to `status`. */
  setAll(status: ServingStatus): void {
    for (const s of [...this.#statuses.keys()]) this.set(s, status);
    this.set('', status);
  }

  /** The status of `service`, undefined when unknown. */
  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  /** Adds the Health service to `server`. */
  addTo(server: grpc.Server): void {
    server.addService(healthServiceDefinition as unknown as grpc.ServiceDefinition, {
      Check: (call: grpc.ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, cb: grpc.sendUnaryData<HealthCheckResponse>) => {
        const status = this.#statuses.get(call.request.service);
        if (status === undefined) cb({ code: grpc.status.NOT_FOUND, details: `unknown service ${JSON.stringify(call.request.service)}` });
        else cb(null, { status });
      },
      Watch: (call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        const service = call.request.service;
        let set = this.#watchers.get(service);
        if (set === undefined) this.#watchers.set(service, (set = new Set()));
        const send = (status: ServingStatus) => call.write({ status });
        set.add(send);
        send(this.#statuses.get(service) ?? 'SERVICE_UNKNOWN');
        this.#watchCalls.add(call);
        const stop = () => {
          set.delete(send);
          this.#watchCalls.delete(call);
        };
        call.on('cancelled', stop);
        call.on('close', stop);
      },
    });
  }

  /** Ends every Watch stream with OK (the server is shutting down, so drains are not held up). */
  endWatches(): void {
    this.#watchers.clear();
    for (const call of this.#watchCalls) call.end();
    this.#watchCalls.clear();
  }
}
