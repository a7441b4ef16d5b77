/**
 * mTLS termination on a plain `http.Server`, so the application keeps calling
 * `http.createServer()` and the mesh decides per connection what the port's PeerAuthentication
 * allows:
 *
 * - the server's `connection` listeners are taken over (public EventEmitter API; `unwrap()`
 *   restores them); each new socket's first bytes are looked at: `0x16` starts a TLS ClientHello;
 * - a TLS connection is handed to a `tls.Server` (never listening; one per certificate
 *   generation, built from the workload identity or a bootstrap `file_watcher` instance) that
 *   requires and verifies a client certificate against the mesh roots and negotiates ALPN for
 *   the wrapped server's protocol (`h2` for a `node:http2` server); after the handshake the
 *   TLS socket goes to the http server's own connection listener, so `req.socket` is a
 *   `TLSSocket` (`getPeerCertificate()` works) and {@link peerPrincipalOf} gives the SPIFFE ID;
 * - a plaintext connection is served as before when the port is PERMISSIVE (or DISABLE, or has
 *   no policy yet), and reset under STRICT (reported as `WEFT_ERR_MTLS_REQUIRED`).
 *
 * New connections use the certificate current at their handshake; connections already open
 * keep theirs, so a rotation drops nothing.
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { createServer as createTlsServer, TLSSocket, type Server as TlsServer } from 'node:tls';
import { createMtlsRequiredError, spiffeUrisOf, type CertificateProviders, type InboundPolicy, type TlsCredentials } from '@weft/core';
import { ErrorCode, MeshError } from '@weft/xds-client';

const TLS_HANDSHAKE = 0x16;
/** How long a new connection may stay silent before its first byte (Envoy's listener filter timeout is 15 s). */
const SNIFF_TIMEOUT_MS = 15_000;

/** Options of {@link terminateTls}. */
export interface TlsTerminationOptions {
  /** The policy in force now (read per connection); undefined = no policy (plaintext as today). */
  readonly policy: () => InboundPolicy | undefined;
  /** Resolves the chain's certificate provider instances (`Mesh.certificateProviders`). */
  readonly certificateProviders: CertificateProviders;
  /** The served port, for error messages. */
  readonly port: number;
  /** Told about refused connections and failed handshakes (for logs); never throws through. */
  readonly onError?: (error: MeshError) => void;
}

/** Handle of {@link terminateTls}. */
export interface TlsTerminationHandle {
  /** Restores the server's original connection listeners. Idempotent. */
  unwrap(): void;
}

const principals = new WeakMap<object, string | null>();

/**
 * The authenticated peer of a request's connection: the SPIFFE ID (URI SAN) of the verified
 * client certificate, else its subject CN; undefined on plaintext connections.
 */
export function peerPrincipalOf(socket: Socket | TLSSocket): string | undefined {
  let p = principals.get(socket);
  if (p === undefined) {
    p = null;
    if (socket instanceof TLSSocket && socket.authorized) {
      const cert = socket.getPeerCertificate();
      if (cert !== null && cert.raw !== undefined) {
        const cn = cert.subject?.CN;
        p = spiffeUrisOf(cert)[0] ?? (typeof cn === 'string' ? cn : null);
      }
    }
    principals.set(socket, p);
  }
  return p ?? undefined;
}

const TAKEN = Symbol.for('weft.http.tlsTermination');

/**
 * What the TLS side negotiates for the wrapped server: `h2` first for a `node:http2` server (a
 * decrypted socket that negotiated nothing counts as HTTP/1.1 there and is dropped unless the
 * server allows HTTP/1), `http/1.1` for the others. `node:http2` does not export its server
 * class, so it is recognised by name.
 */
function alpnProtocolsOf(server: EventEmitter): string[] {
  return isPlainHttp2Server(server) ? ['h2', 'http/1.1'] : ['http/1.1'];
}

/** True for a plaintext (h2c) `node:http2` server (`http2.createServer()`). */
export function isPlainHttp2Server(server: EventEmitter): boolean {
  return server.constructor?.name === 'Http2Server';
}

