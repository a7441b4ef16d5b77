/**
 * Reads the WorkloadGroups with a probe from the config paths (the same files the config store
 * watches). Other documents are skipped; a file that cannot be read or parsed, and a bad
 * WorkloadGroup, become `problems` (the config store reports YAML errors itself).
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { isMeshError } from '@weft/xds-client';
import { listConfigFiles } from '../config/yaml-source.ts';
import { parseWorkloadGroup, type WorkloadGroupProbe } from './workload-group.ts';

/** Groups found and what went wrong. */
export interface WorkloadGroupRead {
  groups: WorkloadGroupProbe[];
  problems: string[];
}

/** See the module comment. Never rejects. */
export async function readWorkloadGroups(paths: readonly string[], defaultNamespace = 'default'): Promise<WorkloadGroupRead> {
  const groups: WorkloadGroupProbe[] = [];
  const problems: string[] = [];
  let files: string[];
  try {
    files = await listConfigFiles(paths);
  } catch (err) {
    return { groups, problems: [err instanceof Error ? err.message : String(err)] };
  }
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      problems.push(`${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      continue;
    }
    if (!text.includes('WorkloadGroup')) continue;
    for (const doc of parseAllDocuments(text)) {
      if ('errors' in doc && doc.errors.length > 0) continue; // the config store reports YAML errors
      try {
        const g = parseWorkloadGroup(doc.toJS(), defaultNamespace);
        if (g) groups.push(g);
      } catch (err) {
        problems.push(`${file}: ${isMeshError(err) ? err.message : String(err)}`);
      }
    }
  }
  return { groups, problems };
}
