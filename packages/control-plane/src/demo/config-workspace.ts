/**
 * The demo's own copy of the mesh config: `examples/mesh` is copied into a temporary directory
 * that the control plane watches, and live edits (a new canary weight, a fault) are made to the
 * copy — the repository's files are never touched. Edits are written to a temporary file and
 * renamed over the old one, the way editors save, so the watcher never sees a half-written file.
 */
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

/** A plain YAML document of the config (`kind`, `metadata`, `spec`). */
export interface ConfigDocument {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

/** See the module comment. */
export class ConfigWorkspace {
  /** The directory the control plane is given. */
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Copies `sources` (directories of YAML files, or single files) into a new temporary
   * directory; later sources win on equal file names. README files are left out.
   */
  static copyOf(sources: readonly string[]): ConfigWorkspace {
    const dir = mkdtempSync(join(tmpdir(), 'weft-demo-config-'));
    for (const source of sources) {
      const target = statSync(source).isDirectory() ? dir : join(dir, basename(source));
      cpSync(source, target, { recursive: true, filter: (p) => !p.endsWith('.md') });
    }
    return new ConfigWorkspace(dir);
  }

  /** The documents of `file` (relative to {@link dir}). */
  read(file: string): ConfigDocument[] {
    return parseAllDocuments(readFileSync(join(this.dir, file), 'utf8')).map((d) => d.toJS() as ConfigDocument);
  }

  /** Writes `docs` as `file`, atomically (temp file + rename). */
  write(file: string, docs: readonly ConfigDocument[]): void {
    const target = join(this.dir, file);
    const temp = `${target}.tmp-${process.pid}`;
    writeFileSync(temp, docs.map((d) => stringify(d)).join('---\n'));
    renameSync(temp, target);
  }

  /**
   * Applies `change` to the document of `kind`/`name` in `file` and writes the file back.
   * Throws `Error` when no such document exists (a bug in the demo, not a user error).
   */
  edit(file: string, kind: string, name: string, change: (doc: ConfigDocument) => void): void {
    const docs = this.read(file);
    const doc = docs.find((d) => d.kind === kind && d.metadata?.name === name);
    if (!doc) throw new Error(`demo: no ${kind} ${name} in ${file}`);
    change(doc);
    this.write(file, docs);
  }

  /** Deletes the directory. Idempotent. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
