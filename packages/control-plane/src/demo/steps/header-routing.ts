/**
 * Header routing: `end-user: alice` (an HTTP header on the frontend, passed on as gRPC
 * metadata) matches catalog.yaml's first route and goes to v3; without it nothing reaches v3.
 * Routing by header is deterministic, so the check is exact.
 */
import type { DemoStep } from './step.ts';
import { describeVersions, sampleCatalog } from './catalog-traffic.ts';

const CALLS = 40;

/** See the module comment. */
export const headerRouting: DemoStep = {
  name: 'header routing (end-user: alice → catalog v3)',
  async run(ctx) {
    const alice = await sampleCatalog(ctx, CALLS, 16, { 'end-user': 'alice' });
    const others = await sampleCatalog(ctx, CALLS, 24, { 'end-user': 'bob' });
    const ok = alice.failed === 0 && alice.versions.get('v3') === CALLS && others.failed === 0 && !others.versions.has('v3');
    return {
      ok,
      detail: `alice: ${describeVersions(alice)}; bob: ${describeVersions(others)}`,
      lines: [alice.firstError, others.firstError].filter((l): l is string => l !== undefined).map((l) => `first failure: ${l}`),
    };
  },
};
