/**
 * `weft demo`: the example mesh, end to end. Starts the control plane on `examples/mesh` as a
 * real process, shows what it loaded and walks through the steps; keeps running until Ctrl-C,
 * or with `--check` asserts every step, prints one line each and exits 0 only if all held.
 * Every process it starts is stopped on the way out.
 */
import { fileURLToPath } from 'node:url';
import { Reporter, type StepResult } from './reporter.ts';
import { startControlPlane, type ControlPlaneProcess } from './control-plane-process.ts';
import { validateConfig, formatFinding } from '../index.ts';
import type { MeshModel } from '../model/mesh-model.ts';
import { describeWorkloadView } from './workload-view.ts';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Assert every step and exit instead of running until Ctrl-C. */
  isCheck: boolean;
  /** Config to load; default the repository's `examples/mesh`. */
  configPaths?: string[];
  out?: NodeJS.WritableStream;
}

/** The example mesh config shipped in the repository. */
export const EXAMPLE_CONFIG = fileURLToPath(new URL('../../../../examples/mesh', import.meta.url));

/** Runs the demo; resolves to the process exit code. */
export async function runDemo(options: DemoOptions): Promise<number> {
  const reporter = new Reporter(options.out);
  const configPaths = options.configPaths ?? [EXAMPLE_CONFIG];
  const results: StepResult[] = [];
  let controlPlane: ControlPlaneProcess | undefined;
  let model: MeshModel | undefined;

  const stopAll = async () => {
    await controlPlane?.stop();
  };
  const onSignal = () => {
    void stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    reporter.heading(`Weft demo${options.isCheck ? ' (check)' : ''}: ${configPaths.join(', ')}`);
    results.push(
      await reporter.step('validate the mesh config', async () => {
        const { findings, model: loaded } = await validateConfig(configPaths, { defaultNamespace: 'shop' });
        model = loaded;
        const errors = findings.filter((f) => f.level === 'error');
        return {
          ok: errors.length === 0 && loaded !== undefined,
          detail: `${errors.length} errors, ${findings.length - errors.length} warnings/infos`,
          lines: findings.map(formatFinding),
        };
      }),
    );
    results.push(
      await reporter.step('start the control plane', async () => {
        controlPlane = await startControlPlane({ configPaths });
        return { ok: true, detail: `xDS on ${controlPlane.xdsAddress}, admin on ${controlPlane.adminUrl}` };
      }),
    );
    results.push(
      await reporter.step('services loaded', async () => describeServices(model)),
    );
    results.push(
      await reporter.step('routes loaded', async () => describeRoutes(model)),
    );
    results.push(
      await reporter.step('control plane ready', async () => {
        const url = `${controlPlane?.adminUrl}/readyz`;
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
        return { ok: res.status === 200, detail: `GET ${url} → ${res.status}` };
      }),
    );

    results.push(
      await reporter.step('a workload receives the routes over xDS', async () => {
        if (!model || !controlPlane) return { ok: false, detail: 'control plane not running' };
        return describeWorkloadView(model, controlPlane.xdsAddress, 'shop');
      }),
    );

    const failed = results.filter((r) => !r.ok).length;
    if (options.isCheck) {
      reporter.heading(`${results.length - failed} passed, ${failed} failed`);
      return failed === 0 ? 0 : 1;
    }
    reporter.info(`admin: ${controlPlane?.adminUrl ?? '(not running)'}   status: npx weft status --admin ${controlPlane?.adminUrl ?? ''}`);
    reporter.info('running; press Ctrl-C to stop');
    await new Promise<void>(() => {
      // Runs until SIGINT/SIGTERM (handled above).
    });
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
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
