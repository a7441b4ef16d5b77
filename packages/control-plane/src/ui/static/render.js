// DOM helpers for the Weft mesh view. Everything from the server is put on the page as text
// (textContent / createTextNode), never parsed as HTML.

/** Creates an element; `attrs` are set as attributes (class via "class"), children as text or nodes. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return node;
}

/** Replaces the children of `parent` with `children`. */
export function fill(parent, children) {
  parent.replaceChildren(...children);
}

/** Shows `emptyNote` only when `count` is 0. */
export function toggleEmpty(emptyNote, count) {
  emptyNote.hidden = count > 0;
}

/** `{a: 1}` → `a=1` style compact text of a JSON value, bounded in length. */
export function compact(value, max = 240) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Short display name of a service FQDN (`catalog.shop.svc.cluster.local` → `catalog.shop`). */
export function shortHost(host) {
  const m = /^([^.]+\.[^.]+)\.svc\./.exec(host);
  return m ? m[1] : host;
}

export function fmtRate(rps) {
  return rps >= 10 ? rps.toFixed(0) : rps.toFixed(1);
}

export function fmtPercent(ratio) {
  return `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.1 ? 1 : 0)}%`;
}
