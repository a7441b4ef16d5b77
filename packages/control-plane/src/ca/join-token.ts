/**
 * Join tokens: what entitles a workload to its first certificate.
 *
 * Format: `weft1.<payload>.<mac>` where `payload` is base64url JSON
 * `{ td, ns, sa, iat, exp, jti }` (seconds since the epoch) and `mac` is base64url
 * HMAC-SHA256 over `weft1.<payload>` with a 256-bit key that lives in the CA directory
 * (`token-key`, mode 0600). Only the CA both mints and checks tokens, so a symmetric MAC is
 * enough; a token cannot be altered to name another identity or to live longer without the key.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MeshError } from '@weft/xds-client';
import { formatSpiffeId, type WorkloadSpiffeId } from './spiffe-id.ts';

const PREFIX = 'weft1';

/** What a verified token entitles its bearer to. */
export interface JoinTokenClaims extends WorkloadSpiffeId {
  /** The SPIFFE ID the token is bound to. */
  spiffeId: string;
  /** Issue time, ms since the epoch. */
  issuedAtMs: number;
  /** Expiry, ms since the epoch. */
  expiresAtMs: number;
  /** Random token id (for logs; never the secret part). */
  tokenId: string;
}

/** Options of {@link mintJoinToken}. */
export interface MintJoinTokenOptions extends WorkloadSpiffeId {
  /** Lifetime in ms. */
  ttlMs: number;
  /** Clock, for tests. */
  nowMs?: number;
}

function mac(key: Buffer, signed: string): Buffer {
  return createHmac('sha256', key).update(signed).digest();
}

/** Mints a token bound to one identity. Throws `WEFT_ERR_USAGE` on an invalid identity or TTL. */
export function mintJoinToken(key: Buffer, options: MintJoinTokenOptions): { token: string; claims: JoinTokenClaims } {
  const spiffeId = formatSpiffeId(options);
  if (!(options.ttlMs >= 1000)) throw new MeshError('WEFT_ERR_USAGE', `token ttl must be at least 1s, got ${options.ttlMs}ms`);
  const now = options.nowMs ?? Date.now();
  const iat = Math.floor(now / 1000);
  const exp = Math.floor((now + options.ttlMs) / 1000);
  const jti = randomBytes(9).toString('base64url');
  const body = { td: options.trustDomain, ns: options.namespace, sa: options.serviceAccount, iat, exp, jti };
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  const signed = `${PREFIX}.${payload}`;
  const token = `${signed}.${mac(key, signed).toString('base64url')}`;
  return {
    token,
    claims: {
      trustDomain: body.td, namespace: body.ns, serviceAccount: body.sa, spiffeId,
      issuedAtMs: iat * 1000, expiresAtMs: exp * 1000, tokenId: jti,
    },
  };
}

/**
 * Verifies a token's MAC, trust domain and time window. Throws a MeshError
 * `WEFT_ERR_UNAUTHORIZED` saying why (malformed, bad signature, expired, not yet valid, other
 * trust domain); never returns claims that were not minted with `key`.
 */
export function verifyJoinToken(key: Buffer, token: string, trustDomain: string, nowMs = Date.now()): JoinTokenClaims {
  const fail = (why: string): never => {
    throw new MeshError('WEFT_ERR_UNAUTHORIZED', `join token rejected: ${why}`);
  };
  const parts = token.trim().split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) fail('malformed (expected weft1.<payload>.<mac>)');
  const [, payload, sig] = parts as [string, string, string];
  const expected = mac(key, `${PREFIX}.${payload}`);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    fail('signature does not match this CA (minted by another CA, or altered)');
  }
  let body: { td?: unknown; ns?: unknown; sa?: unknown; iat?: unknown; exp?: unknown; jti?: unknown };
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof body;
  } catch {
    return fail('payload is not JSON');
  }
  if (typeof body.td !== 'string' || typeof body.ns !== 'string' || typeof body.sa !== 'string' ||
      typeof body.iat !== 'number' || typeof body.exp !== 'number' || typeof body.jti !== 'string') {
    return fail('payload lacks td/ns/sa/iat/exp/jti');
  }
  if (body.td !== trustDomain) fail(`bound to trust domain "${body.td}", this CA serves "${trustDomain}"`);
  const nowS = nowMs / 1000;
  if (nowS >= body.exp) fail(`expired at ${new Date(body.exp * 1000).toISOString()}`);
  if (nowS + 60 < body.iat) fail(`not valid before ${new Date(body.iat * 1000).toISOString()}`);
  const id = { trustDomain: body.td, namespace: body.ns, serviceAccount: body.sa };
  return {
    ...id, spiffeId: formatSpiffeId(id),
    issuedAtMs: body.iat * 1000, expiresAtMs: body.exp * 1000, tokenId: body.jti,
  };
}
