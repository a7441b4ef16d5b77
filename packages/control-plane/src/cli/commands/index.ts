import type { Command } from '../command.ts';
import { validateCommand } from './validate.ts';
import { demoCommand } from './demo.ts';
import { controlPlaneCommand } from './control-plane.ts';
import { statusCommand } from './status.ts';
import { bootstrapCommand } from './bootstrap.ts';
import { tokenCommand } from './token.ts';
import { envoyBootstrapCommand } from './envoy-bootstrap.ts';

/** Every `weft` subcommand, in the order `weft --help` lists them. */
export const commands: readonly Command[] = [validateCommand, demoCommand, controlPlaneCommand, statusCommand, bootstrapCommand, envoyBootstrapCommand, tokenCommand];
