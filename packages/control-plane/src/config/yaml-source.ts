/**
 * Reading Istio YAML from disk: files and directories (recursively), multi-document streams,
 * and a locator that maps a field path back to the `line:column` where it was written.
 *
 * Nothing here knows about Istio kinds; it turns bytes into plain JS documents plus findings
 * for what could not be read (missing path → MeshError, syntax error / binary → findings).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative, isAbsolute } from 'node:path';
import { LineCounter, parseAllDocuments, isMap, isSeq, isPair, isScalar, type Node } from 'yaml';
import { MeshError } from '@weft/xds-client';
import type { Finding, SourcePosition } from '../model/mesh-model.ts';
import { FindingCode, makeFinding } from './finding.ts';
import { splitDocuments, type DocumentText } from './document-split.ts';

/** Largest file read, in bytes; larger files are reported, not parsed (keeps memory bounded). */
export const maxFileBytes = 64 * 1024 * 1024;

/** Extensions picked up when a directory is walked (explicit file paths are read whatever their name). */
const yamlExtensions = ['.yaml', '.yml'];

/** One YAML document of a file, as plain data plus a way back to its source positions. */
export interface SourceDocument {
  /** File path as reported in findings. */
  file: string;
  /** 0-based index of the document in its file. */
  index: number;
  /** The document as plain JS (objects, arrays, scalars). */
  value: unknown;
  /** Position of the document's first content. */
  position: SourcePosition;
  /**
   * Position of the field at `path` (key of a map entry, or the item of a sequence); when the
   * path does not exist, the position of its deepest existing ancestor.
   */
  locate(path: readonly (string | number)[]): SourcePosition;
}

/** Result of reading a set of paths: the documents and the file-level findings. */
export interface LoadedSources {
  documents: SourceDocument[];
  findings: Finding[];
  /** Every file that was read (for watching). */
  files: string[];
}

/**
 * Expands `paths` (files or directories, walked recursively for `*.yaml`/`*.yml`, hidden entries
 * skipped) into a sorted list of files. Rejects with `WEFT_ERR_CONFIG_IO` naming the path when
 * one does not exist or cannot be read.
 */
export async function listConfigFiles(paths: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch (err) {
      throw new MeshError('WEFT_ERR_CONFIG_IO', `config path ${p} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
        cause: err,
        details: { path: p },
      });
    }
    if (st.isDirectory()) await walk(p, out, 0);
    else out.add(p);
  }
  return [...out].sort();
}

async function walk(dir: string, out: Set<string>, depth: number): Promise<void> {
  if (depth > 32) return; // bounded: symlink loops or absurd nesting
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) await walk(full, out, depth + 1);
    else if ((e.isFile() || e.isSymbolicLink()) && yamlExtensions.some((x) => e.name.endsWith(x))) out.add(full);
  }
}

/** Shortens an absolute path to one relative to the working directory when that is shorter. */
function displayPath(file: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(process.cwd(), file);
  return rel.length < file.length && !rel.startsWith('..') ? rel : file;
}

/** One file's raw content, or the finding that says why it was not read. */
export type SourceFile = { file: string; shown: string; bytes: Buffer } | { file: string; shown: string; finding: Finding };

/**
 * Reads one file. Files over {@link maxFileBytes} give a finding instead of content; a file that
 * cannot be read at all rejects with `WEFT_ERR_CONFIG_IO` naming it.
 */
export async function readSourceFile(file: string): Promise<SourceFile> {
  const shown = displayPath(file);
  try {
    const st = await stat(file);
    if (st.size > maxFileBytes) {
      return { file, shown, finding: makeFinding('error', FindingCode.unreadableFile, `file is ${st.size} bytes, larger than the ${maxFileBytes}-byte limit`, { position: { file: shown, line: 1, column: 1 } }) };
    }
    return { file, shown, bytes: await readFile(file) };
  } catch (err) {
    throw new MeshError('WEFT_ERR_CONFIG_IO', `config file ${shown} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      cause: err,
      details: { path: file },
    });
  }
}

/** Reads every file under `paths` and parses its documents; see {@link LoadedSources}. */
export async function loadSources(paths: readonly string[]): Promise<LoadedSources> {
  const files = await listConfigFiles(paths);
  const documents: SourceDocument[] = [];
  const findings: Finding[] = [];
  for (const file of files) {
    const src = await readSourceFile(file);
    if ('finding' in src) {
      findings.push(src.finding);
      continue;
    }
    const parsed = parseSource(src.shown, src.bytes);
    documents.push(...parsed.documents);
    findings.push(...parsed.findings);
  }
  return { documents, findings, files };
}

