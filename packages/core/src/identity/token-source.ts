/** Where a workload finds its join token: `WEFT_TOKEN`, else the file named by `WEFT_TOKEN_FILE`. */
import { readFileSync } from 'node:fs';
import { MeshError } from '@weft/xds-client';

/**
 * Reads the join token from `env` (default `process.env`): `WEFT_TOKEN` wins, else the
 * trimmed content of `WEFT_TOKEN_FILE` (read at each call, so a rotated file is picked up).
 * Returns undefined when neither is set; throws `WEFT_ERR_CONFIG_IO` naming the file when
 * `WEFT_TOKEN_FILE` is set but unreadable or empty.
 */
export function readJoinToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const inline = env['WEFT_TOKEN']?.trim();
  if (inline) return inline;
  const file = env['WEFT_TOKEN_FILE'];
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new MeshError('WEFT_ERR_CONFIG_IO', `WEFT_TOKEN_FILE ${file}: ${(err as Error).message}`, { cause: err, details: { file } });
  }
  if (text.length === 0) throw new MeshError('WEFT_ERR_CONFIG_IO', `WEFT_TOKEN_FILE ${file} is empty`, { details: { file } });
  return text;
}
