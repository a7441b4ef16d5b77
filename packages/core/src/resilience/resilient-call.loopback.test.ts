/**
 * The resilience pieces driven by real HTTP on 127.0.0.1 (node:http, as core never imports
 * undici): retries counted server-side with `x-envoy-attempt-count`, a hung attempt cut by the
 * per-try timeout and retried on another host, and a failing endpoint ejected by the outlier
 * detector. Every socket and server is closed; the process exits by itself.
 */
import assert from 'node:assert/strict';
import { request, createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { runResilientCall } from './resilient-call.ts';
import type { AttemptResult } from './resilient-call.ts';
import { compileRetryPolicy } from './retry-policy.ts';
import { createOutlierDetector } from './outlier-detector.ts';
import type { AttemptOutcome } from './retry-policy.ts';

const servers: Server[] = [];
after(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** One HTTP GET, classified the way an adapter would. Never rejects for upstream failures. */
function get(host: string, headers: Record<string, string>, signal: AbortSignal): Promise<AttemptResult<string>> {
  const [hostname, port] = host.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port: Number(port), path: '/', headers, signal, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ outcome: { kind: 'response', status: res.statusCode ?? 0 }, value: body }));
      res.on('error', () => resolve({ outcome: { kind: 'reset' } }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (signal.aborted) reject(signal.reason);
      else resolve({ outcome: { kind: err.code === 'ECONNREFUSED' ? 'connect-failure' : 'reset' } as AttemptOutcome });
    });
    req.end();
  });
}

describe('resilience over real loopback HTTP', () => {
  it('retries 503 exactly as configured; the server sees x-envoy-attempt-count 1, 2, 3', async () => {
    const seen: string[] = [];
    const host = await listen((req, res) => {
      seen.push(String(req.headers['x-envoy-attempt-count']));
      res.statusCode = seen.length < 3 ? 503 : 200;
      res.end(`try ${seen.length}`);
    });
    const result = await runResilientCall({
      retryPolicy: compileRetryPolicy({ retryOn: '5xx', numRetries: 3 }),
      attempt: ({ signal, attemptCount }) => get(host, { 'x-envoy-attempt-count': String(attemptCount) }, signal),
    });
    assert.deepEqual(seen, ['1', '2', '3']);
    assert.equal(result.value, 'try 3');
    assert.equal(result.attempts, 3);
  });

  it('a hung attempt is cut by the per-try timeout and retried on a host not tried yet', async () => {
    let hungRequests = 0;
    const hung = await listen(() => {
      hungRequests++; // never answers; the client's abort closes the socket
    });
    const healthy = await listen((_req, res) => res.end('ok'));
    const hosts = [hung, healthy];
    const result = await runResilientCall({
      retryPolicy: compileRetryPolicy({
        retryOn: 'reset',
        numRetries: 2,
        perTryTimeoutMs: 100,
        retryHostPredicates: ['envoy.retry_host_predicates.previous_hosts'],
        hostSelectionRetryMaxAttempts: 3,
      }),
      routeTimeoutMs: 10_000,
      attempt: ({ signal, retryState }) => {
        // A two-host "LB" that prefers the first host unless the retry state says to avoid it.
        const pick = hosts.find((h) => retryState?.shouldAvoidHost(h) !== true) ?? (hosts[0] as string);
        retryState?.recordHost(pick);
        return get(pick, {}, signal);
      },
    });
    assert.equal(hungRequests, 1);
    assert.equal(result.value, 'ok');
    assert.equal(result.attempts, 2);
  });

  it('a refused connection is a connect-failure, retried by the Istio default policy', async () => {
    const closed = await listen(() => {});
    const refusedHost = closed;
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const healthy = await listen((_req, res) => res.end('ok'));
    const tried: string[] = [];
    const result = await runResilientCall({
      retryPolicy: compileRetryPolicy({ retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', numRetries: 2, retriableStatusCodes: [503] }),
      attempt: ({ signal }) => {
        const host = tried.length === 0 ? refusedHost : healthy;
        tried.push(host);
        return get(host, {}, signal);
      },
    });
    assert.deepEqual(tried, [refusedHost, healthy]);
    assert.equal(result.value, 'ok');
  });

  it('an endpoint answering only 5xx is ejected after 3 consecutive errors (scenario 04)', async () => {
    const bad = await listen((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    const good = await listen((_req, res) => res.end('ok'));
    const detector = createOutlierDetector({ clusterName: 'ratings', consecutive5xx: 3, intervalMs: 1000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50, isTimerStarted: false });
    detector.setHosts([bad, good]);
    const counts = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const host = [bad, good].filter((h) => !detector.isEjected(h))[i % 2] ?? good;
      counts.set(host, (counts.get(host) ?? 0) + 1);
      const r = await get(host, {}, new AbortController().signal);
      if (r.outcome.kind === 'response') detector.record(host, { kind: 'response', status: r.outcome.status });
    }
    assert.equal(detector.isEjected(bad), true);
    assert.equal(detector.isEjected(good), false);
    assert.equal(counts.get(bad), 3, 'the bad endpoint got exactly the 3 requests that ejected it');
    detector.close();
  });
});
