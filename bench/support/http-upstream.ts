/**
 * The upstream of the HTTP benchmarks: a plain Node `http` server in a child process (so the
 * bench process's `process.cpuUsage()` counts only the client side), answering every request
 * with a short fixed body on keep-alive connections. It exits when the bench's stdin closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const SERVER = `const { createServer } = require('node:http');
const body = Buffer.from('hello from upstream');
const s = createServer((req, res) => { req.resume(); res.writeHead(200, { 'content-length': body.length }); res.end(body); });
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`;

/** A running upstream: its port and the child process (end its stdin to stop it). */
export interface BenchUpstream {
  readonly port: number;
  readonly child: ChildProcess;
}

/** Starts the upstream and resolves with the port it listens on (127.0.0.1). */
export async function startBenchUpstream(): Promise<BenchUpstream> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  return { port, child };
}
