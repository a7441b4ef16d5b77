import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl, decodeResource, type Listener } from '@weft/xds-client';
import { capabilitiesFor, type Omission } from '../client-capabilities.ts';
import { indexModel } from '../mesh-index.ts';
import { makeModel } from '../testing/model-fixture.ts';
import { rateLimitFilter, withPolicies } from '../testing/security-fixture.ts';
import { generateListeners } from './listener.ts';
import { packResource } from './pack.ts';
import type { GeneratorContext } from './types.ts';

const CATALOG = 'catalog.shop.svc.cluster.local';
const base = makeModel({ services: [{ hostname: CATALOG, ports: [{ number: 50051 }] }, { hostname: 'ratings.shop.svc.cluster.local', ports: [{ number: 9080 }] }] });

/** The outbound variant of the scenario's EnvoyFilter: context SIDECAR_OUTBOUND, optional selector. */
function outboundFilter(selector?: Record<string, string>): unknown {
  const f = rateLimitFilter('unused', 5) as { workloadSelector?: unknown; configPatches: { match: { context: string } }[] };
  f.configPatches[0]!.match.context = 'SIDECAR_OUTBOUND';
  if (selector) f.workloadSelector = { labels: selector };
  else delete f.workloadSelector;
  return f;
}

function listenersSeenFrom(namespace: string, envoyFilters: [string, string, unknown][]): { listeners: Listener[]; omissions: Omission[] } {
  const omissions: Omission[] = [];
  const model = withPolicies(base, { envoyFilters });
  const ctx: GeneratorContext = { index: indexModel(model).forNamespace(namespace), caps: capabilitiesFor('weft'), omit: (o) => omissions.push(o) };
  const listeners = generateListeners(ctx).map((r) => {
    const decoded = decodeResource(TypeUrl.listener, packResource(TypeUrl.listener, r.message));
    assert.ok(decoded.result.ok, decoded.result.ok ? '' : decoded.result.error);
    return decoded.result.value as Listener;
  });
  return { listeners, omissions };
}

function filterTypes(l: Listener | undefined): string[] {
  return l?.httpConnectionManager?.httpFilters.map((f) => f.config.type) ?? [];
}

test('SIDECAR_OUTBOUND rate limit without a selector: every API listener of clients in that namespace carries it, before the router', () => {
  const { listeners, omissions } = listenersSeenFrom('shop', [['shop', 'limit-calls', outboundFilter()]]);
  assert.deepEqual(listeners.map(filterTypes), [['localRateLimit', 'router'], ['localRateLimit', 'router']]);
  const rl = listeners[0]?.httpConnectionManager?.httpFilters[0]?.config;
  assert.equal(rl?.type === 'localRateLimit' ? rl.localRateLimit.tokenBucket?.maxTokens : undefined, 5);
  assert.deepEqual(omissions, []);
});

test('SIDECAR_OUTBOUND in another namespace does not apply; the inbound pattern never lands on outbound listeners', () => {
  assert.deepEqual(filterTypes(listenersSeenFrom('web', [['shop', 'limit-calls', outboundFilter()]]).listeners[0]), ['router']);
  assert.deepEqual(filterTypes(listenersSeenFrom('shop', [['shop', 'inbound', rateLimitFilter('catalog')]]).listeners[0]), ['router']);
});

test('SIDECAR_OUTBOUND with a workloadSelector is reported as an omission, not silently applied to the whole namespace', () => {
  const { listeners, omissions } = listenersSeenFrom('shop', [['shop', 'frontend-calls', outboundFilter({ app: 'frontend' })]]);
  assert.deepEqual(listeners.map(filterTypes), [['router'], ['router']]);
  assert.equal(omissions.length, 1, 'reported once for the view, not once per listener');
  assert.match(omissions[0]!.reason, /workloadSelector is not applied/);
});