/** Takes over `server`'s connections; see the module comment. Wrapping twice returns the first handle. */
export function terminateTls(server: EventEmitter, options: TlsTerminationOptions): TlsTerminationHandle {
  const marked = server as EventEmitter & { [TAKEN]?: TlsTerminationHandle };
  if (marked[TAKEN] !== undefined) return marked[TAKEN];
  const originals = server.listeners('connection') as ((socket: Socket) => void)[];
  const report = (error: MeshError): void => {
    try {
      options.onError?.(error);
    } catch {
      // Logging must not break connection handling.
    }
  };
  const serve = (socket: Socket): void => {
    for (const l of originals) l.call(server, socket);
  };
  const alpn = alpnProtocolsOf(server);
  const tlsServers = new WeakMap<TlsCredentials, TlsServer>();
  const tlsServerFor = (creds: TlsCredentials): TlsServer => {
    let s = tlsServers.get(creds);
    if (s === undefined) {
      s = createTlsServer({ key: creds.key, cert: creds.cert, ca: [...creds.ca], requestCert: true, rejectUnauthorized: true, ALPNProtocols: alpn });
      s.on('secureConnection', (tlsSocket: TLSSocket) => serve(tlsSocket));
      s.on('tlsClientError', (err: Error, tlsSocket: TLSSocket) => {
        report(new MeshError(ErrorCode.certInvalid, `mTLS handshake from ${tlsSocket.remoteAddress ?? 'unknown peer'} on port ${options.port} failed: ${err.message}`, { cause: err, details: { port: options.port } }));
      });
      tlsServers.set(creds, s);
    }
    return s;
  };
  const refuse = (socket: Socket, error: MeshError): void => {
    report(error);
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  };
  const onFirstBytes = (socket: Socket, policy: InboundPolicy, chunk: Buffer): void => {
    socket.pause();
    socket.unshift(chunk);
    if (chunk[0] === TLS_HANDSHAKE && policy.tlsChain !== undefined) {
      const instance = policy.tlsChain.tls?.identity.type === 'certificateProvider' ? policy.tlsChain.tls.identity.instanceName : 'default';
      let creds: TlsCredentials | undefined;
      try {
        creds = options.certificateProviders.credentials(instance);
      } catch (err) {
        refuse(socket, err as MeshError);
        return;
      }
      if (creds === undefined || creds.key === undefined) {
        refuse(socket, new MeshError(ErrorCode.certUnavailable, `TLS connection on port ${options.port} refused: no certificate for provider instance "${instance}" yet`, { details: { port: options.port } }));
        return;
      }
      // The TLS socket reads the bytes put back above before anything new from the wire.
      tlsServerFor(creds).emit('connection', socket);
      return;
    }
    if (policy.plaintextChain === undefined) {
      refuse(socket, createMtlsRequiredError(options.port, socket.remoteAddress));
      return;
    }
    serve(socket);
    socket.resume();
  };
  const onConnection = (socket: Socket): void => {
    const policy = options.policy();
    if (policy === undefined || policy.tlsChain === undefined) {
      serve(socket);
      return;
    }
    const onError = (): void => void socket.destroy();
    // A peer that connects and sends nothing is not kept forever while we wait for its first byte.
    socket.setTimeout(SNIFF_TIMEOUT_MS, onError);
    socket.once('error', onError);
    // Nor one that closes before its first byte (a TCP readiness probe): the server is half-open.
    socket.once('end', onError);
    socket.once('data', (chunk: Buffer) => {
      socket.setTimeout(0, onError);
      socket.removeListener('timeout', onError);
      socket.removeListener('error', onError);
      socket.removeListener('end', onError);
      onFirstBytes(socket, policy, chunk);
    });
  };
  for (const l of originals) server.removeListener('connection', l);
  server.on('connection', onConnection);
  let isTaken = true;
  const handle: TlsTerminationHandle = {
    unwrap() {
      if (!isTaken) return;
      isTaken = false;
      server.removeListener('connection', onConnection);
      for (const l of originals) server.on('connection', l);
      delete marked[TAKEN];
    },
  };
  marked[TAKEN] = handle;
  return handle;
}
