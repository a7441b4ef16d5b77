/**
 * The end of a server-side bidi stream, whichever way it comes (the client half-closes, cancels,
 * errors, or the call closes): `done` runs for each of those events (callers make it idempotent),
 * and a client half-close is answered by ending the server's side too.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';

/** Calls `done` when `call` ends in any way; ends the server's half when the client ends its own. */
export function onStreamEnd(call: ServerDuplexStream<unknown, unknown>, done: () => void): void {
  call.on('end', () => {
    done();
    call.end();
  });
  call.on('cancelled', done);
  call.on('error', done);
  call.on('close', done);
}
