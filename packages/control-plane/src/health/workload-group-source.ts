/**
 * Reads the WorkloadGroups with a probe from the config paths (the same files the config store
 * watches). Other documents are skipped; a file that cannot be read or parsed, and a bad
 * WorkloadGroup, become `problems` (the config store reports YAML errors itself). A reader
 * re-parses only files whose size or mtime changed since its last read, so polling is cheap.
 */
import { readFile, stat } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { isMeshError } from '@weft/xds-client';
import { listConfigFiles } from '../config/yaml-source.ts';
import { parseWorkloadGroup, type WorkloadGroupProbe } from './workload-group.ts';

/** Groups found and what went wrong. */
export interface WorkloadGroupRead {
  groups: WorkloadGroupProbe[];
  problems: string[];
}

interface FileRead {
  stamp: string;
  groups: WorkloadGroupProbe[];
  problems: string[];
}

function parseFile(file: string, text: string, defaultNamespace: string): Omit<FileRead, 'stamp'> {
  const groups: WorkloadGroupProbe[] = [];
  const problems: string[] = [];
  if (!text.includes('WorkloadGroup')) return { groups, problems };
  for (const doc of parseAllDocuments(text)) {
    if ('errors' in doc && doc.errors.length > 0) continue; // the config store reports YAML errors
    try {
      const g = parseWorkloadGroup(doc.toJS(), defaultNamespace);
      if (g) groups.push(g);
    } catch (err) {
      problems.push(`${file}: ${isMeshError(err) ? err.message : String(err)}`);
    }
  }
  return { groups, problems };
}

/** Creates a caching reader over `paths`; each call never rejects. */
export function createWorkloadGroupReader(paths: readonly string[], defaultNamespace = 'default'): () => Promise<WorkloadGroupRead> {
  const cache = new Map<string, FileRead>();
  return async () => {
    let files: string[];
    try {
      files = await listConfigFiles(paths);
    } catch (err) {
      return { groups: [], problems: [err instanceof Error ? err.message : String(err)] };
    }
    const out: WorkloadGroupRead = { groups: [], problems: [] };
    const seen = new Set<string>();
    for (const file of files) {
      seen.add(file);
      let entry: FileRead | undefined;
      try {
        const st = await stat(file);
        const stamp = `${st.size}:${st.mtimeMs}`;
        entry = cache.get(file);
        if (entry?.stamp !== stamp) {
          entry = { stamp, ...parseFile(file, await readFile(file, 'utf8'), defaultNamespace) };
          cache.set(file, entry);
        }
      } catch (err) {
        cache.delete(file);
        out.problems.push(`${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        continue;
      }
      out.groups.push(...entry.groups);
      out.problems.push(...entry.problems);
    }
    for (const file of [...cache.keys()]) if (!seen.has(file)) cache.delete(file);
    return out;
  };
}

/** Reads once (no cache kept). */
export function readWorkloadGroups(paths: readonly string[], defaultNamespace = 'default'): Promise<WorkloadGroupRead> {
  return createWorkloadGroupReader(paths, defaultNamespace)();
}
