import type { Command } from '../command.ts';

/** Every `weft` subcommand, in the order `weft --help` lists them. */
export const commands: readonly Command[] = [];
