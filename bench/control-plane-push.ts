/**
 * Control-plane push benchmark: how long from a config file change to the new RouteConfiguration
 * reaching every connected client, for 100 and 1,000 clients (p50/p99 over clients and rounds),
 * the control plane's CPU per push round, and its memory per connected client.
 *
 *   node_modules/.bin/node bench/control-plane-push.ts [--quick] [--client-procs N] [--server-only]
 *     [--node-http2-clients] [--grpc-js-clients] [--grpc-js-own-connections] [--rounds N] [--sizes 100,1000]
 *
 * The control plane runs as its own process (`weft control-plane`, config store debounce 100 ms
 * as in production). The clients stand in for other machines: they run in `--client-procs`
 * child processes (default 1), separate from this driver and from the control plane. Each
 * client is a real SotW ADS stream on its own HTTP/2 (TCP) connection, identifying as
 * grpc-js-xds, subscribing LDS → RDS and ACKing every response with its version and nonce like
 * grpc-js-xds does; it decodes only the response fields it needs (version, type URL, nonce).
 * A client speaks HTTP/2 on a raw socket (`support/raw-h2-grpc-stream.ts`), and a client
 * process writes its clients' ACKs once responses stopped arriving for 2 ms: on machines of
 * their own, clients neither pay for each other's HTTP/2 sessions nor wait for each other's ACK
 * writes (a loopback write also runs the receiving side of TCP on the writer's core), so the
 * clients' CPU does not stand in for the server's (`--node-http2-clients`: a `node:http2`
 * session per client instead, about 1.5× the clients' CPU). `--grpc-js-clients` measures the old way
 * too: grpc-js streams with full protobufjs decoding, all inside this driver process and (as
 * grpc-js pools subchannels per process) all on ONE shared TCP connection;
 * `--grpc-js-own-connections` the same with one connection per client. `--server-only` stops
 * after the in-process server-cost part.
 * `WEFT_BENCH_SERVER_PROF=<file>` CPU-profiles the in-process server's measured rounds (per size).
 * Each size starts with one unmeasured warm-up round (end to end and in process).
 * "after debounce" subtracts the store's 100 ms debounce; besides the p99 over every sample (the
 * slowest round's tail), `…_round_p99_after_debounce_median_…` is the median over rounds of each
 * round's own p99, which one slow round on a shared machine does not move. Prints
 * `RESULT name=value` lines.
 *
 * Run as `… --client-worker` it is one of those client processes (driven over IPC).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { connect as connectHttp2 } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adsServiceDefinition, TypeUrl, type DiscoveryRequest, type DiscoveryResponse } from '@weft/xds-client';
import { startControlPlane } from '../packages/control-plane/src/demo/control-plane-process.ts';
import { rawAdsClient, testNode } from '../packages/control-plane/src/xds/testing/raw-ads-client.ts';
import { fakeSource, makeModel, type FixtureInput } from '../packages/control-plane/src/xds/testing/model-fixture.ts';
import { lengthDelimited, stringField } from '../packages/control-plane/src/xds/server/wire.ts';
import { createXdsServer } from '../packages/control-plane/src/xds/xds-server.ts';
import { openRawGrpcStream } from './support/raw-h2-grpc-stream.ts';

const LISTENER = 'svc0.bench.svc.cluster.local:50051';
const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const WAIT_MS = 30_000;
/** How long a client process waits without a new response before writing its clients' ACKs. */
const ACK_QUIET_MS = 2;

/** Epoch milliseconds with sub-millisecond precision, comparable across processes on this host. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

// ---------------------------------------------------------------------------------------------
// Client worker: light ADS clients on node:http2, one connection each.

/** Driver → worker messages. */
type ToWorker = { op: 'connect'; address: string; count: number; idBase: number } | { op: 'arm'; round: number } | { op: 'close' };
/** Worker → driver messages. */
type FromWorker = { op: 'connected'; count: number } | { op: 'arrived'; round: number; times: number[]; cpuMs: number } | { op: 'failed'; message: string };

