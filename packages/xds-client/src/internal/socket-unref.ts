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

/**
 * One `net.client.socket` subscription serves every tracker of the process, so each new socket
 * gets one `connect` listener however many xDS clients exist. It is removed with the last tracker.
 */
const trackers = new Set<XdsSocketTracker>();

function onSocket(message: unknown): void {
  const socket = (message as { socket?: Socket }).socket;
  if (!socket || typeof socket.once !== 'function') return;
  socket.once('connect', () => {
    for (const t of trackers) if (t.claim(socket)) return;
  });
}

/** Tracks the sockets that belong to a set of xDS server targets. */
export class XdsSocketTracker {
  readonly #targets: Target[] = [];
  readonly #sockets = new Set<Socket>();
  #isActive = false;

  /** Adds a `host:port` target (grpc-js target strings with a scheme are parsed loosely). */
  addTarget(serverUri: string): void {
    const withoutScheme = serverUri.replace(/^[a-z]+:(\/\/\/?)?/i, '');
    const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(withoutScheme);
    if (!match) return;
    this.#targets.push({ host: match[1] ?? '', port: Number(match[2]) });
    if (!this.#isActive) {
      if (trackers.size === 0) diagnosticsChannel.subscribe('net.client.socket', onSocket);
      trackers.add(this);
      this.#isActive = true;
    }
  }

  /** Takes a just-connected socket if it goes to one of the targets; returns whether it did. */
  claim(socket: Socket): boolean {
    if (!this.#matches(socket)) return false;
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.unref();
    // grpc-js refs its HTTP/2 session (and so this socket) while the ADS call is active; for
    // this socket only, ref() becomes a no-op so the stream never holds the process open.
    socket.ref = function ref(this: Socket): Socket {
      return this;
    };
    return true;
  }

  /**
   * Unrefs the tracked sockets again. Over TLS, grpc-js's session refs the TLS socket, whose
   * handle wraps the same TCP handle; that ref bypasses the no-op above, so the stream calls
   * this once the call is active on the connection (first headers or message).
   */
  unrefAll(): void {
    for (const socket of this.#sockets) socket.unref();
  }

  #matches(socket: Socket): boolean {
    return this.#targets.some(
      (t) => t.port === socket.remotePort && (isIP(t.host) === 0 || t.host === socket.remoteAddress || `::ffff:${t.host}` === socket.remoteAddress),
    );
  }

  /** Stops tracking; idempotent. */
  close(): void {
    if (!this.#isActive) return;
    this.#isActive = false;
    trackers.delete(this);
    if (trackers.size === 0) diagnosticsChannel.unsubscribe('net.client.socket', onSocket);
    this.#sockets.clear();
  }
}
