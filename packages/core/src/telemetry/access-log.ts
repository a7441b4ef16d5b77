/**
 * Envoy-style access log: one JSON line per request with Envoy's default JSON field names.
 * Off unless `WEFT_ACCESS_LOG=stdout|stderr|<path>`. Lines are buffered and written on the next
 * turn of the event loop (or when 64 KiB are pending); the request path only appends a string.
 * If the sink cannot keep up (more than `maxPendingBytes` queued), lines are dropped and
 * counted rather than blocking or growing memory without bound.
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

/** One access-log entry, with Envoy's field names; absent values are written as null. */
export interface AccessLogEntry {
  start_time: string;
  method: string | null;
  path: string | null;
  protocol: string | null;
  response_code: number;
  response_flags: string;
  bytes_received: number;
  bytes_sent: number;
  duration: number;
  upstream_service_time: number | null;
  x_forwarded_for: string | null;
  user_agent: string | null;
  request_id: string | null;
  authority: string | null;
  upstream_host: string | null;
  upstream_cluster: string | null;
  upstream_local_address: string | null;
  downstream_remote_address: string | null;
  route_name: string | null;
  trace_id: string | null;
  grpc_status: string | null;
  /**
   * Set when an AuthorizationPolicy with action AUDIT matched (RBAC `LOG`, Envoy's
   * `access_log_hint`): the policy's RBAC name, `ns[<ns>]-policy[<name>]-rule[<i>]`.
   */
  audit_policy?: string;
}

/** Options of {@link createAccessLog}. */
export interface AccessLogOptions {
  /** Where lines go: `stdout`, `stderr`, a file path (appended), or any Writable. */
  readonly target: 'stdout' | 'stderr' | string | Writable;
  /** Bytes queued in the sink before lines are dropped; default 8 MiB. */
  readonly maxPendingBytes?: number;
}

/** See the module comment. */
export class AccessLog {
  readonly #sink: Writable;
  readonly #ownsSink: boolean;
  readonly #maxPending: number;
  #buffer: string[] = [];
  #bufferedBytes = 0;
  #isScheduled = false;
  #dropped = 0;
  #isClosed = false;

  /** Use {@link createAccessLog}. */
  constructor(options: AccessLogOptions) {
    const t = options.target;
    if (typeof t !== 'string') {
      this.#sink = t;
      this.#ownsSink = false;
    } else if (t === 'stdout' || t === 'stderr') {
      this.#sink = t === 'stdout' ? process.stdout : process.stderr;
      this.#ownsSink = false;
    } else {
      this.#sink = createWriteStream(t, { flags: 'a' });
      this.#sink.on('error', () => undefined); // a broken log never crashes the host process
      this.#ownsSink = true;
    }
    this.#maxPending = options.maxPendingBytes ?? 8 * 1024 * 1024;
  }

  /** Lines dropped because the sink was too slow. */
  get droppedLines(): number {
    return this.#dropped;
  }

  /** Queues one entry (never blocks, never throws). */
  write(entry: AccessLogEntry): void {
    if (this.#isClosed) return;
    if (this.#sink.writableLength + this.#bufferedBytes > this.#maxPending) {
      this.#dropped++;
      return;
    }
    const line = JSON.stringify(entry) + '\n';
    this.#buffer.push(line);
    this.#bufferedBytes += line.length;
    if (this.#bufferedBytes >= 65536) this.flush();
    else if (!this.#isScheduled) {
      this.#isScheduled = true;
      setImmediate(() => this.flush()).unref();
    }
  }

  /** Hands queued lines to the sink now. */
  flush(): void {
    this.#isScheduled = false;
    if (this.#buffer.length === 0) return;
    const chunk = this.#buffer.join('');
    this.#buffer = [];
    this.#bufferedBytes = 0;
    this.#sink.write(chunk);
  }

  /** Flushes and, for a file it opened, closes it; idempotent. Resolves when written. */
  close(): Promise<void> {
    if (this.#isClosed) return Promise.resolve();
    this.flush();
    this.#isClosed = true;
    if (!this.#ownsSink) return Promise.resolve();
    return new Promise((resolve) => this.#sink.end(() => resolve()));
  }
}

/** Creates an access log; see {@link AccessLogOptions}. */
export function createAccessLog(options: AccessLogOptions): AccessLog {
  return new AccessLog(options);
}

/** The access log `WEFT_ACCESS_LOG` asks for, or undefined when it is unset/`off`. */
export function accessLogFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): AccessLog | undefined {
  const t = env['WEFT_ACCESS_LOG']?.trim();
  if (t === undefined || t === '' || t === 'off' || t === 'false' || t === '0') return undefined;
  return createAccessLog({ target: t });
}
