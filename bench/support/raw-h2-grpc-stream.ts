/**
 * One gRPC bidirectional stream on its own TCP connection, spoken over a plain `net` socket
 * with the least HTTP/2 a server accepts: the preface, SETTINGS (and their ACK), PING answers,
 * one HEADERS frame for the request, DATA frames both ways. The response's header blocks are
 * skipped undecoded (the stream needs nothing from them), and flow control is opened to its
 * maximum at the start, so no WINDOW_UPDATE is ever due.
 *
 * For benchmarks that stand in for many clients on other machines: per received message it
 * costs one socket read and a frame walk, where a `node:http2` client session costs an order
 * of magnitude more, so a thousand of them in one process measure the server, not themselves.
 */
import { connect, type Socket } from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const MAX_WINDOW = 0x7fffffff;
const STREAM_ID = 1;

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b.writeUIntBE(length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(streamId, 5);
  return b;
}

/** HPACK integer with an `n`-bit prefix whose high bits are `mask`. */
function hpackInteger(value: number, n: number, mask: number): number[] {
  const max = (1 << n) - 1;
  if (value < max) return [mask | value];
  const out = [mask | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

function hpackString(s: string): number[] {
  const bytes = [...Buffer.from(s, 'latin1')];
  return [...hpackInteger(bytes.length, 7, 0), ...bytes];
}

/** The request's header block: static-table names where RFC 7541 has them, literals without indexing. */
function requestHeaderBlock(authority: string, path: string): Buffer {
  return Buffer.from([
    0x83, // :method POST
    0x86, // :scheme http
    ...hpackInteger(4, 4, 0), ...hpackString(path), // :path
    ...hpackInteger(1, 4, 0), ...hpackString(authority), // :authority
    ...hpackInteger(31, 4, 0), ...hpackString('application/grpc'), // content-type
    0x00, ...hpackString('te'), ...hpackString('trailers'),
  ]);
}

/** An open stream; see the module comment. */
export interface RawGrpcStream {
  /** Sends one gRPC message (uncompressed) carrying `message`. */
  write(message: Buffer): void;
  /** Closes the connection. */
  close(): void;
}

/**
 * Opens a connection to `host:port` and a gRPC stream on `path`; `onMessage` gets each
 * response message's bytes (a view that is valid during the call), `onError` a failure of the
 * connection, a stream reset or a GOAWAY.
 */
export function openRawGrpcStream(host: string, port: number, path: string, onMessage: (message: Buffer) => void, onError: (err: Error) => void): RawGrpcStream {
  const socket: Socket = connect({ host, port, noDelay: true });
  const settings = Buffer.alloc(12);
  settings.writeUInt16BE(0x2, 0); // ENABLE_PUSH
  settings.writeUInt32BE(0, 2);
  settings.writeUInt16BE(0x4, 6); // INITIAL_WINDOW_SIZE
  settings.writeUInt32BE(MAX_WINDOW, 8);
  const connectionWindow = Buffer.allocUnsafe(4);
  connectionWindow.writeUInt32BE(MAX_WINDOW - 65_535, 0);
  const block = requestHeaderBlock(`${host}:${port}`, path);
  socket.write(Buffer.concat([
    PREFACE,
    frameHeader(settings.length, SETTINGS, 0, 0), settings,
    frameHeader(4, 0x8, 0, 0), connectionWindow,
    frameHeader(block.length, HEADERS, FLAG_END_HEADERS, STREAM_ID), block,
  ]));

  let pending: Buffer = Buffer.alloc(0);
  /** gRPC bytes of the stream not yet forming a whole message. */
  let grpc: Buffer = Buffer.alloc(0);
  const fail = (err: Error) => {
    socket.destroy();
    onError(err);
  };
  const onData = (payload: Buffer) => {
    grpc = grpc.length ? Buffer.concat([grpc, payload]) : payload;
    while (grpc.length >= 5) {
      const len = grpc.readUInt32BE(1);
      if (grpc.length < 5 + len) break;
      if (grpc[0] !== 0) return fail(new Error('compressed gRPC message'));
      onMessage(grpc.subarray(5, 5 + len));
      grpc = grpc.subarray(5 + len);
    }
  };
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let o = 0;
    while (pending.length - o >= 9) {
      const length = pending.readUIntBE(o, 3);
      if (pending.length - o < 9 + length) break;
      const type = pending[o + 3]!;
      const flags = pending[o + 4]!;
      const streamId = pending.readUInt32BE(o + 5) & MAX_WINDOW;
      let payload = pending.subarray(o + 9, o + 9 + length);
      o += 9 + length;
      if (type === DATA && streamId === STREAM_ID) {
        if (flags & FLAG_PADDED) payload = payload.subarray(1, payload.length - payload[0]!);
        onData(payload);
      } else if (type === SETTINGS && !(flags & FLAG_ACK)) {
        socket.write(frameHeader(0, SETTINGS, FLAG_ACK, 0));
      } else if (type === PING && !(flags & FLAG_ACK)) {
        socket.write(Buffer.concat([frameHeader(8, PING, FLAG_ACK, 0), payload]));
      } else if (type === RST_STREAM || type === GOAWAY) {
        return fail(new Error(`server sent ${type === GOAWAY ? 'GOAWAY' : 'RST_STREAM'}`));
      }
      // HEADERS / CONTINUATION (response headers, trailers) and WINDOW_UPDATE need nothing here
    }
    pending = o === pending.length ? Buffer.alloc(0) : pending.subarray(o);
  });
  socket.on('error', fail);
  return {
    write(message) {
      const out = Buffer.allocUnsafe(9 + 5 + message.length);
      out.writeUIntBE(5 + message.length, 0, 3);
      out[3] = DATA;
      out[4] = 0;
      out.writeUInt32BE(STREAM_ID, 5);
      out[9] = 0;
      out.writeUInt32BE(message.length, 10);
      message.copy(out, 14);
      socket.write(out);
    },
    close() {
      socket.destroy();
    },
  };
}
