/**
 * What a demo step is and what it gets. A step is one capability shown with live numbers: it
 * sends traffic through the running shop, measures, and returns a {@link StepResult} whose `ok`
 * is the assertion `--check` relies on. Steps run in the order of `steps/index.ts`; adding a
 * capability to the demo is adding one module there.
 */
import type { Mesh } from '@weft/core';
import type { AccessLogDir } from '../access-logs.ts';
import type { ConfigWorkspace } from '../config-workspace.ts';
import type { ControlPlaneProcess } from '../control-plane-process.ts';
import type { StepResult } from '../reporter.ts';
import type { InstanceSpec, ShopInstance } from '../shop.ts';
import type { Reply } from '../traffic.ts';

/** Everything a step may use; owned by `demo.ts`, which cleans it all up. */
export interface DemoContext {
  readonly isCheck: boolean;
  /** `shop` */
  readonly namespace: string;
  /** The demo's own copy of the mesh config; edits are live. */
  readonly config: ConfigWorkspace;
  readonly controlPlane: ControlPlaneProcess;
  /** A Mesh in the demo process: sees what any workload of the namespace sees over xDS. */
  readonly mesh: Mesh;
  /** The running instances by name (`catalog-v2`). */
  readonly instances: ReadonlyMap<string, ShopInstance>;
  /** Every instance's access log (`WEFT_ACCESS_LOG`), by instance name. */
  readonly accessLogs: AccessLogDir;
  /** GET on the frontend (`/catalog/1`), from outside the mesh. */
  frontend(path: string, headers?: Record<string, string>): Promise<Reply>;
  /** Starts one more instance and waits until callers see it as an endpoint. */
  addInstance(spec: InstanceSpec): Promise<ShopInstance>;
  /** Stops an instance started with {@link addInstance}. */
  removeInstance(name: string): Promise<void>;
  /**
   * Runs `code` (an ES module body; top-level await allowed) in a one-shot meshed client process
   * (HTTP register hook, mTLS with a join token for `serviceAccount`) and resolves to its stdout.
   */
  runClient(options: { serviceAccount: string; code: string; timeoutMs?: number }): Promise<string>;
}

/** One step of the demo. */
export interface DemoStep {
  /** The line's title, e.g. `canary 90/10 (gRPC)`. */
  readonly name: string;
  run(ctx: DemoContext): Promise<StepResult>;
}

/** Reads a ratings instance's `/stats` (requests served and failed by that process). */
export async function ratingsStats(instance: ShopInstance | undefined): Promise<{ served: number; failed: number }> {
  if (!instance?.statsPort) return { served: 0, failed: 0 };
  const res = await fetch(`http://127.0.0.1:${instance.statsPort}/stats`, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as { served: number; failed: number };
}

/** Polls `probe` every `intervalMs` until it returns true or `timeoutMs` passes; resolves to the last answer. */
export async function until(probe: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Share of route draws for `authority` that land on a cluster whose name contains `|subset|`. */
export function drawnShare(mesh: Mesh, authority: string, subset: string, headers: Record<string, string> = {}, draws = 1000): number {
  const snapshot = mesh.resolve(authority);
  if (!snapshot) return 0;
  let hits = 0;
  for (let i = 0; i < draws; i++) {
    if (snapshot.route(authority, { method: 'POST', path: '/shop.Catalog/GetProduct', headers }).clusterName.includes(`|${subset}|`)) hits++;
  }
  return hits / draws;
}

/** `3× 503, 1× 504 UT` — the failed replies of the frontend's `/ratings` endpoint by status and response flags. */
export function describeFailures(replies: readonly { status: number; body: Record<string, unknown> }[]): string {
  const counts = new Map<string, number>();
  for (const r of replies) {
    if (r.status === 200) continue;
    const key = `${r.status}${r.body['flags'] ? ` ${String(r.body['flags'])}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n}× ${k}`).join(', ');
}

/**
 * True when the control plane has sent `instance`'s process an inbound listener (the
 * `…/lds/inbound/<ip>:<port>` resource that carries its PeerAuthentication and
 * AuthorizationPolicy), read from `/debug/syncz` and `/debug/config_dump`.
 */
export async function isInboundPolicyDelivered(ctx: DemoContext, instance: ShopInstance): Promise<boolean> {
  const admin = ctx.controlPlane.adminUrl;
  const sync = (await (await fetch(`${admin}/debug/syncz`, { signal: AbortSignal.timeout(5000) })).json()) as { clients?: { nodeId: string }[] };
  const marker = `~${instance.service}-${instance.process.pid}.`;
  for (const client of sync.clients ?? []) {
    if (!client.nodeId.includes(marker)) continue;
    const dump = await fetch(`${admin}/debug/config_dump?node=${encodeURIComponent(client.nodeId)}`, { signal: AbortSignal.timeout(5000) });
    if ((await dump.text()).includes('lds/inbound/')) return true;
  }
  return false;
}