/**
 * Decodes one file's bytes to text. Binary content (NUL bytes or invalid UTF-8) gives a finding
 * with the position of the problem instead.
 */
export function decodeSource(file: string, bytes: Uint8Array): { text: string } | { finding: Finding } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { finding: makeFinding('error', FindingCode.unreadableFile, 'file is not UTF-8 text (binary content?)', { position: { file, line: 1, column: 1 } }) };
  }
  const nul = text.indexOf('\u0000');
  if (nul !== -1) {
    const before = text.slice(0, nul);
    const line = before.split('\n').length;
    return { finding: makeFinding('error', FindingCode.unreadableFile, 'file contains NUL bytes (binary content?)', { position: { file, line, column: nul - before.lastIndexOf('\n') } }) };
  }
  return { text };
}

/**
 * Parses one piece of a stream (see {@link splitDocuments}): YAML syntax errors become findings,
 * positions are those of the whole file (`piece.line` is where the piece starts). `firstIndex`
 * is the index in the file of the piece's first document; `nextIndex` that of the next piece.
 */
export function parseDocumentText(file: string, piece: DocumentText, firstIndex: number): { documents: SourceDocument[]; findings: Finding[]; nextIndex: number } {
  const findings: Finding[] = [];
  const documents: SourceDocument[] = [];
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(piece.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const lineOffset = piece.line - 1;
  const pos = (offset: number): SourcePosition => {
    const lp = lineCounter.linePos(offset);
    return { file, line: lp.line + lineOffset, column: lp.col };
  };
  let index = firstIndex - 1;
  for (const doc of list) {
    index++;
    if (doc.errors.length > 0) {
      for (const e of doc.errors.slice(0, 5)) {
        const msg = e.message.split('\n')[0] ?? e.message;
        findings.push(makeFinding('error', FindingCode.yamlSyntax, `YAML ${e.code}: ${msg.replace(/ at line \d+, column \d+:?$/, '')}`, { position: pos(e.pos[0]) }));
      }
      continue;
    }
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && (contents.value === null || contents.value === undefined))) continue;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      findings.push(makeFinding('error', FindingCode.yamlSyntax, `YAML: ${err instanceof Error ? err.message : String(err)}`, { position: pos(contents.range?.[0] ?? 0) }));
      continue;
    }
    const root = contents as Node;
    const position = pos(root.range?.[0] ?? 0);
    documents.push({
      file,
      index,
      value,
      position,
      locate: (path) => locateNode(root, path, pos, position),
    });
  }
  return { documents, findings, nextIndex: Math.max(index + 1, firstIndex + 1) };
}

/** The info finding for a file that holds no documents at all. */
export function emptyFileFinding(file: string): Finding {
  return makeFinding('info', FindingCode.emptyFile, 'file holds no YAML documents', { position: { file, line: 1, column: 1 } });
}

/**
 * Parses one file's bytes. Binary content (NUL bytes or invalid UTF-8) and YAML syntax errors
 * become findings with the position of the problem; documents that parse are returned even when
 * a sibling document in the same file does not.
 */
export function parseSource(file: string, bytes: Uint8Array): { documents: SourceDocument[]; findings: Finding[] } {
  const decoded = decodeSource(file, bytes);
  if ('finding' in decoded) return { documents: [], findings: [decoded.finding] };
  const findings: Finding[] = [];
  const documents: SourceDocument[] = [];
  let index = 0;
  for (const piece of splitDocuments(decoded.text)) {
    const parsed = parseDocumentText(file, piece, index);
    index = parsed.nextIndex;
    documents.push(...parsed.documents);
    findings.push(...parsed.findings);
  }
  if (documents.length === 0 && findings.length === 0) findings.push(emptyFileFinding(file));
  return { documents, findings };
}

function locateNode(
  root: Node,
  path: readonly (string | number)[],
  pos: (offset: number) => SourcePosition,
  fallback: SourcePosition,
): SourcePosition {
  let node: unknown = root;
  let best = fallback;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return best;
      const key = pair.key as Node;
      if (key.range) best = pos(key.range[0]);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) return best;
      if (item.range) best = pos(item.range[0]);
      node = item;
    } else {
      return best;
    }
  }
  return best;
}
