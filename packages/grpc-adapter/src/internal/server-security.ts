/**
 * mTLS for meshed grpc-js servers per the port's PeerAuthentication, through grpc-js's public
 * connection injector (`Server.createConnectionInjector`, grpc-js ≥ 1.11): Weft owns the
 * listening socket, looks at each connection's first byte (`0x16` = TLS ClientHello) and injects
 * it into a TLS injector (workload certificate, client certificate required and verified against
 * the mesh roots, rotated in place through a grpc-js certificate provider) or a plaintext one.
 * Under STRICT a plaintext connection is reset (`WEFT_ERR_MTLS_REQUIRED`); PERMISSIVE accepts
 * both; without a policy (or DISABLE) everything is plaintext.
 *
 * Node's plaintext HTTP/2 server ignores bytes already read from a socket (TLS replays them), so
 * a sniffed plaintext connection is handed over through a stream that replays its first bytes;
 * grpc-js then knows no peer address for it (RBAC `ipBlocks` do not match such peers).
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { createMtlsRequiredError, type IdentityMaterial, type InboundPolicy, type WorkloadIdentity } from '@weft/core';
import { ErrorCode, MeshError } from '@weft/xds-client';

type CertificateProvider = grpc.experimental.CertificateProvider;

/** How long a new connection may stay silent before its first byte (Envoy's listener filter timeout). */
const SNIFF_TIMEOUT_MS = 15_000;
type ConnectionInjector = ReturnType<grpc.Server['createConnectionInjector']>;

/** Options of {@link listenWithMeshSecurity}. */
export interface MeshServerSecurityOptions {
  /** The port's inbound policy now (read per connection). */
  readonly policy: () => InboundPolicy | undefined;
  /** The workload identity (certificate of TLS chains). */
  readonly identity: () => WorkloadIdentity | undefined;
  /** Told about refused connections (for logs). */
  readonly onError?: (error: MeshError) => void;
  /**
   * Interceptors for every call on this port's connections, run before the server's own
   * (attached to the injectors' credentials with grpc-js's public
   * `experimental.createServerCredentialsWithInterceptors`); used when the server was constructed
   * without Weft's interceptors (the register hook's bind hook).
   */
  readonly interceptors?: readonly grpc.ServerInterceptor[];
}

/**
 * A grpc-js certificate provider over a workload identity: identity certificate + key, and the
 * trust bundle as CA; each rotation is pushed to the listeners (grpc-js updates the server's
 * secure context in place, open connections keep theirs).
 */
export function identityCertificateProvider(identity: WorkloadIdentity): CertificateProvider {
  const caListeners = new Set<grpc.experimental.CaCertificateUpdateListener>();
  const idListeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();
  // grpc-js registers its watcher only after adding these listeners: updates are delivered on
  // the next turn so the first one is not lost.
  const later = (fn: () => void): void => void process.nextTick(fn);
  const emit = (m: IdentityMaterial): void => {
    const chain = m.certChainPem.length > 1 ? m.certChainPem.slice(0, -1) : m.certChainPem;
    for (const l of caListeners) l({ caCertificate: Buffer.from(m.trustBundlePem.join('')) });
    for (const l of idListeners) l({ certificate: Buffer.from(chain.join('')), privateKey: Buffer.from(m.privateKeyPem) });
  };
  let rotation: { cancel(): void } | undefined;
  const sync = (): void => {
    if (caListeners.size + idListeners.size === 0) {
      rotation?.cancel();
      rotation = undefined;
    } else {
      rotation ??= identity.onRotate(emit);
    }
  };
  const current = (): IdentityMaterial | undefined => identity.current();
  return {
    addCaCertificateListener(l) {
      caListeners.add(l);
      sync();
      later(() => {
        const m = current();
        if (m !== undefined && caListeners.has(l)) l({ caCertificate: Buffer.from(m.trustBundlePem.join('')) });
      });
    },
    removeCaCertificateListener(l) {
      caListeners.delete(l);
      sync();
    },
    addIdentityCertificateListener(l) {
      idListeners.add(l);
      sync();
      later(() => {
        const m = current();
        if (m === undefined || !idListeners.has(l)) return;
        const chain = m.certChainPem.length > 1 ? m.certChainPem.slice(0, -1) : m.certChainPem;
        l({ certificate: Buffer.from(chain.join('')), privateKey: Buffer.from(m.privateKeyPem) });
      });
    },
    removeIdentityCertificateListener(l) {
      idListeners.delete(l);
      sync();
    },
  };
}

function splitAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  if (i < 0) throw new MeshError(ErrorCode.usage, `server address "${address}" has no port`);
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

/** A bound meshed port. */
export interface MeshSecuredPort {
  readonly port: number;
  /** Stops accepting connections (open ones end with the grpc server's shutdown). Idempotent. */
  close(): void;
}

/** Binds `address` and serves it per the policy; see the module comment. */
export async function listenWithMeshSecurity(server: grpc.Server, address: string, options: MeshServerSecurityOptions): Promise<MeshSecuredPort> {
  const { host, port } = splitAddress(address);
  let plain: ConnectionInjector | undefined;
  let secure: { identity: WorkloadIdentity; injector: ConnectionInjector } | undefined;
  const report = (e: MeshError): void => {
    try {
      options.onError?.(e);
    } catch {
      // logging never breaks serving
    }
  };
  const refuse = (socket: Socket, e: MeshError): void => {
    report(e);
    socket.resetAndDestroy();
  };
  const withInterceptors = (credentials: grpc.ServerCredentials): grpc.ServerCredentials =>
    options.interceptors === undefined || options.interceptors.length === 0 ? credentials : grpc.experimental.createServerCredentialsWithInterceptors(credentials, [...options.interceptors]);
  const plainInjector = (): ConnectionInjector => (plain ??= server.createConnectionInjector(withInterceptors(grpc.ServerCredentials.createInsecure())));
  /** The TLS injector of the current identity; `isFresh` when just created (its certificate arrives on the next turn). */
  const secureInjector = (): { injector: ConnectionInjector; isFresh: boolean } | undefined => {
    const identity = options.identity();
    if (identity === undefined || identity.current() === undefined) return undefined;
    if (secure?.identity === identity) return { injector: secure.injector, isFresh: false };
    secure?.injector.drain(30_000);
    const provider = identityCertificateProvider(identity);
    secure = { identity, injector: server.createConnectionInjector(withInterceptors(grpc.experimental.createCertificateProviderServerCredentials(provider, provider, true))) };
    return { injector: secure.injector, isFresh: true };
  };
  const onConnection = (socket: Socket): void => {
    const policy = options.policy();
    if (policy === undefined || policy.tlsChain === undefined) {
      plainInjector().injectConnection(socket);
      return;
    }
    const onSilence = (): void => void socket.destroy();
    socket.setTimeout(SNIFF_TIMEOUT_MS, onSilence); // a peer that never sends its first byte is not kept
    socket.once('error', () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      socket.setTimeout(0);
      socket.removeListener('timeout', onSilence);
      socket.pause();
      socket.unshift(chunk);
      if (chunk[0] === 0x16) {
        const found = secureInjector();
        if (found === undefined) {
          refuse(socket, new MeshError(ErrorCode.certUnavailable, `TLS connection on port ${port} refused: this workload has no certificate yet`, { details: { port } }));
          return;
        }
        if (found.isFresh) setImmediate(() => found.injector.injectConnection(socket));
        else found.injector.injectConnection(socket);
        return;
      }
      if (policy.plaintextChain === undefined) {
        refuse(socket, createMtlsRequiredError(port, socket.remoteAddress));
        return;
      }
      plainInjector().injectConnection(replayFirstBytes(socket));
    });
  };
  secureInjector(); // ready before the first TLS connection when the identity already has a certificate
  const net: NetServer = createNetServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    net.once('error', reject);
    net.listen(port, host, () => {
      net.removeListener('error', reject);
      resolve();
    });
  });
  const bound = (net.address() as { port: number }).port;
  let isClosed = false;
  return {
    port: bound,
    close() {
      if (isClosed) return;
      isClosed = true;
      net.close();
      plain?.drain(1000);
      secure?.injector.drain(1000);
    },
  };
}

/** A stream over `socket` that first yields the bytes already taken from it (put back with unshift). */
function replayFirstBytes(socket: Socket): Duplex {
  const stream = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause();
  });
  socket.once('end', () => stream.push(null));
  socket.once('close', () => stream.destroy());
  socket.once('error', (err) => stream.destroy(err));
  return stream;
}
