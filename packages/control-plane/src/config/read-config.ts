/**
 * One pass over the config on disk: read every file, parse every document into a config object,
 * reject duplicates, and group the objects by kind. Pure with respect to the model (it builds
 * nothing that is published); the config store and `weft validate` both start here.
 */
import type { ConfigKind, Finding } from '../model/mesh-model.ts';
import { FindingCode, makeFinding } from './finding.ts';
import { locate, parseResource, resourceName, type AnyConfigObject } from './resource-parse.ts';
import { loadSources } from './yaml-source.ts';

/** The parsed config: objects in input order (files sorted, documents in file order) and findings. */
export interface ReadResult {
  objects: AnyConfigObject[];
  findings: Finding[];
  /** The files read, for watching. */
  files: string[];
}

/**
 * Reads `paths`. Rejects only for I/O problems (`WEFT_ERR_CONFIG_IO`: a missing path or an
 * unreadable file); every problem in the content is a finding.
 */
export async function readConfig(paths: readonly string[], defaultNamespace: string): Promise<ReadResult> {
  const loaded = await loadSources(paths);
  const findings = [...loaded.findings];
  const objects: AnyConfigObject[] = [];
  const seen = new Map<string, AnyConfigObject>();
  for (const doc of loaded.documents) {
    const parsed = await parseResource(doc, defaultNamespace);
    findings.push(...parsed.findings);
    const obj = parsed.object;
    if (!obj) continue;
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
  return { objects, findings, files: loaded.files };
}

/** Objects of one kind, typed by the caller. */
export function ofKind<T>(objects: readonly AnyConfigObject[], kind: ConfigKind): T[] {
  return objects.filter((o) => o.kind === kind) as unknown as T[];
}
