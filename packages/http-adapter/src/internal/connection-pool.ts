/**
 * The HTTP/1.1 keep-alive connections of one upstream endpoint, pooled the way Envoy's HTTP/1
 * connection pool does it: a request takes an idle connection (the most recently used first),
 * opens a new one when none is idle and the pool is below its connection limit, and otherwise
 * waits, in arrival order, for the next connection to come free. A connection comes free the
 * moment its response is complete — the endpoint stage says so with {@link ConnectionPool.release}
 * — so a caller's next request reuses it. (undici's `Pool` learns that a connection is free only
 * after the completion has been processed; a request made in between opens another connection,
 * so under steady load it holds about twice the connections the concurrency needs, and every
 * dispatch scans them.) Each connection is an undici `Client`, which keeps its socket alive,
 * reconnects when it was closed, and sends one request at a time.
 *
 * Introductions: a request may name headers that a connection needs to carry only once (Weft's
 * per-connection metadata exchange). The pool adds them to the request when the connection's
 * socket has not yet carried them to a response — a new socket, one undici replaced, or one
 * handed on from inside a completion (undici closes a socket it will not keep alive only after
 * the completion returns) — and the handler's owner reports {@link ConnectionPool.introduced}
 * when the response starts.
 */
import { Client, buildConnector, errors } from 'undici';
import type { Dispatcher } from 'undici';
import type { Socket } from 'node:net';

/**
 * The handler of a request sent through the pool: the pool records which connection carries it,
 * and the handler's owner calls `connectionPool.release(connection)` exactly once when the
 * request is over (response complete, failed, or upgraded).
 */
export interface PooledRequest {
  connectionPool: ConnectionPool | undefined;
  connection: Client | undefined;
  /** Headers the connection carries once (see the module comment); set by the caller. */
  readonly introduction?: Readonly<Record<string, string>> | undefined;
  /** Set by the pool: true when this request carries the introduction. */
  isIntroducing?: boolean;
}

type Handler = Dispatcher.DispatchHandler & PooledRequest;

/** See the module comment. */
export class ConnectionPool {
  readonly #origin: string;
  readonly #options: Client.Options;
  readonly #connector: buildConnector.connector;
  readonly #maxConnections: number;
  /** Each connection's current socket (undici replaces it on reconnect). */
  readonly #sockets = new WeakMap<Client, Socket>();
  /** Sockets that carried an introduction to a response. */
  readonly #introduced = new WeakSet<Socket>();
  /** Free connections, most recently released last. */
  readonly #idle: Client[] = [];
  readonly #connections = new Set<Client>();
  /** Requests waiting for a connection (only while every allowed connection is busy). */
  #waiting: { opts: Dispatcher.DispatchOptions; handler: Handler }[] = [];
  #isClosed = false;
  #isDestroyed = false;

  /** A pool of at most `maxConnections` connections to `origin`, each a `Client` with `options`. */
  constructor(origin: string, options: Client.Options, maxConnections: number) {
    this.#origin = origin;
    this.#options = options;
    const connect = options.connect;
    this.#connector = typeof connect === 'function' ? connect : buildConnector({ ...connect });
    this.#maxConnections = Math.max(1, maxConnections);
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#isClosed;
  }

  /** True after `destroy()`. */
  get destroyed(): boolean {
    return this.#isDestroyed;
  }

  /** Connections open or opening, busy or idle. */
  get size(): number {
    return this.#connections.size;
  }

  /** Requests waiting for a connection. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Sends the request on a free connection, or queues it; see the module comment. Returns false
   * only when the pool is closed or destroyed (the handler has been given the error).
   */
  dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    if (this.#isClosed || this.#isDestroyed) {
      handler.onError?.(this.#isDestroyed ? new errors.ClientDestroyedError() : new errors.ClientClosedError());
      return false;
    }
    const connection = this.#idle.pop() ?? (this.#connections.size < this.#maxConnections ? this.#open() : undefined);
    if (connection === undefined) {
      // Accepted: the pool sends it itself when a connection frees (callers need no 'drain').
      this.#waiting.push({ opts, handler });
      return true;
    }
    this.#send(connection, opts, handler);
    return true;
  }

  /**
   * The request on `connection` is over: the connection serves the next waiting request or goes
   * idle. `isSocketTaken`: an upgrade took the socket (undici opens another for the next request).
   */
  release(connection: Client, isSocketTaken = false): void {
    if (isSocketTaken) this.#sockets.delete(connection);
    if (connection.destroyed || connection.closed) {
      this.#connections.delete(connection);
      if (this.#waiting.length > 0 && !this.#isClosed && !this.#isDestroyed) this.#send(this.#open(), ...this.#nextWaiting());
      return;
    }
    if (this.#waiting.length > 0) this.#send(connection, ...this.#nextWaiting(), true);
    else this.#idle.push(connection);
  }

  /** The introducing request on `connection` got its response: the socket has carried the introduction. */
  introduced(connection: Client): void {
    const socket = this.#sockets.get(connection);
    if (socket !== undefined && !socket.destroyed) this.#introduced.add(socket);
  }

  /** Lets in-flight requests finish, fails waiting ones, and closes every connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#isClosed || this.#isDestroyed) return;
    this.#isClosed = true;
    this.#failWaiting(new errors.ClientClosedError());
    await Promise.all([...this.#connections].map((c) => c.close().catch(() => undefined)));
  }

  /** Fails in-flight and waiting requests and closes every connection at once. Idempotent. */
  async destroy(err?: Error | null): Promise<void> {
    if (this.#isDestroyed) return;
    this.#isDestroyed = true;
    this.#failWaiting(err ?? new errors.ClientDestroyedError());
    await Promise.all([...this.#connections].map((c) => c.destroy(err ?? null).catch(() => undefined)));
  }

  #open(): Client {
    const connector = this.#connector;
    const sockets = this.#sockets;
    // The connector is wrapped to learn each socket the connection opens.
    const connection: Client = new Client(this.#origin, {
      ...this.#options,
      connect: (options, callback) =>
        connector(options, (...args) => {
          if (args[1] !== null) sockets.set(connection, args[1]);
          callback(...args);
        }),
    });
    this.#connections.add(connection);
    return connection;
  }

  /** `isHandOff`: the connection comes straight from a completion, so its socket may be closing. */
  #send(connection: Client, opts: Dispatcher.DispatchOptions, handler: Handler, isHandOff = false): void {
    handler.connectionPool = this;
    handler.connection = connection;
    const introduction = handler.introduction;
    if (introduction !== undefined) {
      const socket = this.#sockets.get(connection);
      if (isHandOff || socket === undefined || socket.destroyed || !this.#introduced.has(socket)) {
        opts = { ...opts, headers: { ...(opts.headers as Record<string, string> | undefined), ...introduction } };
        handler.isIntroducing = true;
      } else handler.isIntroducing = false;
    }
    connection.dispatch(opts, handler);
  }

  #nextWaiting(): [Dispatcher.DispatchOptions, Handler] {
    const next = this.#waiting.shift()!;
    return [next.opts, next.handler];
  }

  #failWaiting(err: Error): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const { handler } of waiting) handler.onError?.(err);
  }
}
