/**
 * `weft demo`: the example shop, end to end. Copies `examples/mesh` into a directory the demo
 * owns, starts the control plane on it and every example service (`examples/services`) as real
 * processes on 127.0.0.1 with free ports, waits until they are endpoints, then walks through the
 * capabilities one step at a time with live numbers (`steps/index.ts`). Without `--check` it
 * keeps sending a little traffic until Ctrl-C; with `--check` every step asserts, one line each,
 * and the exit code is 0 only if all held. Every process it started is stopped on every way
 * out (each child runs in its own process group, which is killed).
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Mesh } from '@weft/core';
import { Reporter, type StepResult } from './reporter.ts';
import { startControlPlane, type ControlPlaneProcess } from './control-plane-process.ts';
import { validateConfig, formatFinding } from '../index.ts';
import type { MeshModel } from '../model/mesh-model.ts';
import { describeWorkloadView } from './workload-view.ts';
import { ConfigWorkspace } from './config-workspace.ts';
import { ProcessGroup } from './process-group.ts';
import { SHOP_INSTANCES, startInstance, type EnvContributor, type InstanceSpec, type ShopInstance } from './shop.ts';
import { waitForEndpoints } from './registration.ts';
import { AccessLogDir } from './access-logs.ts';
import { getJson } from './traffic.ts';
import { DEMO_STEPS } from './steps/index.ts';
import type { DemoContext, DemoStep } from './steps/step.ts';
import { startBackgroundTraffic, type TrafficHandle } from './background-traffic.ts';
import { createTokenMinter, mtlsEnvContributor, type TokenMinter } from './mtls.ts';
import { runOneShotClient } from './one-shot-client.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Assert every step and exit instead of running until Ctrl-C. */
  isCheck: boolean;
  /** Config to copy and load; default the repository's `examples/mesh`. */
  configPaths?: string[];
  out?: NodeJS.WritableStream;
  /** Steps after start-up; default {@link DEMO_STEPS}. */
  steps?: readonly DemoStep[];
  /** Extra variables for every workload (telemetry, …), after the mTLS identity ones. */
  envContributors?: readonly EnvContributor[];
  /** Run the control plane as CA and give every workload WEFT_MTLS=on and a join token; default true. */
  isMtls?: boolean;
}

/** The example mesh config shipped in the repository. */
export const EXAMPLE_CONFIG = fileURLToPath(new URL('../../../../examples/mesh', import.meta.url));
const NAMESPACE = 'shop';
/** How long the instances get to register themselves (their ADS streams carry WEFT_SERVICE/WEFT_PORT/WEFT_LABELS). */
const SELF_REGISTRATION_WAIT_MS = 30_000;
/** LRS reporting interval asked of the workloads, so `/debug/graph` fills within the demo. */
const LRS_INTERVAL = '1s';

