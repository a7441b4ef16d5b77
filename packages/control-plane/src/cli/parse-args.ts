import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MeshError } from '@weft/xds-client';

/**
 * `util.parseArgs` for a `weft` subcommand, strict, with mistakes (unknown flags, missing
 * values) turned into a MeshError `WEFT_ERR_USAGE` naming the command, so the CLI prints one
 * clear line and exits 2.
 */
export function parseCommandArgs<const T extends ParseArgsConfig>(command: string, config: T) {
  try {
    return parseArgs({ strict: true, ...config });
  } catch (err) {
    throw new MeshError('WEFT_ERR_USAGE', `weft ${command}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
