/**
 * Finds the server the application starts on `WEFT_PORT`, with no code change, through Node's
 * documented `node:diagnostics_channel` tracing channel `net.server.listen` (its `asyncEnd`
 * event fires once the server is listening, before any connection is handled). Only servers
 * that emit `request` (http, https, http2 compat) on the given port are wrapped.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import type { AddressInfo } from 'node:net';
import type { EventEmitter } from 'node:events';
import { wrapHttpServer } from './wrap-http-server.ts';
import type { InboundHandle, InboundOptions } from './wrap-http-server.ts';

/** Stops watching for new servers. */
export interface ListenHookHandle {
  dispose(): void;
}

/**
 * Wraps (with {@link wrapHttpServer}) every http server that starts listening on `port`;
 * `onWrapped` is told about each. Returns a handle that stops watching.
 */
export function wrapServersListeningOn(port: number, options: InboundOptions, onWrapped?: (server: EventEmitter, handle: InboundHandle) => void): ListenHookHandle {
  const channel = tracingChannel<unknown, { server?: EventEmitter & { address(): AddressInfo | string | null } }>('net.server.listen');
  const subscribers = {
    start() {},
    end() {},
    asyncStart() {},
    asyncEnd(message: { server?: EventEmitter & { address(): AddressInfo | string | null } }) {
      const server = message.server;
      if (server === undefined || server.listenerCount('request') === 0) return;
      const address = server.address();
      if (address === null || typeof address === 'string' || address.port !== port) return;
      const handle = wrapHttpServer(server, options);
      onWrapped?.(server, handle);
    },
    error() {},
  };
  channel.subscribe(subscribers);
  return { dispose: () => channel.unsubscribe(subscribers) };
}
