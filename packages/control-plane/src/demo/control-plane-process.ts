/**
 * Starts `weft control-plane` as a child process (a real, separate process, as a user would run
 * it) and waits for its ready line, which names the ports it bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MeshError } from '@weft/xds-client';

/** Where to find a running control plane. */
export interface ControlPlaneProcess {
  child: ChildProcess;
  /** `127.0.0.1:PORT` of the xDS (ADS) server. */
  xdsAddress: string;
  /** `http://127.0.0.1:PORT` of the admin server. */
  adminUrl: string;
  /** Lines the process wrote to stderr so far (for error reports). */
  stderr: string[];
  /** Sends SIGTERM and resolves when the process has exited (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** Options of {@link startControlPlane}. */
export interface StartControlPlaneOptions {
  configPaths: string[];
  xdsPort?: number;
  adminPort?: number;
  /** Extra CLI arguments. */
  args?: string[];
  /** How long to wait for the ready line; default 20 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Called with the child as soon as it is spawned (before it is ready), e.g. to kill it on exit. */
  onSpawn?: (child: ChildProcess) => void;
}

const READY = /xDS on ([\d.:[\]a-z]+), admin on (http:\/\/[\d.:[\]a-z]+)/i;
const WEFT_CLI = fileURLToPath(new URL('../cli/weft.ts', import.meta.url));

/**
 * Spawns the control plane and resolves once it prints its ready line. Rejects with
 * `WEFT_ERR_CONFIG_IO` (process exited or timed out), including its stderr.
 */
export function startControlPlane(options: StartControlPlaneOptions): Promise<ControlPlaneProcess> {
  const args = [
    WEFT_CLI,
    'control-plane',
    ...options.configPaths.flatMap((p) => ['--config', p]),
    '--xds-port',
    String(options.xdsPort ?? 0),
    '--admin-port',
    String(options.adminPort ?? 0),
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  options.onSpawn?.(child);
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (d: string) => stderr.push(...d.split('\n').filter(Boolean)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = 5000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      void stop(0);
      reject(new MeshError('WEFT_ERR_CONFIG_IO', `control plane did not start: ${why}\n${stderr.join('\n')}`));
    };
    const timer = setTimeout(() => fail(`no ready line within ${options.timeoutMs ?? 20000} ms`), options.timeoutMs ?? 20000);
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => fail(`exited with ${code ?? signal}`);
    child.once('exit', onExit);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = READY.exec(out);
      if (m?.[1] && m[2]) {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve({ child, xdsAddress: m[1], adminUrl: m[2], stderr, stop });
      }
    });
  });
}
