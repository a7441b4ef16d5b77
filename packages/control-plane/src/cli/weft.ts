#!/usr/bin/env node
/**
 * The `weft` command line. Each subcommand lives in `commands/<name>.ts` and exports a
 * {@link Command}; this file only dispatches and turns errors into exit codes.
 */
import { isMeshError } from '@weft/xds-client';
import { commands } from './commands/index.ts';
import { usage } from './usage.ts';

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage(commands));
    return 0;
  }
  if (name === '--version' || name === '-v') {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
    process.stdout.write(`weft ${version}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`weft: unknown command "${name}"\n\n${usage(commands)}`);
    return 2;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (isMeshError(err)) {
      process.stderr.write(`weft: ${err.code}: ${err.message}\n`);
      process.exitCode = err.code === 'WEFT_ERR_USAGE' ? 2 : 1;
    } else {
      process.stderr.write(`weft: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
