/**
 * Virtual host selection by domain, in Envoy's order:
 * 1. exact domains;
 * 2. suffix wildcards `*.example.com` / `*-bar.example.com`, longest suffix first;
 * 3. prefix wildcards `example.*`, longest prefix first;
 * 4. the catch-all `*`.
 * A wildcard stands for at least one character. Matching is case-insensitive. When nothing
 * matches `host:port`, the same lookup runs once on the host without its port (so a virtual
 * host that lists only `reviews` serves `reviews:9080`, like Envoy's port stripping).
 */

interface Wildcard<T> {
  readonly fix: string;
  readonly value: T;
}

/** An immutable index from domain patterns to values (virtual hosts). */
export class DomainMatcher<T> {
  readonly #exact = new Map<string, T>();
  readonly #suffixes: Wildcard<T>[] = [];
  readonly #prefixes: Wildcard<T>[] = [];
  #catchAll: T | undefined;

  /**
   * Builds the index. When two virtual hosts list the same domain, the first wins (Envoy rejects
   * such a config; xds-client validation reports it, core does not fail on it).
   */
  constructor(entries: Iterable<readonly [domains: readonly string[], value: T]>) {
    for (const [domains, value] of entries) {
      for (const raw of domains) {
        const d = raw.toLowerCase();
        if (d === '*') this.#catchAll ??= value;
        else if (d.startsWith('*')) this.#suffixes.push({ fix: d.slice(1), value });
        else if (d.endsWith('*')) this.#prefixes.push({ fix: d.slice(0, -1), value });
        else if (!this.#exact.has(d)) this.#exact.set(d, value);
      }
    }
    // Stable sorts: equal lengths keep config order.
    this.#suffixes.sort((a, b) => b.fix.length - a.fix.length);
    this.#prefixes.sort((a, b) => b.fix.length - a.fix.length);
  }

  /** The value for `authority` (`host` or `host:port`), or `undefined`. */
  match(authority: string): T | undefined {
    const host = authority.toLowerCase();
    const found = this.#matchHost(host);
    if (found !== undefined) return found;
    const portless = stripPort(host);
    if (portless !== host) {
      const again = this.#matchHost(portless);
      if (again !== undefined) return again;
    }
    return this.#catchAll;
  }

  #matchHost(host: string): T | undefined {
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    for (const w of this.#suffixes) if (host.length > w.fix.length && host.endsWith(w.fix)) return w.value;
    for (const w of this.#prefixes) if (host.length > w.fix.length && host.startsWith(w.fix)) return w.value;
    return undefined;
  }
}

/** `host:port` → `host`; `[v6]:port` → `[v6]`; anything else unchanged. */
export function stripPort(authority: string): string {
  const colon = authority.lastIndexOf(':');
  if (colon < 0) return authority;
  const bracket = authority.lastIndexOf(']');
  if (bracket > colon) return authority;
  if (authority.indexOf(':') !== colon && bracket < 0) return authority; // bare IPv6
  return authority.slice(0, colon);
}
