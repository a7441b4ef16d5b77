/**
 * A one-listener mesh for the policy tests: `reviews:9080` routed to the given clusters, with a
 * dispatcher over it; `close()` releases everything.
 */
import type { Cluster, ClusterLoadAssignment, HttpFilter, Route, RetryPolicy, RouteAction } from '@weft/xds-client';
import type { Mesh } from '@weft/core';
import { createMeshDispatcher } from '../src/index.ts';
import type { MeshDispatcher, MeshDispatcherOptions } from '../src/index.ts';
import { FakeXds, createTestMesh, route, routeAction, routeConfig, routeMatch, virtualHost, xdsConfigOf } from './support.ts';

export const LISTENER = 'reviews.default.svc.cluster.local:9080';
export const DOMAINS = ['reviews', 'reviews:9080', 'reviews.default.svc.cluster.local', 'reviews.default.svc.cluster.local:9080'];

/** A decoded retry policy with test-friendly back-off (1–2 ms). */
export function retryPolicy(retryOn: string[], numRetries: number, extra: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    retryOn,
    numRetries,
    retriableStatusCodes: [],
    retryBackOff: { baseIntervalMs: 1, maxIntervalMs: 2 },
    retriableHeaders: [],
    retriableRequestHeaders: [],
    retryHostPredicates: [],
    hostSelectionRetryMaxAttempts: 1,
    ...extra,
  };
}

/** What a test mesh is built from. */
export interface HarnessSpec {
  readonly target: string | readonly (readonly [string, number])[];
  readonly action?: Partial<RouteAction>;
  readonly clusters: readonly (readonly [Cluster, ClusterLoadAssignment | undefined])[];
  readonly filters?: readonly HttpFilter[];
  readonly routeExtra?: Partial<Route>;
  readonly dispatcher?: Omit<MeshDispatcherOptions, 'mesh'>;
  readonly random?: () => number;
}

/** A running test mesh. */
export interface Harness {
  readonly xds: FakeXds;
  readonly mesh: Mesh;
  readonly dispatcher: MeshDispatcher;
  close(): Promise<void>;
}

/** Builds the mesh and dispatcher for `spec`. */
export async function harness(spec: HarnessSpec): Promise<Harness> {
  const xds = new FakeXds();
  const r = { ...route('r', routeMatch({ type: 'prefix', prefix: '/' }), routeAction(spec.target, spec.action)), ...spec.routeExtra };
  xds.set(xdsConfigOf(LISTENER, routeConfig('rc', [virtualHost('vh', DOMAINS, [r])]), spec.clusters, spec.filters));
  const mesh = await createTestMesh(xds, spec.random);
  const dispatcher = createMeshDispatcher({ mesh, defaultRetryPolicy: null, ...spec.dispatcher });
  return {
    xds,
    mesh,
    dispatcher,
    close: async () => {
      await dispatcher.destroy();
      await mesh.close();
    },
  };
}