/** A gRPC message frame (uncompressed) around protobuf bytes. */
function grpcFrame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** DiscoveryRequest {version_info 1, resource_names 3, type_url 4, response_nonce 5}, as an ACK or a first request. */
function ackBytes(version: string, typeUrl: string, nonce: string): Buffer {
  return Buffer.concat([stringField(1, version), stringField(3, LISTENER), stringField(4, typeUrl), stringField(5, nonce)]);
}

/** Reads a varint at `o`; returns [value, next offset]. */
function readVarint(b: Buffer, o: number): [number, number] {
  let v = 0;
  let shift = 1;
  let i = o;
  for (;;) {
    const byte = b[i++] as number;
    v += (byte & 0x7f) * shift;
    if (byte < 0x80) return [v, i];
    shift *= 128;
  }
}

/** Only what a client needs to recognise and ACK a response: version_info (1), type_url (4), nonce (5). */
function scanResponse(b: Buffer): { version: string; typeUrl: string; nonce: string } {
  let version = '';
  let typeUrl = '';
  let nonce = '';
  let o = 0;
  while (o < b.length) {
    const [tag, afterTag] = readVarint(b, o);
    const wire = tag & 7;
    if (wire !== 2) throw new Error(`unexpected wire type ${wire} in DiscoveryResponse`);
    const [len, start] = readVarint(b, afterTag);
    const field = tag >>> 3;
    if (field === 1) version = b.toString('utf8', start, start + len);
    else if (field === 4) typeUrl = b.toString('utf8', start, start + len);
    else if (field === 5) nonce = b.toString('utf8', start, start + len);
    o = start + len;
  }
  return { version, typeUrl, nonce };
}

interface LightClient {
  close(): void;
  isArmed: boolean;
  isReady: boolean;
  arrivedAt: number;
}

