/**
 * Channel credentials that give each subchannel the TLS its cluster asks for (Istio
 * `ISTIO_MUTUAL`, auto mTLS per endpoint, `MUTUAL`, `SIMPLE`) — the counterpart of grpc-js-xds's
 * `XdsChannelCredentials`. The Weft load balancer puts the endpoint's
 * {@link UpstreamTlsRequirement} in the subchannel's options ({@link UPSTREAM_TLS_OPTION});
 * subchannels without one (plaintext clusters, non-mesh targets) use the fallback credentials.
 *
 * Every new connection reads the certificate current at that moment, so a rotation is picked
 * up by the next connection without touching open ones. The server's chain is verified with the
 * mesh roots and its SPIFFE ID with core's `checkPeer` (instead of hostname matching).
 */
import { connect as tlsConnect, type SecureContext } from 'node:tls';
import type { Socket } from 'node:net';
import { CallCredentials, ChannelCredentials, credentials as grpcCredentials, type ChannelOptions, type experimental } from '@grpc/grpc-js';
import { upstreamSecureContext } from '@weft/core';
import type { CertificateProviders, UpstreamTlsRequirement } from '@weft/core';

/** Subchannel option carrying the endpoint's TLS requirement (an object, compared by identity). */
export const UPSTREAM_TLS_OPTION = 'weft-upstream-tls';

/** Options of {@link createWeftChannelCredentials}. */
export interface WeftChannelCredentialsOptions {
  /** Resolves certificate provider instances (`Mesh.certificateProviders`). */
  readonly certificateProviders: CertificateProviders;
  /** Credentials of subchannels that need no mesh TLS; insecure by default. */
  readonly fallback?: ChannelCredentials;
}

type SecureConnector = ReturnType<ChannelCredentials['_createSecureConnector']>;

class WeftChannelCredentials extends ChannelCredentials {
  readonly #providers: CertificateProviders;
  readonly #fallback: ChannelCredentials;

  constructor(options: WeftChannelCredentialsOptions) {
    super();
    this.#providers = options.certificateProviders;
    this.#fallback = options.fallback ?? grpcCredentials.createInsecure();
  }

  override _isSecure(): boolean {
    return this.#fallback._isSecure();
  }

  override _equals(other: ChannelCredentials): boolean {
    return other === this;
  }

  override _createSecureConnector(channelTarget: experimental.GrpcUri, options: ChannelOptions, callCredentials?: CallCredentials): SecureConnector {
    const req = options[UPSTREAM_TLS_OPTION] as UpstreamTlsRequirement | undefined;
    if (req === undefined || req.mode === 'none') return this.#fallback._createSecureConnector(channelTarget, options, callCredentials);
    const providers = this.#providers;
    const calls = callCredentials ?? CallCredentials.createEmpty();
    return {
      connect(socket: Socket) {
        const host = `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}`;
        return new Promise((resolve, reject) => {
          let secureContext: SecureContext | undefined;
          try {
            secureContext = upstreamSecureContext({ ...req, providers }, host);
          } catch (err) {
            reject(err);
            return;
          }
          const tlsSocket = tlsConnect({
            socket,
            ...(req.sni !== undefined ? { servername: req.sni } : {}),
            ...(secureContext !== undefined ? { secureContext } : {}),
            ALPNProtocols: ['h2'],
            rejectUnauthorized: true,
            checkServerIdentity: (_name, cert) => req.checkPeer(cert),
          });
          tlsSocket.once('secureConnect', () => resolve({ socket: tlsSocket, secure: true }));
          tlsSocket.once('error', (err: Error) => reject(err));
        });
      },
      waitForReady: async () => {
        if (req.identityInstance !== undefined) await providers.ready(req.identityInstance);
      },
      getCallCredentials: () => calls,
      destroy() {},
    };
  }
}

/**
 * Channel credentials for meshed gRPC clients: `new Client('xds:///reviews:9080',
 * createWeftChannelCredentials({ certificateProviders: mesh.certificateProviders }))`.
 * Needed for mTLS to clusters that require it; with plain insecure credentials such clusters are
 * reached in plaintext and a STRICT server refuses the connection.
 */
export function createWeftChannelCredentials(options: WeftChannelCredentialsOptions): ChannelCredentials {
  return new WeftChannelCredentials(options);
}
