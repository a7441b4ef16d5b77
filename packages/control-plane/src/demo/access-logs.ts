/**
 * Per-instance access logs for the demo: every workload runs with `WEFT_ACCESS_LOG` pointing at
 * `<dir>/<instance>.log` in a temporary directory the demo owns (removed on exit), so a step can
 * follow one request's `trace_id` through the services' Envoy-style JSON lines.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnvContributor } from './shop.ts';

/** The fields of an access-log line the demo reads (Envoy's default JSON names). */
export interface AccessLogLine {
  method: string | null;
  path: string | null;
  response_code: number;
  response_flags: string;
  authority: string | null;
  upstream_cluster: string | null;
  trace_id: string | null;
}

/** A temporary directory holding one access log per instance; see the module comment. */
export class AccessLogDir {
  /** The directory's path. */
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates a fresh directory under the OS temp dir. */
  static create(): AccessLogDir {
    return new AccessLogDir(mkdtempSync(join(tmpdir(), 'weft-demo-logs-')));
  }

  /** The log file of instance `name` (`catalog-v1`). */
  pathOf(name: string): string {
    return join(this.dir, `${name}.log`);
  }

  /** Gives each workload `WEFT_ACCESS_LOG=<dir>/<instance>.log`. */
  contributor(): EnvContributor {
    return ({ instance }) => ({ WEFT_ACCESS_LOG: this.pathOf(instance.name) });
  }

  /** Parsed lines of `name`'s log so far; empty when it has none yet. Lines that are not JSON are skipped. */
  read(name: string): AccessLogLine[] {
    let text: string;
    try {
      text = readFileSync(this.pathOf(name), 'utf8');
    } catch {
      return [];
    }
    const lines: AccessLogLine[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(line) as AccessLogLine);
      } catch {
        // a line being written
      }
    }
    return lines;
  }

  /** Deletes the directory and its logs; idempotent. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
