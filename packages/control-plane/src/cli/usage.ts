import type { Command } from './command.ts';

/** The text of `weft --help`. */
export function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}\n  ${' '.repeat(width)}    weft ${c.name} ${c.synopsis}`);
  return [
    'weft: the Weft control plane and tools',
    '',
    'Usage: weft <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `weft <command> --help` for the options of one command.',
    '',
  ].join('\n');
}
