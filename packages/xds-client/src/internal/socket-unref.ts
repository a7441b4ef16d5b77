/**
 * Keeps the xDS connection from holding the process open. grpc-js refs an HTTP/2 session while
 * a call is active, and the ADS call is active for the life of the client; grpc-js offers no
 * public switch for that. Node publishes every client TCP socket on the `net.client.socket`
 * diagnostics channel, so the client can `unref()` the sockets that go to its xDS servers
 * (matched by remote port and address once connected), and make `ref()` a no-op on those
 * socket instances.
 *
 * Limitation (documented in docs/sdk.md): another socket of the application to the same
 * address and port as an xDS server would be unref'd too.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { isIP } from 'node:net';

interface Target {
  readonly host: string;
  readonly port: number;
}

/** Tracks the sockets that belong to a set of xDS server targets. */
export class XdsSocketTracker {
  readonly #targets: Target[] = [];
  readonly #sockets = new Set<Socket>();
  #subscribed = false;
  readonly #onSocket = (message: unknown): void => {
    const socket = (message as { socket?: Socket }).socket;
    if (!socket || typeof socket.once !== 'function') return;
    socket.once('connect', () => {
      if (!this.#matches(socket)) return;
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      socket.unref();
      // grpc-js refs its HTTP/2 session (and so this socket) while the ADS call is active; for
      // this socket only, ref() becomes a no-op so the stream never holds the process open.
      socket.ref = function ref(this: Socket): Socket {
        return this;
      };
    });
  };

  /** Adds a `host:port` target (grpc-js target strings with a scheme are parsed loosely). */
  addTarget(serverUri: string): void {
    const withoutScheme = serverUri.replace(/^[a-z]+:(\/\/\/?)?/i, '');
    const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(withoutScheme);
    if (!match) return;
    this.#targets.push({ host: match[1] ?? '', port: Number(match[2]) });
    if (!this.#subscribed) {
      diagnosticsChannel.subscribe('net.client.socket', this.#onSocket);
      this.#subscribed = true;
    }
  }

  #matches(socket: Socket): boolean {
    return this.#targets.some(
      (t) => t.port === socket.remotePort && (isIP(t.host) === 0 || t.host === socket.remoteAddress || `::ffff:${t.host}` === socket.remoteAddress),
    );
  }

  /**
   * Unrefs the tracked sockets again. grpc-js re-refs its session when a new call starts on it,
   * so the client calls this after every stream start.
   */
  unrefAll(): void {
    for (const socket of this.#sockets) socket.unref();
  }

  /** Stops tracking; idempotent. */
  close(): void {
    if (this.#subscribed) diagnosticsChannel.unsubscribe('net.client.socket', this.#onSocket);
    this.#subscribed = false;
    this.#sockets.clear();
  }
}
