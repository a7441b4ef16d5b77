/**
 * A minimal DER encoder: just the ASN.1 types a PKCS#10 request needs. Core builds its CSRs
 * with node:crypto and this encoder so it carries no X.509 library.
 */

/** Encodes one TLV with `tag` (a full identifier octet) around `content`. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  const len = content.length;
  let header: number[];
  if (len < 0x80) header = [tag, len];
  else {
    const bytes: number[] = [];
    for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
    header = [tag, 0x80 | bytes.length, ...bytes];
  }
  return Buffer.concat([Buffer.from(header), content]);
}

/** SEQUENCE of already-encoded elements. */
export const sequence = (...items: Uint8Array[]): Buffer => tlv(0x30, Buffer.concat(items));
/** SET of already-encoded elements (callers pass them in DER order). */
export const set = (...items: Uint8Array[]): Buffer => tlv(0x31, Buffer.concat(items));
/** Small non-negative INTEGER. */
export const smallInteger = (n: number): Buffer => tlv(0x02, Buffer.from([n]));
/** NULL. */
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
/** OCTET STRING. */
export const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes);
/** BIT STRING with no unused bits. */
export const bitString = (bytes: Uint8Array): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));
/** BOOLEAN. */
export const boolean = (value: boolean): Buffer => Buffer.from([0x01, 0x01, value ? 0xff : 0x00]);
/** Context-specific tag `n`, constructed when `isConstructed`, around `content`. */
export const contextTag = (n: number, content: Uint8Array, isConstructed: boolean): Buffer =>
  tlv(0x80 | (isConstructed ? 0x20 : 0) | n, content);

/** OBJECT IDENTIFIER from dotted text. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [(arcs[0] as number) * 40 + (arcs[1] as number)];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}
