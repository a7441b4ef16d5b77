/**
 * The undici connector of an endpoint whose cluster requires TLS (Istio `ISTIO_MUTUAL` or
 * auto mTLS, `MUTUAL`, `SIMPLE`). Each new connection reads the credentials current at that
 * moment (so a rotated certificate is used by the next connection while open ones finish their
 * requests), verifies the server's chain with the provider's roots and its identity with
 * core's `checkPeer` (SPIFFE ID against the cluster's subject alt names).
 *
 * Failures are `MeshError`s with flag `UF` (upstream connection failure): no certificate yet
 * (`WEFT_ERR_CERT_UNAVAILABLE`), a server certificate that fails the chain or identity check
 * (`WEFT_ERR_CERT_INVALID` / `WEFT_ERR_UNAUTHORIZED`), or any other handshake error
 * (`WEFT_ERR_UPSTREAM_RESET`). Plain TCP errors (refused, unreachable) are passed through as
 * undici reports them, so retries and outlier detection see them as connect failures.
 */
import { connect as tlsConnect, type SecureContext, type TLSSocket } from 'node:tls';
import { isIP, type Socket } from 'node:net';
import type { buildConnector } from 'undici';
import { upstreamSecureContext } from '@weft/core';
import type { UpstreamTlsRequirement } from '@weft/core';
import { ErrorCode, MeshError, isMeshError } from '@weft/xds-client';

/** Options of {@link createTlsConnector}. */
export interface TlsConnectorOptions {
  readonly requirement: UpstreamTlsRequirement;
  /** SNI when the cluster gives none (the request's host name; IP addresses send none). */
  readonly servername: string;
  readonly connectTimeoutMs: number;
  /** Offer `h2` by ALPN (cluster upstream protocol HTTP/2). */
  readonly isH2: boolean;
}

const TCP_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'ECONNRESET', 'EPIPE']);
function failure(err: unknown, host: string, mode: string): Error {
  if (isMeshError(err)) {
    return err.responseFlag === 'UF' ? err : new MeshError(err.code, `${mode} connection to ${host} failed: ${err.message}`, { responseFlag: 'UF', cause: err, details: { host, ...err.details } });
  }
  const code = (err as { code?: string }).code;
  if (code !== undefined && TCP_CODES.has(code)) return err as Error;
  const isCert = code !== undefined && /CERT|VERIFY|SELF_SIGNED|ISSUER/.test(code);
  return new MeshError(isCert ? ErrorCode.certInvalid : ErrorCode.upstreamReset, `${mode} handshake with ${host} failed: ${(err as Error).message}`, {
    responseFlag: 'UF',
    cause: err,
    details: { host, tlsCode: code },
  });
}

/** Creates the connector; see the module comment. */
export function createTlsConnector(options: TlsConnectorOptions): buildConnector.connector {
  const { requirement, connectTimeoutMs } = options;
  const sni = requirement.sni ?? (isIP(options.servername) ? undefined : options.servername);
  // The cluster's own ALPN (Istio's `istio-peer-exchange`, `istio`) plus the HTTP protocols: an
  // HTTP/2 cluster must be able to negotiate `h2`, or the server falls back to HTTP/1.1.
  const http = options.isH2 ? ['h2', 'http/1.1'] : ['http/1.1'];
  const alpn = [...new Set([...requirement.alpnProtocols, ...http])];
  return (opts, callback) => {
    const host = `${opts.hostname}:${opts.port}`;
    let secureContext: SecureContext | undefined;
    try {
      secureContext = upstreamSecureContext(requirement, host);
    } catch (err) {
      queueMicrotask(() => callback(failure(err, host, requirement.mode), null));
      return;
    }
    let isDone = false;
    const socket: TLSSocket = tlsConnect({
      host: opts.hostname,
      port: Number(opts.port),
      ...(sni !== undefined ? { servername: sni } : {}),
      ...(secureContext !== undefined ? { secureContext } : {}),
      ALPNProtocols: alpn,
      rejectUnauthorized: true,
      checkServerIdentity: (_name, cert) => requirement.checkPeer(cert),
    });
    const finish = (err: Error | null): void => {
      if (isDone) return;
      isDone = true;
      clearTimeout(timer);
      socket.removeListener('secureConnect', onSecure);
      socket.removeListener('error', onError);
      if (err !== null) {
        socket.destroy();
        callback(err, null);
      } else {
        callback(null, socket as unknown as Socket);
      }
    };
    const onSecure = (): void => finish(null);
    const onError = (err: Error): void => finish(failure(err, host, requirement.mode));
    const timer = setTimeout(() => {
      const err = Object.assign(new Error(`connect timeout to ${host} after ${connectTimeoutMs} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' });
      finish(err);
    }, connectTimeoutMs);
    timer.unref();
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    socket.once('secureConnect', onSecure);
    socket.once('error', onError);
  };
}
