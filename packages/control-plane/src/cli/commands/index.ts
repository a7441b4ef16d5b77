import type { Command } from '../command.ts';
import { validateCommand } from './validate.ts';

/** Every `weft` subcommand, in the order `weft --help` lists them. */
export const commands: readonly Command[] = [validateCommand];
