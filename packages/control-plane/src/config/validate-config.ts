/**
 * `weft validate` as a function: read, parse, analyse, and return every finding plus the model
 * the config would produce when it has no errors. No registry: workloads that register
 * themselves at runtime are unknown here, which is why unknown hosts are warnings.
 */
import type { Finding, MeshModel } from '../model/mesh-model.ts';
import { buildCandidate, publishModel } from '../model/build-model.ts';
import { hasErrors } from './finding.ts';
import { readConfig } from './read-config.ts';

/** Options of {@link validateConfig}. */
export interface ValidateConfigOptions {
  /** Namespace of objects that do not set `metadata.namespace`; default `default`. */
  defaultNamespace?: string;
  /** DNS suffix for short names; default `svc.cluster.local`. */
  domainSuffix?: string;
}

/**
 * Validates the config under `paths` (files or directories, recursively). Resolves to every
 * finding, sorted by file and position, and — when there is no error — the model generation 1
 * it would publish. Rejects with `WEFT_ERR_CONFIG_IO` when a path is missing or unreadable.
 */
export async function validateConfig(paths: string[], options: ValidateConfigOptions = {}): Promise<{ findings: Finding[]; model?: MeshModel }> {
  const read = await readConfig(paths, options.defaultNamespace ?? 'default');
  const candidate = buildCandidate(read.objects, read.findings, [], {
    rootNamespace: 'istio-system',
    trustDomain: 'cluster.local',
    domainSuffix: options.domainSuffix ?? 'svc.cluster.local',
  });
  if (hasErrors(candidate.findings)) return { findings: candidate.findings };
  return { findings: candidate.findings, model: publishModel(candidate, 1) };
}
