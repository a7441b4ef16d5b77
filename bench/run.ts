/**
 * Runs every benchmark script in this folder, one after the other (never in parallel: they
 * measure), and prints their `RESULT name=value` and `RATIO name=value` lines at the end.
 *
 *   npm run bench                 # full runs
 *   npm run bench -- --quick      # short runs (the whole set in about two minutes)
 *   npm run bench -- http-ratio   # only the scripts whose file name contains "http-ratio"
 *
 * Each script is a standalone program: `node bench/<name>.ts [--quick]`.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const isQuick = args.includes('--quick');
const filters = args.filter((a) => !a.startsWith('--'));
const scripts = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

function runScript(file: string): Promise<{ lines: string[]; code: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, file), ...(isQuick ? ['--quick'] : [])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      lines.push(...parts.filter((l) => /^(RESULT|RATIO) /.test(l)));
    });
    child.on('close', (code) => resolve({ lines, code: code ?? 1 }));
  });
}

const summary: string[] = [];
let failed = 0;
for (const file of scripts) {
  process.stdout.write(`\n== ${basename(file, '.ts')}${isQuick ? ' (quick)' : ''}\n`);
  const { lines, code } = await runScript(file);
  if (code !== 0) {
    failed++;
    summary.push(`FAILED ${file} (exit ${code})`);
  }
  summary.push(...lines);
}
process.stdout.write(`\n== summary\n${summary.join('\n')}\n`);
process.exitCode = failed ? 1 : 0;