async function runWorker(): Promise<void> {
  const send = (m: FromWorker) => process.send?.(m);
  const clients: LightClient[] = [];
  let round = -1;
  let waiting = 0;
  let roundTimer: NodeJS.Timeout | undefined;
  /** CPU of this process when the round was armed. */
  let armCpu = process.cpuUsage();
  const serialize = adsServiceDefinition().StreamAggregatedResources?.requestSerialize as (r: DiscoveryRequest) => Buffer;

  const arrived = (c: LightClient) => {
    c.isArmed = false;
    c.arrivedAt = now();
    if (--waiting === 0) {
      clearTimeout(roundTimer);
      const used = process.cpuUsage(armCpu);
      send({ op: 'arrived', round, times: clients.map((x) => x.arrivedAt), cpuMs: (used.user + used.system) / 1000 });
    }
  };

  /**
   * ACKs are written once responses stopped arriving for ACK_QUIET_MS: on their own machines
   * clients read in parallel, and here one client's ACK (a loopback write that also runs the
   * server's side of TCP) must not delay when the next one reads its response.
   */
  let acks: (() => void)[] = [];
  let ackTimer: NodeJS.Timeout | undefined;
  const flushAcks = () => {
    ackTimer = undefined;
    const due = acks;
    acks = [];
    for (const write of due) write();
  };

  /** Handles one DiscoveryResponse of a client; `ack` sends a DiscoveryRequest's bytes. */
  function onResponse(c: LightClient, message: Buffer, ack: (bytes: Buffer) => void, ready: () => void): void {
    const res = scanResponse(message);
    const isFirstListener = res.typeUrl === TypeUrl.listener && !c.isReady;
    if (res.typeUrl === TypeUrl.routeConfiguration) {
      if (!c.isReady) {
        c.isReady = true;
        ready();
      } else if (c.isArmed) arrived(c);
    }
    if (ackTimer) clearTimeout(ackTimer);
    ackTimer = setTimeout(flushAcks, ACK_QUIET_MS);
    acks.push(() => {
      ack(ackBytes(res.version, res.typeUrl, res.nonce));
      // grpc-js-xds subscribes to the listener's RouteConfiguration once it has the listener
      if (isFirstListener) ack(ackBytes('', TypeUrl.routeConfiguration, ''));
    });
  }

  const firstRequest = (id: number) => serialize({ node: testNode(`bench-${id}`, { NAMESPACE: 'bench' }, 'gRPC Node Pure JS'), type_url: TypeUrl.listener, resource_names: [LISTENER] });

  /** A client on a raw socket (see `support/raw-h2-grpc-stream.ts`). */
  function openRaw(address: string, id: number): Promise<LightClient> {
    return new Promise((resolve, reject) => {
      const [host, port] = address.split(':') as [string, string];
      const c: LightClient = { close: () => stream.close(), isArmed: false, isReady: false, arrivedAt: 0 };
      const stream = openRawGrpcStream(host, Number(port), ADS_PATH, (message) => onResponse(c, message, (bytes) => stream.write(bytes), () => resolve(c)), reject);
      stream.write(firstRequest(id));
    });
  }

  /** A client on a `node:http2` session (`--node-http2-clients`). */
  function openNodeHttp2(address: string, id: number): Promise<LightClient> {
    return new Promise((resolve, reject) => {
      const session = connectHttp2(`http://${address}`);
      session.on('error', reject);
      const stream = session.request({ ':method': 'POST', ':path': ADS_PATH, 'content-type': 'application/grpc', te: 'trailers' });
      const c: LightClient = { close: () => { stream.close(); session.close(); }, isArmed: false, isReady: false, arrivedAt: 0 };
      let pending: Buffer = Buffer.alloc(0);
      stream.on('error', reject);
      stream.on('data', (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        while (pending.length >= 5) {
          const len = pending.readUInt32BE(1);
          if (pending.length < 5 + len) break;
          const message = pending.subarray(5, 5 + len);
          pending = pending.subarray(5 + len);
          onResponse(c, message, (bytes) => stream.write(grpcFrame(bytes)), () => resolve(c));
        }
      });
      stream.write(grpcFrame(firstRequest(id)));
    });
  }
  const open = process.argv.includes('--node-http2-clients') ? openNodeHttp2 : openRaw;

  process.on('message', async (m: ToWorker) => {
    try {
      if (m.op === 'connect') {
        for (let i = 0; i < m.count; i += 50) {
          const batch = await Promise.all(Array.from({ length: Math.min(50, m.count - i) }, (_, k) => open(m.address, m.idBase + i + k)));
          clients.push(...batch);
        }
        send({ op: 'connected', count: clients.length });
      } else if (m.op === 'arm') {
        round = m.round;
        armCpu = process.cpuUsage();
        waiting = clients.length;
        for (const c of clients) c.isArmed = true;
        roundTimer = setTimeout(() => send({ op: 'failed', message: `round ${m.round}: ${waiting} of ${clients.length} clients got no RouteConfiguration within ${WAIT_MS} ms` }), WAIT_MS);
      } else if (m.op === 'close') {
        for (const c of clients) c.close();
        process.disconnect();
      }
    } catch (err) {
      send({ op: 'failed', message: err instanceof Error ? err.message : String(err) });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Driver.

/** A set of clients the driver can arm for one round; `arm` resolves to every client's arrival time. */
interface ClientSet {
  readonly size: number;
  /** Adds clients until there are `count`. */
  grow(count: number): Promise<void>;
  /** Call before the change; resolves with the epoch-ms arrival of the next RDS response at each client. */
  arm(round: number): Promise<number[]>;
  /** CPU the clients' processes spent in the last armed round (ms); undefined when they share this process. */
  readonly lastRoundCpuMs: number | undefined;
  close(): Promise<void>;
}

/** Light clients in `procs` child processes (see the module comment). */
function workerClients(address: string, procs: number): ClientSet {
  const workers = Array.from({ length: procs }, () => {
    const child = fork(fileURLToPath(import.meta.url), ['--client-worker', ...process.argv.filter((a) => a === '--node-http2-clients')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let size = 0;
    const next = (op: FromWorker['op']) =>
      new Promise<FromWorker>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`client worker: no ${op} within ${WAIT_MS * 2} ms`)), WAIT_MS * 2);
        const on = (m: FromWorker) => {
          if (m.op !== op && m.op !== 'failed') return;
          clearTimeout(t);
          child.off('message', on);
          if (m.op === 'failed') reject(new Error(`client worker: ${m.message}`));
          else resolve(m);
        };
        child.on('message', on);
      });
    return { child, next, get size() { return size; }, set size(n: number) { size = n; } };
  });
  let total = 0;
  let lastRoundCpuMs: number | undefined;
  return {
    get size() {
      return total;
    },
    get lastRoundCpuMs() {
      return lastRoundCpuMs;
    },
    async grow(count) {
      const add = count - total;
      const per = Math.ceil(add / workers.length);
      await Promise.all(workers.map(async (w, i) => {
        const n = Math.min(per, add - i * per);
        if (n <= 0) return;
        const done = w.next('connected');
        w.child.send({ op: 'connect', address, count: n, idBase: total + i * per } satisfies ToWorker);
        w.size = ((await done) as { count: number }).count;
      }));
      total = workers.reduce((a, w) => a + w.size, 0);
    },
    async arm(round) {
      const all = await Promise.all(workers.filter((w) => w.size > 0).map(async (w) => {
        const done = w.next('arrived');
        w.child.send({ op: 'arm', round } satisfies ToWorker);
        return (await done) as { times: number[]; cpuMs: number };
      }));
      lastRoundCpuMs = all.reduce((sum, a) => sum + a.cpuMs, 0);
      return all.flatMap((a) => a.times);
    },
    async close() {
      await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
        w.child.once('exit', () => resolve());
        w.child.send({ op: 'close' } satisfies ToWorker);
        setTimeout(() => w.child.kill(), 5000).unref();
      })));
    },
  };
}

