/**
 * ratings — HTTP service (port 9080). `GET /ratings/:id` answers `{ id, stars, version }`.
 * `FLAKY_RATE` (0..1) makes a share of requests fail with 503, which is what the v2 of the
 * example does on purpose; `?delayMs=N` holds the answer N ms (to show circuit breaking).
 *
 * Weft is not imported: start it with `node --import @weft/http-adapter/register`, and the
 * server on WEFT_PORT registers itself and gets the inbound policy.
 *
 * `STATS_PORT` (optional) opens a second, unmeshed server with `GET /stats` (requests served
 * and failed by this process), which `weft demo` reads to compare server- and caller-side
 * error rates.
 */
import { createServer } from 'node:http';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 9080);
const version = process.env.VERSION ?? /version=([^,]+)/.exec(process.env.WEFT_LABELS ?? '')?.[1] ?? 'v1';
const flakyRate = Number(process.env.FLAKY_RATE ?? 0);
const stats = { version, pid: process.pid, served: 0, failed: 0 };

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://ratings');
  const match = /^\/ratings\/([\w-]+)$/.exec(url.pathname);
  if (req.method !== 'GET' || !match) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    return;
  }
  stats.served++;
  const answer = () => {
    if (Math.random() < flakyRate) {
      stats.failed++;
      res.writeHead(503, { 'content-type': 'application/json', 'x-ratings-version': version }).end(`{"error":"ratings ${version} is flaky"}`);
      return;
    }
    const stars = 1 + ((match[1]?.length ?? 0) % 5);
    res.writeHead(200, { 'content-type': 'application/json', 'x-ratings-version': version }).end(JSON.stringify({ id: match[1], stars, version }));
  };
  const delayMs = Number(url.searchParams.get('delayMs') ?? 0);
  if (delayMs > 0) setTimeout(answer, Math.min(delayMs, 10_000));
  else answer();
});
server.listen(port, host, () => console.log(`ratings ${version} listening on ${host}:${port}`));

if (process.env.STATS_PORT) {
  createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats))).listen(Number(process.env.STATS_PORT), host);
}
process.on('SIGTERM', () => server.close(() => process.exit(0)));
