/**
 * One pass over the config on disk: read every file, parse every document into a config object,
 * reject duplicates, and group the objects by kind. Pure with respect to the model (it builds
 * nothing that is published); the config store and `weft validate` both start here.
 *
 * With a {@link ReadCache}, a file whose bytes did not change since the last pass is not parsed
 * again: its objects and findings are reused (they are immutable once published), so an edit
 * to one file of a large config costs one file's parse.
 */
import { createHash } from 'node:crypto';
import type { ConfigKind, Finding } from '../model/mesh-model.ts';
import { FindingCode, makeFinding } from './finding.ts';
import { locate, parseResource, resourceName, type AnyConfigObject } from './resource-parse.ts';
import { listConfigFiles, parseSource, readSourceFile } from './yaml-source.ts';

/** The parsed config: objects in input order (files sorted, documents in file order) and findings. */
export interface ReadResult {
  objects: AnyConfigObject[];
  findings: Finding[];
  /** The files read, for watching. */
  files: string[];
}

interface FileEntry {
  hash: string;
  defaultNamespace: string;
  objects: AnyConfigObject[];
  findings: Finding[];
}

/** Per-file results of earlier passes, keyed by path; owned by one config store. */
export type ReadCache = Map<string, FileEntry>;

/** An empty {@link ReadCache}. */
export function createReadCache(): ReadCache {
  return new Map();
}

async function parseFile(shown: string, bytes: Uint8Array, defaultNamespace: string): Promise<{ objects: AnyConfigObject[]; findings: Finding[] }> {
  const parsed = parseSource(shown, bytes);
  const findings = [...parsed.findings];
  const objects: AnyConfigObject[] = [];
  for (const doc of parsed.documents) {
    const r = await parseResource(doc, defaultNamespace);
    findings.push(...r.findings);
    if (r.object) objects.push(r.object);
  }
  return { objects, findings };
}

/**
 * Reads `paths`. Rejects only for I/O problems (`WEFT_ERR_CONFIG_IO`: a missing path or an
 * unreadable file); every problem in the content is a finding.
 */
export async function readConfig(paths: readonly string[], defaultNamespace: string, cache?: ReadCache): Promise<ReadResult> {
  const files = await listConfigFiles(paths);
  const findings: Finding[] = [];
  const objects: AnyConfigObject[] = [];
  const seen = new Map<string, AnyConfigObject>();
  for (const file of files) {
    const src = await readSourceFile(file);
    if ('finding' in src) {
      findings.push(src.finding);
      cache?.delete(file);
      continue;
    }
    const hash = createHash('sha256').update(src.bytes).digest('hex');
    let entry = cache?.get(file);
    if (!entry || entry.hash !== hash || entry.defaultNamespace !== defaultNamespace) {
      entry = { hash, defaultNamespace, ...(await parseFile(src.shown, src.bytes, defaultNamespace)) };
      cache?.set(file, entry);
    }
    findings.push(...entry.findings);
    for (const obj of entry.objects) {
      const key = resourceName(obj);
      const first = seen.get(key);
      if (first) {
        findings.push(
          makeFinding('error', FindingCode.duplicateResource, `is defined twice: also at ${first.source.file}:${first.source.line}:${first.source.column}`, {
            resource: key,
            field: 'metadata.name',
            position: locate(obj, ['metadata', 'name']),
          }),
        );
        continue;
      }
      seen.set(key, obj);
      objects.push(obj);
    }
  }
  if (cache) for (const file of [...cache.keys()]) if (!files.includes(file)) cache.delete(file);
  return { objects, findings, files };
}

/** Objects of one kind, typed by the caller. */
export function ofKind<T>(objects: readonly AnyConfigObject[], kind: ConfigKind): T[] {
  return objects.filter((o) => o.kind === kind) as unknown as T[];
}
