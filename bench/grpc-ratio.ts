/**
 * Unary calls/s of three grpc-js clients side by side, in one process, against the same echo
 * server (a child process, so server CPU does not compete with the clients' event loop):
 *   - plain grpc-js on `127.0.0.1:port` (the baseline),
 *   - @grpc/grpc-js-xds on `xds:///bench.echo:50051`,
 *   - Weft (@weft/grpc-adapter) on `weft:///bench.echo:50051`,
 * both mesh clients reading the same listener → route → cluster → endpoint from one in-script
 * SotW ADS server (Weft through @weft/xds-client). Rounds are interleaved (A B C A B C …) and
 * the median of the per-round ratios is reported (each round sees the same machine load), with
 * each client's CPU time per call as a load-independent cross-check.
 *
 *   node_modules/.bin/node bench/grpc-ratio.ts [--quick]
 *
 * Prints `RESULT grpc_<client>_calls_per_s=<n>` and the two `RATIO` lines.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as grpcJsXds from '@grpc/grpc-js-xds';
import { createXdsClient } from '@weft/xds-client';
import { registerWeftGrpc, weftChannelOptions } from '@weft/grpc-adapter';
import { createEchoClient, startBackend } from '../packages/grpc-adapter/test/support/echo-service.ts';
import type { EchoClientApi } from '../packages/grpc-adapter/test/support/echo-service.ts';
import { startTinyAdsServer } from '../packages/grpc-adapter/test/support/tiny-ads-server.ts';

const LISTENER = 'bench.echo:50051';

if (process.argv.includes('--serve')) {
  const backend = await startBackend('bench');
  process.stdout.write(`PORT ${backend.port}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void backend.close().then(() => process.exit(0)));
} else {
  await main();
}

function startServerProcess(): Promise<{ port: number; stop(): void }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /PORT (\d+)/.exec(buf);
      if (m) resolve({ port: Number(m[1]), stop: () => child.stdin.end() });
    });
    child.on('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
  });
}

interface Sample {
  callsPerS: number;
  /** Client-process CPU time per call (user + system), µs: robust on a shared machine. */
  cpuUsPerCall: number;
}

/** Closed loop: `concurrency` callers, each issuing the next call when the previous returns. */
async function measure(client: EchoClientApi, durationMs: number, concurrency: number): Promise<Sample> {
  const md = new grpc.Metadata();
  const deadline = performance.now() + durationMs;
  let done = 0;
  let failed = 0;
  const caller = () =>
    new Promise<void>((resolve) => {
      const next = () => {
        if (performance.now() >= deadline) return resolve();
        client.Unary({ text: 'ping' }, md, {}, (err) => {
          if (err) failed++;
          else done++;
          next();
        });
      };
      next();
    });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, caller));
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  if (failed > 0) throw new Error(`${failed} calls failed`);
  return { callsPerS: done / seconds, cpuUsPerCall: (cpu.user + cpu.system) / done };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function warm(client: EchoClientApi): Promise<void> {
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())));
  await measure(client, 300, 8);
}

async function main(): Promise<void> {
  const isQuick = process.argv.includes('--quick');
  const rounds = isQuick ? 3 : 7;
  const roundMs = isQuick ? 2000 : 5000;
  const concurrency = 32;
  const server = await startServerProcess();
  const backend = `127.0.0.1:${server.port}`;
  const ads = await startTinyAdsServer({ listenerName: LISTENER, endpoints: [backend] });
  process.env['GRPC_XDS_BOOTSTRAP_CONFIG'] = ads.bootstrap;
  grpcJsXds.register();
  registerWeftGrpc({ isXdsSchemeClaimed: false });
  const xdsClient = createXdsClient({ bootstrap: ads.bootstrap, protocol: 'sotw' });
  const clients: Record<string, EchoClientApi> = {
    plain_grpc_js: createEchoClient(backend),
    grpc_js_xds: createEchoClient(`xds:///${LISTENER}`),
    weft: createEchoClient(`weft:///${LISTENER}`, weftChannelOptions({ source: xdsClient })),
  };
  try {
    for (const c of Object.values(clients)) await warm(c);
    const results: Record<string, Sample[]> = { plain_grpc_js: [], grpc_js_xds: [], weft: [] };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? Object.keys(clients) : Object.keys(clients).reverse();
      for (const name of order) results[name]!.push(await measure(clients[name]!, roundMs, concurrency));
    }
    // Each round measures the three clients back to back, so a per-round ratio compares runs that
    // saw the same machine load; the median of those ratios is what we report.
    const pairedRatio = (a: string, b: string) => median(results[a]!.map((x, i) => x.callsPerS / results[b]![i]!.callsPerS));
    console.log(`# ${rounds} interleaved rounds of ${roundMs} ms, ${concurrency} calls in flight per client, unary echo, node ${process.version}`);
    for (const [k, v] of Object.entries(results)) {
      console.log(`# ${k}: ${v.map((x) => x.callsPerS.toFixed(0)).join(', ')} calls/s; ${v.map((x) => x.cpuUsPerCall.toFixed(0)).join(', ')} µs CPU/call`);
    }
    for (const [k, v] of Object.entries(results)) {
      console.log(`RESULT grpc_${k}_calls_per_s=${median(v.map((x) => x.callsPerS)).toFixed(0)}`);
      console.log(`RESULT grpc_${k}_cpu_us_per_call=${median(v.map((x) => x.cpuUsPerCall)).toFixed(1)}`);
    }
    console.log(`RATIO grpc_weft_vs_grpc_js_xds=${pairedRatio('weft', 'grpc_js_xds').toFixed(3)}`);
    console.log(`RATIO grpc_weft_vs_plain_grpc_js=${pairedRatio('weft', 'plain_grpc_js').toFixed(3)}`);
  } finally {
    for (const c of Object.values(clients)) c.close();
    xdsClient.close();
    await ads.close();
    server.stop();
  }
}
