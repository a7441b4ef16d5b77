/**
 * `POST /ca/token` on the control plane's admin port: mints a join token for
 * `weft token create --admin URL`. Request body JSON `{ "namespace", "serviceAccount",
 * "ttl"? }` (`ttl` a duration such as `1h`); answer `200 { token, spiffeId, expiresAt }`.
 * Only loopback callers are served (403 otherwise): whoever can reach this endpoint can mint any
 * identity, so it must never be exposed even when the admin port is.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isMeshError } from '@weft/xds-client';
import type { CertificateAuthority } from './certificate-authority.ts';
import { parseDurationMs } from './duration.ts';

/** The path the admin server mounts the handler on. */
export const TOKEN_ADMIN_PATH = '/ca/token';

/** Options of {@link createTokenAdminHandler}. */
export interface TokenAdminHandlerOptions {
  /** Largest TTL a caller may ask for; 30 days by default. */
  maxTokenTtlMs?: number;
}

const MAX_BODY_BYTES = 16 * 1024;

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * Returns the `(req, res)` handler for {@link TOKEN_ADMIN_PATH}. It answers 405 to other
 * methods, 403 to non-loopback peers, 400 `{ error: { code, message } }` to bad input
 * (`WEFT_ERR_USAGE` naming the field), 413 to bodies over 16 KiB.
 */
export function createTokenAdminHandler(ca: CertificateAuthority, options: TokenAdminHandlerOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const maxTtlMs = options.maxTokenTtlMs ?? 30 * 86_400_000;
  return (req, res) => {
    if (!isLoopback(req.socket.remoteAddress)) {
      reply(res, 403, { error: { code: 'WEFT_ERR_UNAUTHORIZED', message: `${TOKEN_ADMIN_PATH} serves loopback callers only` } });
      req.resume();
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      reply(res, 405, { error: { code: 'WEFT_ERR_USAGE', message: `${TOKEN_ADMIN_PATH} accepts POST only` } });
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let isTooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) isTooLarge = true;
      else chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (isTooLarge) {
        reply(res, 413, { error: { code: 'WEFT_ERR_USAGE', message: `request body over ${MAX_BODY_BYTES} bytes` } });
        return;
      }
      try {
        let body: { namespace?: unknown; serviceAccount?: unknown; ttl?: unknown };
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as typeof body;
        } catch {
          reply(res, 400, { error: { code: 'WEFT_ERR_USAGE', message: 'body must be JSON {"namespace","serviceAccount","ttl"?}' } });
          return;
        }
        if (typeof body.namespace !== 'string' || typeof body.serviceAccount !== 'string') {
          reply(res, 400, { error: { code: 'WEFT_ERR_USAGE', message: 'namespace and serviceAccount are required strings' } });
          return;
        }
        const ttlMs = body.ttl === undefined ? undefined : parseDurationMs(String(body.ttl), 'ttl');
        if (ttlMs !== undefined && ttlMs > maxTtlMs) {
          reply(res, 400, { error: { code: 'WEFT_ERR_USAGE', message: `ttl ${String(body.ttl)} exceeds the maximum of ${maxTtlMs / 86_400_000} days` } });
          return;
        }
        const minted = ca.createJoinToken({ namespace: body.namespace, serviceAccount: body.serviceAccount, ...(ttlMs ? { ttlMs } : {}) });
        reply(res, 200, { token: minted.token, spiffeId: minted.spiffeId, expiresAt: new Date(minted.expiresAtMs).toISOString() });
      } catch (err) {
        const code = isMeshError(err) ? err.code : 'WEFT_ERR_USAGE';
        reply(res, isMeshError(err) && err.code === 'WEFT_ERR_USAGE' ? 400 : 500, { error: { code, message: (err as Error).message } });
      }
    });
  };
}