/** Runs the demo; resolves to the process exit code. */
export async function runDemo(options: DemoOptions): Promise<number> {
  const reporter = new Reporter(options.out);
  const configPaths = options.configPaths ?? [EXAMPLE_CONFIG];
  const results: StepResult[] = [];
  const group = new ProcessGroup();
  const instances = new Map<string, ShopInstance>();
  let config: ConfigWorkspace | undefined;
  let caDir: string | undefined;
  let logs: AccessLogDir | undefined;
  let controlPlane: ControlPlaneProcess | undefined;
  let mesh: Mesh | undefined;
  let model: MeshModel | undefined;
  let traffic: TrafficHandle | undefined;
  let cleaning: Promise<void> | undefined;

  /** The control plane's process from the moment it is spawned (before it is ready). */
  let controlPlaneChild: ChildProcess | undefined;
  const killControlPlaneNow = () => {
    if (controlPlaneChild && controlPlaneChild.exitCode === null && controlPlaneChild.signalCode === null) controlPlaneChild.kill('SIGKILL');
  };
  process.once('exit', killControlPlaneNow);
  const cleanup = () =>
    (cleaning ??= (async () => {
      traffic?.stop();
      await mesh?.close().catch(() => undefined);
      await group.stopAll();
      if (controlPlane) await controlPlane.stop();
      else killControlPlaneNow(); // interrupted while it was starting
      config?.remove();
      if (caDir) rmSync(caDir, { recursive: true, force: true });
      logs?.remove();
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    reporter.info(`${signal}: stopping every process the demo started`);
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const run = async (name: string, step: () => Promise<StepResult>): Promise<StepResult> => {
    const r = await reporter.step(name, step);
    results.push(r);
    return r;
  };

  try {
    reporter.heading(`Weft demo${options.isCheck ? ' (check)' : ''}: ${configPaths.join(', ')}`);
    await run('validate the mesh config', async () => {
      const { findings, model: loaded } = await validateConfig(configPaths, { defaultNamespace: NAMESPACE });
      model = loaded;
      const errors = findings.filter((f) => f.level === 'error');
      return {
        ok: errors.length === 0 && loaded !== undefined,
        detail: `${errors.length} errors, ${findings.length - errors.length} warnings/infos`,
        lines: findings.map(formatFinding),
      };
    });
    const started = await run('start the control plane', async () => {
      config = ConfigWorkspace.copyOf(configPaths);
      const isMtls = options.isMtls ?? true;
      if (isMtls) caDir = mkdtempSync(join(tmpdir(), 'weft-demo-ca-'));
      controlPlane = await startControlPlane({
        configPaths: [config.dir],
        args: ['--lrs-interval', LRS_INTERVAL, ...(caDir ? ['--ca-dir', caDir] : [])],
        onSpawn: (child) => (controlPlaneChild = child),
      });
      mesh = await Mesh.create({ namespace: NAMESPACE, xdsClientOptions: { env: { WEFT_XDS_ADDRESS: controlPlane.xdsAddress, WEFT_NAMESPACE: NAMESPACE } } });
      return {
        ok: true,
        detail: `xDS on ${controlPlane.xdsAddress}, admin on ${controlPlane.adminUrl}${caDir ? '; mesh CA on (workloads run with WEFT_MTLS=on and a join token)' : ''}; load reports every ${LRS_INTERVAL}`,
        lines: [`control plane pid ${controlPlane.child.pid}`, `config copy (live edits go here): ${config.dir}`],
      };
    });
    if (!started.ok) return finish();
    await run('services loaded', async () => describeServices(model));
    await run('routes loaded', async () => describeRoutes(model));
    await run('control plane ready', async () => {
      const url = `${controlPlane?.adminUrl}/readyz`;
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      return { ok: res.status === 200, detail: `GET ${url} → ${res.status}` };
    });
    await run('a workload receives the routes over xDS', async () => {
      if (!model || !controlPlane) return { ok: false, detail: 'control plane not running' };
      return describeWorkloadView(model, controlPlane.xdsAddress, NAMESPACE);
    });

    const cp = controlPlane as ControlPlaneProcess | undefined;
    const observer = mesh as Mesh | undefined;
    if (!cp || !observer || !config) return finish();
    const workspace = config;
    const mint: TokenMinter | undefined = caDir ? createTokenMinter(cp.adminUrl) : undefined;
    const accessLogs = (logs = AccessLogDir.create());
    const contributors = [...(mint ? [mtlsEnvContributor(mint)] : []), accessLogs.contributor(), ...(options.envContributors ?? [])];
    const startOptions = { group, xdsAddress: cp.xdsAddress, namespace: NAMESPACE, contributors };

    const shopStarted = await run('start the example services', async () => {
      const list = await Promise.all(SHOP_INSTANCES.map((spec) => startInstance(spec, startOptions)));
      for (const i of list) instances.set(i.name, i);
      return {
        ok: true,
        detail: `${list.length} processes, pids ${list.map((i) => i.process.pid).join(' ')}`,
        lines: list.map((i) => `${i.name.padEnd(12)} pid ${i.process.pid}  ${i.portName} 127.0.0.1:${i.port}  admin :${i.adminPort}`),
      };
    });
    if (!shopStarted.ok) return finish();

    const registered = await run('every instance is an endpoint of its service', async () => {
      const all = [...instances.values()];
      const missing = await waitForEndpoints(observer, all, NAMESPACE, SELF_REGISTRATION_WAIT_MS);
      if (missing.length === 0) return { ok: true, detail: `${all.length} instances registered themselves over xDS (WEFT_SERVICE, WEFT_PORT, WEFT_LABELS in their node metadata)` };
      return {
        ok: false,
        detail: `${missing.length} of ${all.length} instances did not register themselves within ${SELF_REGISTRATION_WAIT_MS / 1000} s: ${missing.map((i) => i.name).join(', ')}`,
        lines: missing.map((i) => `${i.name}: not an endpoint (does its node metadata reach the control plane? npx weft status --admin ${cp.adminUrl}; ${cp.adminUrl}/debug/syncz)`),
      };
    });
    if (!registered.ok) return finish();

    const frontendUrl = `http://127.0.0.1:${instances.get('frontend')?.port}`;
    await run('the shop answers (frontend → catalog, inventory, ratings)', async () => {
      const r = await getJson(`${frontendUrl}/product/1`);
      const p = r.body['product'] as { version?: string; stars?: number } | undefined;
      const s = r.body['stock'] as { count?: number; instance?: string } | undefined;
      const rating = r.body['rating'] as { status?: number; version?: string } | undefined;
      return {
        ok: r.status === 200 && typeof p?.version === 'string' && typeof s?.count === 'number',
        detail: `GET ${frontendUrl}/product/1 → ${r.status}: catalog ${p?.version ?? '?'}, stock ${s?.count ?? '?'} (${s?.instance ?? '?'}), ratings ${rating?.version || '?'} (${rating?.status ?? '?'})`,
      };
    });

    const ctx: DemoContext = {
      isCheck: options.isCheck,
      namespace: NAMESPACE,
      config: workspace,
      controlPlane: cp,
      mesh: observer,
      instances,
      accessLogs,
      frontend: (path, headers) => getJson(`${frontendUrl}${path}`, headers),
      async addInstance(spec: InstanceSpec) {
        const inst = await startInstance(spec, startOptions);
        instances.set(inst.name, inst);
        const missing = await waitForEndpoints(observer, [inst], NAMESPACE, 20_000);
        if (missing.length > 0) throw new Error(`${inst.name} did not become an endpoint within 20 s`);
        return inst;
      },
      async removeInstance(name: string) {
        await group.stop(name);
        instances.delete(name);
      },
      async runClient({ serviceAccount, code, timeoutMs }) {
        const env: NodeJS.ProcessEnv = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WEFT_'))), NO_COLOR: '1', WEFT_XDS_ADDRESS: cp.xdsAddress, WEFT_NAMESPACE: NAMESPACE, WEFT_SERVICE_ACCOUNT: serviceAccount };
        delete env['GRPC_XDS_BOOTSTRAP'];
        delete env['GRPC_XDS_BOOTSTRAP_CONFIG'];
        if (mint) Object.assign(env, { WEFT_MTLS: 'on', WEFT_TOKEN: await mint(NAMESPACE, serviceAccount) });
        return runOneShotClient({ code, env, ...(timeoutMs ? { timeoutMs } : {}) });
      },
    };
    for (const step of options.steps ?? DEMO_STEPS) await run(step.name, () => step.run(ctx));

    if (options.isCheck) return finish();
    finish();
    reporter.info(`frontend: ${frontendUrl}/product/1   mesh view: ${cp.adminUrl}/ui   status: npx weft status --admin ${cp.adminUrl}`);
    reporter.info(`config (edit live): ${workspace.dir}`);
    reporter.info(`workload metrics: http://127.0.0.1:<admin>/stats/prometheus (admin ports above)   access logs: ${accessLogs.dir}/<instance>.log`);
    reporter.info('running with a little traffic; press Ctrl-C to stop');
    traffic = startBackgroundTraffic(frontendUrl, reporter);
    await new Promise<void>(() => {
      // Runs until SIGINT/SIGTERM (handled above).
    });
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }

  function finish(): number {
    const pending = results.filter((r) => r.isPending).length;
    const failed = results.filter((r) => !r.ok).length;
    const passed = results.length - failed - pending;
    reporter.heading(`${passed} passed, ${failed} failed${pending ? `, ${pending} pending` : ''}`);
    return failed === 0 ? 0 : 1;
  }
}

function describeServices(model: MeshModel | undefined): StepResult {
  if (!model) return { ok: false, detail: 'no model (validation failed)' };
  const lines = [...model.services.values()].map((s) => {
    const ports = s.ports.map((p) => `${p.number}/${p.protocol}`).join(',');
    const endpoints = model.endpoints.get(s.hostname)?.length ?? 0;
    return `${s.hostname}  ports ${ports}  endpoints ${endpoints}  (${s.origin})`;
  });
  return { ok: model.services.size > 0, detail: `${model.services.size} services`, lines };
}

function describeRoutes(model: MeshModel | undefined): StepResult {
  if (!model) return { ok: false, detail: 'no model (validation failed)' };
  const lines: string[] = [];
  for (const vs of model.virtualServices) {
    for (const [i, http] of (vs.spec.http ?? []).entries()) {
      const to = (http.route ?? [])
        .map((r) => `${r.destination?.host ?? '?'}${r.destination?.subset ? `/${r.destination.subset}` : ''}${r.weight !== undefined ? ` ${r.weight}%` : ''}`)
        .join(', ');
      const match = http.match?.length ? ` when ${JSON.stringify(http.match)}` : '';
      lines.push(`${vs.namespace}/${vs.name} http[${i}]${match} → ${to}`);
    }
  }
  return {
    ok: model.virtualServices.length > 0,
    detail: `${model.virtualServices.length} VirtualServices, ${model.destinationRules.length} DestinationRules`,
    lines,
  };
}
