/**
 * The demo's steps, in order. Each is one module; add a capability by adding it here.
 *
 * Extension points (land with their features): metrics from a workload's admin port
 * (`WEFT_ADMIN_PORT` is already given to every workload; `/stats/prometheus`) and a trace id
 * across frontend → catalog → ratings. Variables they need in every workload (OTEL_*, …) go
 * in through `DemoOptions.envContributors` (see `EnvContributor` in shop.ts); mTLS identities
 * already do (mtls.ts).
 */
import type { DemoStep } from './step.ts';
import { canaryLiveEdit, canarySplit } from './canary.ts';
import { headerRouting } from './header-routing.ts';
import { retriesHideFlakiness } from './retries.ts';
import { circuitBreaker } from './circuit-breaker.ts';
import { outlierEjection } from './outlier-ejection.ts';
import { rateLimit } from './rate-limit.ts';
import { faultInjection } from './fault-injection.ts';
import { mtlsStrict } from './mtls-strict.ts';
import { authorizationDeny } from './authz-deny.ts';
import { meshUi } from './mesh-ui.ts';

/** Every step `weft demo` runs after the shop is up. */
export const DEMO_STEPS: readonly DemoStep[] = [
  canarySplit,
  canaryLiveEdit,
  headerRouting,
  retriesHideFlakiness,
  // Before the circuit breaker: its burst of per-try timeouts would leave the flaky v2 with a
  // streak of 5xx, so it, not the bad instance, would be the one host the 50 % cap lets go.
  outlierEjection,
  circuitBreaker,
  rateLimit,
  faultInjection,
  mtlsStrict,
  authorizationDeny,
  meshUi,
];
