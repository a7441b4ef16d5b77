/**
 * A short-lived meshed client process for demo steps that need a caller other than the shop's
 * services (e.g. an identity the AuthorizationPolicy does not list). It runs an ES module body
 * under the HTTP register hook, in its own process group, and is killed if it overruns.
 */
import { spawn } from 'node:child_process';
import { MeshError } from '@weft/xds-client';
import { REPO_ROOT } from './shop.ts';

/** Options of {@link runOneShotClient}. */
export interface OneShotClientOptions {
  /** ES module body; top-level await allowed; write results to stdout. */
  code: string;
  env: NodeJS.ProcessEnv;
  /** Default 30 s. */
  timeoutMs?: number;
}

/** Runs the client and resolves to its stdout; rejects (`WEFT_ERR_CONFIG_IO`) on a non-zero exit or timeout. */
export function runOneShotClient(options: OneShotClientOptions): Promise<string> {
  // Weft's sockets and timers are unref'd: hold the process open until the code has finished.
  const body = `const keepAlive = setInterval(() => {}, 1000);\ntry {\n${options.code}\n} finally { clearInterval(keepAlive); }`;
  const child = spawn(process.execPath, ['--import', '@weft/http-adapter/register', '--input-type=module', '-e', body], {
    cwd: REPO_ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const kill = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  };
  process.once('exit', kill);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(kill, options.timeoutMs ?? 30_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      process.off('exit', kill);
      kill(); // anything it left in its group
      if (code === 0) resolve(out);
      else reject(new MeshError('WEFT_ERR_CONFIG_IO', `demo client exited with ${code ?? signal}\n${err}`));
    });
  });
}
