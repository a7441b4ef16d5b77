/**
 * The demo's steps, in order. Each is one module; add a capability by adding it here. Variables
 * a step needs in every workload go in through `DemoOptions.envContributors` (see
 * `EnvContributor` in shop.ts), as the mTLS identities (mtls.ts) and access logs (access-logs.ts) do.
 */
import type { DemoStep } from './step.ts';
import { canaryLiveEdit, canarySplit } from './canary.ts';
import { headerRouting } from './header-routing.ts';
import { retriesHideFlakiness } from './retries.ts';
import { grpcRetries } from './grpc-retries.ts';
import { circuitBreaker } from './circuit-breaker.ts';
import { outlierEjection } from './outlier-ejection.ts';
import { rateLimit } from './rate-limit.ts';
import { faultInjection } from './fault-injection.ts';
import { mtlsStrict } from './mtls-strict.ts';
import { authorizationDeny } from './authz-deny.ts';
import { istioMetrics } from './istio-metrics.ts';
import { traceId } from './trace-id.ts';
import { meshUi } from './mesh-ui.ts';

/** Every step `weft demo` runs after the shop is up. */
export const DEMO_STEPS: readonly DemoStep[] = [
  canarySplit,
  canaryLiveEdit,
  headerRouting,
  retriesHideFlakiness,
  grpcRetries,
  // Before the circuit breaker: its burst of per-try timeouts would leave the flaky v2 with a
  // streak of 5xx, so it, not the bad instance, would be the one host the 50 % cap lets go.
  outlierEjection,
  circuitBreaker,
  rateLimit,
  faultInjection,
  mtlsStrict,
  authorizationDeny,
  istioMetrics,
  traceId,
  // Last: by now every edge has carried traffic and been in a few load reports.
  meshUi,
];