/**
 * The earlier method: grpc-js streams with protobufjs decoding, all in this process. By default
 * (as before) grpc-js puts them all on one shared TCP connection; `isOwnConnection` gives each
 * its own.
 */
function grpcJsClients(address: string, isOwnConnection: boolean): ClientSet {
  type Armed = { arm(): Promise<number>; close(): void };
  const clients: Armed[] = [];
  const connectOne = async (id: number): Promise<Armed> => {
    const c = rawAdsClient(address, { isOwnConnection });
    const s = c.sotw<DiscoveryRequest, DiscoveryResponse>();
    s.send({ node: testNode(`bench-${id}`, { NAMESPACE: 'bench' }, 'gRPC Node Pure JS'), type_url: TypeUrl.listener, resource_names: [LISTENER] });
    const lds = await s.next(WAIT_MS);
    s.send({ type_url: TypeUrl.listener, resource_names: [LISTENER], version_info: lds.version_info, response_nonce: lds.nonce });
    s.send({ type_url: TypeUrl.routeConfiguration, resource_names: [LISTENER] });
    const rds = await s.next(WAIT_MS);
    s.send({ type_url: TypeUrl.routeConfiguration, resource_names: [LISTENER], version_info: rds.version_info, response_nonce: rds.nonce });
    return {
      async arm() {
        for (;;) {
          const res = await s.next(WAIT_MS);
          s.send({ type_url: res.type_url, resource_names: [LISTENER], version_info: res.version_info, response_nonce: res.nonce });
          if (res.type_url === TypeUrl.routeConfiguration) return now();
        }
      },
      close() {
        s.close();
        c.close();
      },
    };
  };
  return {
    get size() {
      return clients.length;
    },
    lastRoundCpuMs: undefined,
    async grow(count) {
      while (clients.length < count) clients.push(...(await Promise.all(Array.from({ length: Math.min(50, count - clients.length) }, (_, i) => connectOne(clients.length + i)))));
    },
    arm: () => Promise.all(clients.map((c) => c.arm())),
    async close() {
      for (const c of clients) c.close();
    },
  };
}

const SERVICES = 50;

