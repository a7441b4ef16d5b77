/**
 * Parses undici's `opts.origin` once per distinct origin (a small bounded cache): scheme,
 * host name, port and the authority the mesh is asked about; and whether a host can be
 * meshed at all (IP literals and `localhost` are never service names).
 */

/** A parsed origin. */
export interface ParsedOrigin {
  readonly scheme: 'http:' | 'https:';
  readonly hostname: string;
  readonly port: number;
  /** The scheme's default port (80/443): what an authority without a port means. */
  readonly defaultPort: number;
  /** `host` or `host:port` as the application wrote it (lower-case). */
  readonly authority: string;
  /** False for IP literals and `localhost`: such hosts follow the outbound traffic policy. */
  readonly isMeshable: boolean;
}

const cache = new Map<string, ParsedOrigin | null>();
let lastOrigin: unknown;
let lastParsed: ParsedOrigin | null = null;

/** The parsed origin, or `null` when it is not an http(s) URL. */
export function parseOrigin(origin: unknown): ParsedOrigin | null {
  if (typeof origin === 'string' && origin === lastOrigin) return lastParsed;
  const parsed = lookup(origin);
  lastOrigin = origin;
  lastParsed = parsed;
  return parsed;
}

function lookup(origin: unknown): ParsedOrigin | null {
  const key = typeof origin === 'string' ? origin : origin instanceof URL ? origin.origin : undefined;
  if (key === undefined) return null;
  let parsed = cache.get(key);
  if (parsed !== undefined) return parsed;
  parsed = parse(key);
  if (cache.size >= 4096) cache.clear();
  cache.set(key, parsed);
  return parsed;
}

function parse(text: string): ParsedOrigin | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  const hostname = url.hostname.toLowerCase();
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  const isIp = /^\d+\.\d+\.\d+\.\d+$/.test(bare) || bare.includes(':');
  return {
    scheme: url.protocol,
    hostname,
    port,
    defaultPort: url.protocol === 'https:' ? 443 : 80,
    authority: url.host.toLowerCase(),
    isMeshable: !isIp && hostname !== 'localhost' && !hostname.endsWith('.localhost'),
  };
}
