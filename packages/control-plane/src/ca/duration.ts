/**
 * Durations as users type them on the command line and in the admin API: Go/Istio style
 * `90s`, `10m`, `24h`, `1h30m`, `500ms`, or `7d`.
 */
import { MeshError } from '@weft/xds-client';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration into milliseconds. Throws a MeshError `WEFT_ERR_USAGE` naming `what` (the
 * flag or field) when the text is not a positive duration.
 */
export function parseDurationMs(text: string, what: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    consumed = re.lastIndex;
  }
  if (text.length === 0 || consumed !== text.length || !(total > 0)) {
    throw new MeshError('WEFT_ERR_USAGE', `${what}: "${text}" is not a duration (use e.g. 90s, 10m, 24h, 1h30m, 7d)`);
  }
  return Math.round(total);
}