function mesh(weight: number): string {
  const docs: string[] = [];
  for (let i = 0; i < SERVICES; i++) {
    docs.push(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: svc${i}, namespace: bench }
spec:
  hosts: [svc${i}.bench.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 50051, name: grpc, protocol: GRPC }]
  endpoints:
    - { address: 127.0.0.1, ports: { grpc: ${20000 + i} }, labels: { version: v1 } }
    - { address: 127.0.0.1, ports: { grpc: ${30000 + i} }, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: svc${i}, namespace: bench }
spec:
  host: svc${i}
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: svc${i}, namespace: bench }
spec:
  hosts: [svc${i}]
  http:
    - route:
        - { destination: { host: svc${i}, subset: v1 }, weight: ${i === 0 ? 100 - weight : 90} }
        - { destination: { host: svc${i}, subset: v2 }, weight: ${i === 0 ? weight : 10} }`);
  }
  return `${docs.join('\n---\n')}\n`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** CPU time (user + system) of a process so far, in ms (clock-tick resolution, 10 ms). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function heapUsed(adminUrl: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const m = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

function result(name: string, value: number): void {
  process.stdout.write(`RESULT ${name}=${value.toFixed(1)}\n`);
}

/** The same mesh as a MeshModel literal, for the in-process server-cost measurement. */
function meshModel(generation: number, w: number) {
  const input: FixtureInput = { generation, services: [], virtualServices: [], destinationRules: [] };
  for (let i = 0; i < SERVICES; i++) {
    const host = `svc${i}.bench.svc.cluster.local`;
    input.services.push({ hostname: host, ports: [{ number: 50051, name: 'grpc' }], endpoints: [{ address: '127.0.0.1', ports: { grpc: 20000 + i }, labels: { version: 'v1' } }, { address: '127.0.0.1', ports: { grpc: 30000 + i }, labels: { version: 'v2' } }] });
    input.destinationRules?.push({ name: `svc${i}`, namespace: 'bench', spec: { host: `svc${i}`, subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] } });
    input.virtualServices?.push({ name: `svc${i}`, namespace: 'bench', spec: { hosts: [`svc${i}`], http: [{ route: [{ destination: { host: `svc${i}`, subset: 'v1' }, weight: i === 0 ? 100 - w : 90 }, { destination: { host: `svc${i}`, subset: 'v2' }, weight: i === 0 ? w : 10 }] }] } });
  }
  return makeModel(input);
}

/** A CPU profile of this process over the measured rounds of one size, written as `<file>.<size>.cpuprofile`. */
function roundProfiler(file: string) {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  return {
    async start() {
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 200 });
      await post('Profiler.start');
    },
    async stop(size: string) {
      const { profile } = (await post('Profiler.stop')) as { profile: object };
      writeFileSync(`${file}.${size}.cpuprofile`, JSON.stringify(profile));
    },
  };
}

/**
 * Server cost alone: an xDS server in this process (no config store, no file), the clients in
 * the worker processes. Per round: the server's CPU from `pushNow` until every client has the
 * new RouteConfiguration (writes and the ACKs it reads), when the round has written every
 * stream, and when the clients have it.
 */
async function serverCost(sizes: readonly number[], rounds: number, procs: number): Promise<void> {
  const source = fakeSource(meshModel(1, 10));
  const server = createXdsServer({ source, debounceMs: 1_000_000 });
  const port = await server.listen('127.0.0.1', 0);
  const clients = workerClients(`127.0.0.1:${port}`, procs);
  const profile = process.env.WEFT_BENCH_SERVER_PROF ? roundProfiler(process.env.WEFT_BENCH_SERVER_PROF) : undefined;
  let generation = 1;
  try {
    for (const size of sizes) {
      await clients.grow(size);
      const cpu: number[] = [];
      const system: number[] = [];
      const written: number[] = [];
      const median: number[] = [];
      const last: number[] = [];
      const clientCpu: number[] = [];
      for (let round = 0; round < rounds + 1; round++) {
        await new Promise((r) => setTimeout(r, 100));
        const arrivals = clients.arm(round);
        generation++;
        source.set(meshModel(generation, generation % 2 ? 10 : 40));
        const finished = new Promise<number>((resolve) => {
          const sub = server.onPushed(() => {
            sub[Symbol.dispose]();
            resolve(now());
          });
        });
        const cpu0 = process.cpuUsage();
        const t0 = now();
        server.pushNow();
        const done = await finished;
        const arrived = (await arrivals).map((t) => t - t0).sort((a, b) => a - b);
        const used = process.cpuUsage(cpu0);
        if (round === 0) {
          // warm-up; with WEFT_BENCH_SERVER_PROF=<file> the measured rounds are CPU-profiled
          if (profile) await profile.start();
          continue;
        }
        cpu.push((used.user + used.system) / 1000);
        system.push(used.system / 1000);
        written.push(done - t0);
        median.push(percentile(arrived, 50));
        last.push(arrived[arrived.length - 1] as number);
        clientCpu.push(clients.lastRoundCpuMs ?? NaN);
      }
      if (profile) await profile.stop(`${size}`);
      for (const a of [cpu, system, written, median, last, clientCpu]) a.sort((x, y) => x - y);
      process.stdout.write(`# in-process server, ${size} streams (clients in ${procs} other process(es)), ${rounds} rounds: server CPU per round (incl. reading ACKs), round written, delivered (ms)\n`);
      result(`control_plane_server_cpu_per_round_p50_ms_${size}_clients`, percentile(cpu, 50));
      result(`control_plane_server_cpu_system_per_round_p50_ms_${size}_clients`, percentile(system, 50));
      result(`control_plane_server_push_round_p50_ms_${size}_clients`, percentile(written, 50));
      result(`control_plane_server_delivered_median_stream_p50_ms_${size}_clients`, percentile(median, 50));
      result(`control_plane_server_delivered_all_p50_ms_${size}_clients`, percentile(last, 50));
      result(`control_plane_server_clients_cpu_per_round_p50_ms_${size}_clients`, percentile(clientCpu, 50));
    }
  } finally {
    await clients.close();
    await server.close(500);
  }
}

