/**
 * The demo's child processes. Each child is spawned in its own process group (`detached`), so
 * stopping it also stops anything it started; {@link ProcessGroup.stopAll} sends SIGTERM to every
 * group, then SIGKILL to what is left after a grace period, and a synchronous `exit` hook kills
 * whatever is still running if the demo ends some other way (an uncaught error, `process.exit`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { MeshError } from '@weft/xds-client';

/** One process to start. */
export interface ChildSpec {
  /** Shown in messages (`catalog-v2`). */
  name: string;
  /** Arguments after the node executable. */
  args: string[];
  env: NodeJS.ProcessEnv;
  /** A stdout line matching this means the process is ready. */
  ready: RegExp;
  cwd?: string;
}

/** A started child. */
export interface RunningChild {
  name: string;
  child: ChildProcess;
  pid: number;
  /** The last lines of stdout and stderr, for error reports. */
  output: string[];
}

const OUTPUT_LINES = 40;

/** Starts, tracks and stops the demo's processes; see the module comment. */
export class ProcessGroup {
  readonly #children = new Map<string, RunningChild>();
  readonly #onExit = () => this.killAllNow();
  #isClosed = false;

  constructor() {
    process.once('exit', this.#onExit);
  }

  /** Every child started and not yet stopped. */
  get children(): readonly RunningChild[] {
    return [...this.#children.values()];
  }

  /**
   * Spawns `spec` and resolves once its ready line appears. Rejects with `WEFT_ERR_CONFIG_IO`
   * (with its output) if it exits first or is not ready within `timeoutMs`; the child is then
   * stopped.
   */
  start(spec: ChildSpec, timeoutMs = 30_000): Promise<RunningChild> {
    if (this.#isClosed) return Promise.reject(new MeshError('WEFT_ERR_CLOSED', `${spec.name} not started: the demo is stopping`));
    const child = spawn(process.execPath, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const running: RunningChild = { name: spec.name, child, pid: child.pid ?? -1, output: [] };
    this.#children.set(spec.name, running);
    const keep = (d: string) => {
      running.output.push(...d.split('\n').filter(Boolean));
      if (running.output.length > OUTPUT_LINES) running.output.splice(0, running.output.length - OUTPUT_LINES);
    };
    child.stderr?.setEncoding('utf8').on('data', keep);
    return new Promise((resolve, reject) => {
      let out = '';
      let isReady = false;
      const fail = (why: string) => {
        clearTimeout(timer);
        void this.stop(spec.name, 0);
        reject(new MeshError('WEFT_ERR_CONFIG_IO', `${spec.name} did not start: ${why}\n${running.output.join('\n')}`));
      };
      const timer = setTimeout(() => fail(`no ready line within ${timeoutMs} ms`), timeoutMs);
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(`exited with ${code ?? signal}`);
      child.once('exit', onExit);
      // stdout keeps being read after the ready line (a full pipe would block the child).
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        keep(d);
        if (isReady) return;
        out += d;
        if (!spec.ready.test(out)) return;
        isReady = true;
        out = '';
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(running);
      });
    });
  }

  /** Stops one child's process group: SIGTERM, SIGKILL after `graceMs`. Resolves when it exited. */
  async stop(name: string, graceMs = 3000): Promise<void> {
    const running = this.#children.get(name);
    if (!running) return;
    const { child } = running;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      signalGroup(running.pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(running.pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    signalGroup(running.pid, 'SIGKILL'); // anything the child itself started
    this.#children.delete(name);
  }

  /**
   * Stops every child (in parallel) and refuses new ones. Idempotent. The `exit` hook stays, so a
   * child spawned while this ran is still killed when the process exits.
   */
  async stopAll(graceMs = 3000): Promise<void> {
    this.#isClosed = true;
    await Promise.all([...this.#children.keys()].map((name) => this.stop(name, graceMs)));
  }

  /** Synchronous last resort: SIGKILL to every child's group. */
  killAllNow(): void {
    for (const c of this.#children.values()) signalGroup(c.pid, 'SIGKILL');
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
