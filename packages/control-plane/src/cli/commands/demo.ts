import type { Command } from '../command.ts';
import { parseCommandArgs } from '../parse-args.ts';
import { runDemo } from '../../demo/demo.ts';

/** `weft demo [--check]`: the example mesh end to end (what `npm run demo` runs). */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the example mesh end to end (what `npm run demo` runs)',
  synopsis: '[--check] [--config PATH…]',
  async run(args) {
    const { values } = parseCommandArgs('demo', {
      args,
      options: { check: { type: 'boolean', default: false }, config: { type: 'string', multiple: true } },
    });
    return runDemo({ isCheck: values.check ?? false, ...(values.config ? { configPaths: values.config } : {}) });
  },
};