/** End to end: `weft control-plane` in its own process, a file edit per round. */
async function endToEnd(sizes: readonly number[], rounds: number, makeClients: (address: string) => ClientSet, label: string): Promise<void> {
  const debounceMs = 100;
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-cp-'));
  const file = join(dir, 'mesh.yaml');
  let weight = 10;
  writeFileSync(file, mesh(weight));
  const profileDir = process.env.WEFT_BENCH_CPU_PROF_DIR;
  const cp = await startControlPlane({
    configPaths: [dir], args: ['--debounce-ms', String(debounceMs)], timeoutMs: 60_000,
    ...(profileDir ? { env: { ...process.env, NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` } } : {}),
  });
  const pid = cp.child.pid as number;
  let publishedAt = 0;
  cp.child.stderr?.on('data', (d: Buffer | string) => {
    if (String(d).includes('published')) publishedAt = now();
  });
  const clients = makeClients(cp.xdsAddress);
  try {
    await new Promise((r) => setTimeout(r, 500));
    const baseRss = rssBytes(pid);
    const baseHeap = await heapUsed(cp.adminUrl);
    for (const size of sizes) {
      await clients.grow(size);
      await new Promise((r) => setTimeout(r, 300));
      const rss = rssBytes(pid);
      const heap = await heapUsed(cp.adminUrl);
      const samples: number[] = [];
      const lastClient: number[] = [];
      const roundP99: number[] = [];
      const publish: number[] = [];
      const fromPublish: number[] = [];
      let cpuMs = 0;
      // round -1 warms up (as the in-process part does): the first push after a mass connect is not a config change's cost
      for (let round = -1; round < rounds; round++) {
        weight = weight === 10 ? 40 : 10;
        const arrivals = clients.arm(round);
        const cpu0 = processCpuMs(pid);
        const writtenAt = now();
        writeFileSync(file, mesh(weight));
        const arrived = await arrivals;
        if (round < 0) {
          await new Promise((r) => setTimeout(r, 300));
          continue;
        }
        cpuMs += processCpuMs(pid) - cpu0;
        const times = arrived.map((t) => t - writtenAt);
        publish.push(publishedAt - writtenAt);
        fromPublish.push(...arrived.map((t) => t - publishedAt));
        samples.push(...times);
        lastClient.push(Math.max(...times));
        roundP99.push(percentile([...times].sort((x, y) => x - y), 99));
        await new Promise((r) => setTimeout(r, 300));
      }
      process.stdout.write(`# ${size} clients: each round's p99 after the debounce (ms): ${roundP99.map((v) => (v - debounceMs).toFixed(0)).join(' ')}\n`);
      for (const a of [samples, publish, fromPublish, lastClient, roundP99]) a.sort((x, y) => x - y);
      const suffix = `${label}${size}_clients`;
      process.stdout.write(`# ${size} clients (${label ? `grpc-js clients in the driver process, ${label.includes('own') ? 'one TCP connection each' : 'sharing one TCP connection'}` : 'light clients in other processes, one TCP connection each'}), ${rounds} rounds, ${SERVICES} services; times from file write to RDS arrival (ms)\n`);
      result(`control_plane_push_p50_ms_${suffix}`, percentile(samples, 50));
      result(`control_plane_push_p99_ms_${suffix}`, percentile(samples, 99));
      result(`control_plane_push_p99_after_debounce_ms_${suffix}`, percentile(samples, 99) - debounceMs);
      result(`control_plane_push_all_clients_p50_ms_${suffix}`, percentile(lastClient, 50));
      // robust to one slow round: each round's own p99 after the debounce, median over rounds
      result(`control_plane_push_round_p99_after_debounce_median_ms_${suffix}`, percentile(roundP99, 50) - debounceMs);
      result(`control_plane_push_config_store_publish_p50_ms_${suffix}`, percentile(publish, 50));
      result(`control_plane_push_from_publish_p50_ms_${suffix}`, percentile(fromPublish, 50));
      result(`control_plane_push_from_publish_p99_ms_${suffix}`, percentile(fromPublish, 99));
      result(`control_plane_process_cpu_per_round_ms_${suffix}`, cpuMs / rounds);
      const metricsText = await (await fetch(`${cp.adminUrl}/metrics`)).text();
      const sum = Number(/^pilot_proxy_convergence_time_sum (\S+)/m.exec(metricsText)?.[1]);
      const count = Number(/^pilot_proxy_convergence_time_count (\S+)/m.exec(metricsText)?.[1]);
      result(`control_plane_server_push_mean_ms_${suffix}`, (sum / count) * 1000);
      if (!label) {
        process.stdout.write(`RESULT control_plane_rss_per_client_${size}_bytes=${Math.round((rss - baseRss) / size)}\n`);
        process.stdout.write(`RESULT control_plane_heap_per_client_${size}_bytes=${Math.round((heap - baseHeap) / size)}\n`);
      }
    }
  } finally {
    await clients.close();
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--client-worker')) {
  await runWorker();
} else {
  const isQuick = process.argv.includes('--quick');
  const roundsArg = process.argv.indexOf('--rounds');
  const rounds = roundsArg > 0 ? Math.max(1, Number(process.argv[roundsArg + 1]) || 1) : isQuick ? 3 : 10;
  const sizesArg = process.argv.indexOf('--sizes');
  const sizes = sizesArg > 0 ? (process.argv[sizesArg + 1] ?? '').split(',').map(Number).filter((n) => n > 0) : [100, 1000];
  const procsArg = process.argv.indexOf('--client-procs');
  const procs = procsArg > 0 ? Math.max(1, Number(process.argv[procsArg + 1]) || 1) : 1;
  await serverCost(sizes, rounds, procs);
  if (process.argv.includes('--server-only')) process.exit(0);
  await endToEnd(sizes, rounds, (address) => workerClients(address, procs), '');
  if (process.argv.includes('--grpc-js-clients')) await endToEnd(sizes, rounds, (address) => grpcJsClients(address, false), 'grpcjs_shared_');
  if (process.argv.includes('--grpc-js-own-connections')) await endToEnd(sizes, rounds, (address) => grpcJsClients(address, true), 'grpcjs_own_');
}
