/**
 * Per-request cost of the resilience policies in @weft/core, in nanoseconds per operation.
 * Not a test: it prints `RESULT <name>_ns=<value>` lines for `bench/run.ts` and
 * bench/results/resilience.md. `--quick` runs fewer iterations.
 *
 *   node bench/core-resilience.ts [--quick]
 */
import {
  ALWAYS,
  compileRetryPolicy,
  createClusterCircuitBreaker,
  createFaultInjector,
  createLocalRateLimiter,
  createOutlierDetector,
  createRequestDeadline,
  ISTIO_DEFAULT_RETRY_POLICY,
  runResilientCall,
} from '@weft/core';

const isQuick = process.argv.includes('--quick');
const iterations = isQuick ? 200_000 : 2_000_000;
const rounds = isQuick ? 3 : 5;
let sink = 0;

/** Runs `fn` `iterations` times per round and reports the best round, in ns/op. */
function measure(name: string, fn: (i: number) => void, n = iterations): void {
  for (let i = 0; i < Math.min(n, 50_000); i++) fn(i); // warm-up (JIT)
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    const ns = Number(process.hrtime.bigint() - start) / n;
    if (ns < best) best = ns;
  }
  process.stdout.write(`RESULT ${name}_ns=${best.toFixed(1)}\n`);
}

// Reference points: one clock read (the rate limiter makes one per checked request).
measure('resilience_ref_date_now', () => {
  sink += Date.now();
});

const breaker = createClusterCircuitBreaker({ clusterName: 'bench', thresholds: [{ maxRequests: 1_000_000 }] });
measure('resilience_breaker_try_acquire_release', () => {
  if (breaker.tryAcquire('requests')) breaker.release('requests');
});
measure('resilience_breaker_acquire_token_release', () => {
  const release = breaker.acquire('requests');
  release();
});
const full = createClusterCircuitBreaker({ clusterName: 'bench', thresholds: [{ maxRequests: 0 }] });
measure('resilience_breaker_overflow_check', () => {
  sink += full.tryAcquire('requests') ? 1 : 0;
});

const limiter = createLocalRateLimiter({
  tokenBucket: { maxTokens: 1_000_000_000, tokensPerFill: 1_000_000_000, fillIntervalMs: 1000 },
  filterEnabled: ALWAYS,
  filterEnforced: ALWAYS,
});
measure('resilience_rate_limit_check_allowed', () => {
  sink += limiter.check().outcome === 'allowed' ? 1 : 0;
});
const exhausted = createLocalRateLimiter({ tokenBucket: { maxTokens: 1, fillIntervalMs: 3_600_000 }, filterEnabled: ALWAYS, filterEnforced: ALWAYS });
measure('resilience_rate_limit_check_limited', () => {
  sink += exhausted.check().outcome === 'limited' ? 1 : 0;
});
const withDescriptors = createLocalRateLimiter({
  tokenBucket: { maxTokens: 1_000_000_000, tokensPerFill: 1_000_000_000, fillIntervalMs: 1000 },
  descriptors: [{ entries: [{ key: 'client', value: 'alice' }], tokenBucket: { maxTokens: 1_000_000_000, tokensPerFill: 1_000_000_000, fillIntervalMs: 1000 } }],
  filterEnabled: ALWAYS,
  filterEnforced: ALWAYS,
});
const descriptors = [[{ key: 'client', value: 'alice' }]];
measure('resilience_rate_limit_check_descriptor', () => {
  sink += withDescriptors.check(descriptors).outcome === 'allowed' ? 1 : 0;
});

const retry = compileRetryPolicy(ISTIO_DEFAULT_RETRY_POLICY);
const ok = { kind: 'response', status: 200 } as const;
measure('resilience_retry_state_success', () => {
  const state = retry.createState({ gate: breaker.retryGate() });
  sink += state.decide(ok).retry ? 1 : 0;
  state.done();
});
const refused = { kind: 'connect-failure' } as const;
measure('resilience_retry_state_two_retries', () => {
  const state = retry.createState();
  sink += state.decide(refused).retry ? 1 : 0;
  sink += state.decide(refused).retry ? 1 : 0;
  sink += state.decide(refused).retry ? 1 : 0;
});

const fault = createFaultInjector({ abort: { httpStatus: 503, percentage: { numerator: 0, denominator: 100 } } });
measure('resilience_fault_decide_no_fault', () => {
  sink += fault.decide().isFaulted ? 1 : 0;
});

const detector = createOutlierDetector({ clusterName: 'bench', isTimerStarted: false });
detector.setHosts(['10.0.0.1:80', '10.0.0.2:80']);
const success = { kind: 'response', status: 200 } as const;
measure('resilience_outlier_record_and_check', () => {
  detector.record('10.0.0.1:80', success);
  sink += detector.isEjected('10.0.0.1:80') ? 1 : 0;
});

measure(
  'resilience_deadline_route_and_attempt',
  () => {
    const deadline = createRequestDeadline({ routeTimeoutMs: 1000, perTryTimeoutMs: 200 });
    const attempt = deadline.startAttempt();
    attempt.close();
    deadline.close();
  },
  Math.floor(iterations / 10),
);

/** Like {@link measure} for an async operation, awaited one at a time. */
async function measureAsync(name: string, fn: () => Promise<void>, n: number): Promise<void> {
  for (let i = 0; i < Math.min(n, 20_000); i++) await fn();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn();
    const ns = Number(process.hrtime.bigint() - start) / n;
    if (ns < best) best = ns;
  }
  process.stdout.write(`RESULT ${name}_ns=${best.toFixed(1)}\n`);
}

const okResult = { outcome: { kind: 'response', status: 200 } } as const;
const attempt = () => Promise.resolve(okResult);
await measureAsync('resilience_call_baseline_await', async () => {
  await attempt();
}, Math.floor(iterations / 10));
await measureAsync('resilience_call_breaker_retry_no_timeout', async () => {
  await runResilientCall({ retryPolicy: retry, breaker, attempt });
}, Math.floor(iterations / 10));
await measureAsync('resilience_call_breaker_retry_route_timeout', async () => {
  await runResilientCall({ retryPolicy: retry, breaker, routeTimeoutMs: 15_000, attempt });
}, Math.floor(iterations / 10));

if (sink === -1) process.stdout.write('unreachable\n');
