/**
 * Splitting a multi-document YAML stream into the text of each document, without parsing it, so a
 * re-read can parse only the documents whose text changed (see read-config.ts).
 *
 * In YAML 1.2 a line that starts with `---` followed by white space or the end of the line is
 * always a document start: block scalars end before it and a quoted scalar may not contain it.
 * Directives (`%YAML`, `%TAG`) belong to the document after them; a stream that has any is not
 * split (one piece), which is always correct, only slower.
 */

/** The text of one document of a stream and where it starts. */
export interface DocumentText {
  /** The document's text, from its `---` line (if any) up to the next document start. */
  text: string;
  /** 1-based line of the file on which `text` starts. */
  line: number;
}

const markerOrDirective = /^(?:---(?=[ \t\r\n]|$)|%)/gm;

/** Splits `text` at document starts; the pieces concatenate back to `text` exactly. */
export function splitDocuments(text: string): DocumentText[] {
  const starts: number[] = [];
  markerOrDirective.lastIndex = 0;
  for (let m = markerOrDirective.exec(text); m !== null; m = markerOrDirective.exec(text)) {
    if (m[0] === '%') return [{ text, line: 1 }];
    if (m.index > 0) starts.push(m.index);
  }
  const pieces: DocumentText[] = [];
  let from = 0;
  let line = 1;
  for (const at of [...starts, text.length]) {
    const piece = text.slice(from, at);
    if (piece.length > 0 || pieces.length === 0) pieces.push({ text: piece, line });
    line += countNewlines(piece);
    from = at;
  }
  return pieces;
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}
