/**
 * One pass over the config on disk: read every file, parse every document into a config object,
 * reject duplicates, and group the objects by kind. Pure with respect to the model (it builds
 * nothing that is published); the config store and `weft validate` both start here.
 *
 * With a {@link ReadCache}, a file whose bytes did not change since the last pass is not parsed
 * again: its objects and findings are reused (they are immutable once published). Inside a
 * changed file, each document whose text and starting line are unchanged is reused too, so an
 * edit to one document of a large multi-document file costs that document's YAML parse and
 * schema check, not the file's.
 */
import { createHash } from 'node:crypto';
import type { ConfigKind, Finding } from '../model/mesh-model.ts';
import { FindingCode, makeFinding } from './finding.ts';
import { locate, parseResource, resourceName, type AnyConfigObject } from './resource-parse.ts';
import { splitDocuments } from './document-split.ts';
import { decodeSource, emptyFileFinding, listConfigFiles, parseDocumentText, readSourceFile } from './yaml-source.ts';

/** The parsed config: objects in input order (files sorted, documents in file order) and findings. */
export interface ReadResult {
  objects: AnyConfigObject[];
  findings: Finding[];
  /** The files read, for watching. */
  files: string[];
}

/** Objects and findings parsed from one piece of a file (see document-split.ts). */
interface PieceResult {
  objects: AnyConfigObject[];
  findings: Finding[];
  nextIndex: number;
  /** YAML documents with content (0 for comment-only pieces). */
  documentCount: number;
}

interface FileEntry {
  hash: string;
  defaultNamespace: string;
  objects: AnyConfigObject[];
  findings: Finding[];
  /** Per piece, keyed by `<first index>:<start line>:<text>`. */
  pieces: Map<string, PieceResult>;
}

/** Per-file results of earlier passes, keyed by path; owned by one config store. */
export type ReadCache = Map<string, FileEntry>;

/** An empty {@link ReadCache}. */
export function createReadCache(): ReadCache {
  return new Map();
}

async function parseFile(shown: string, bytes: Uint8Array, defaultNamespace: string, previous: FileEntry | undefined): Promise<Omit<FileEntry, 'hash'>> {
  const decoded = decodeSource(shown, bytes);
  if ('finding' in decoded) return { defaultNamespace, objects: [], findings: [decoded.finding], pieces: new Map() };
  const reusable = previous?.defaultNamespace === defaultNamespace ? previous.pieces : undefined;
  const pieces = new Map<string, PieceResult>();
  const objects: AnyConfigObject[] = [];
  const findings: Finding[] = [];
  let index = 0;
  let documentCount = 0;
  for (const piece of splitDocuments(decoded.text)) {
    const key = `${index}:${piece.line}:${piece.text}`;
    let result = reusable?.get(key) ?? pieces.get(key);
    if (!result) {
      const parsed = parseDocumentText(shown, piece, index);
      result = { objects: [], findings: [...parsed.findings], nextIndex: parsed.nextIndex, documentCount: parsed.documents.length };
      for (const doc of parsed.documents) {
        const r = await parseResource(doc, defaultNamespace);
        result.findings.push(...r.findings);
        if (r.object) result.objects.push(r.object);
      }
    }
    pieces.set(key, result);
    objects.push(...result.objects);
    findings.push(...result.findings);
    documentCount += result.documentCount;
    index = result.nextIndex;
  }
  if (documentCount === 0 && findings.length === 0) findings.push(emptyFileFinding(shown));
  return { defaultNamespace, objects, findings, pieces };
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
      entry = { hash, ...(await parseFile(src.shown, src.bytes, defaultNamespace, entry)) };
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
