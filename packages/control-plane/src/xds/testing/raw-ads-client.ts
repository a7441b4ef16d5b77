/**
 * A raw ADS client for protocol tests: opens a SotW or delta stream with grpc-js, sends
 * requests as given and hands back responses one by one (each wait bounded in time).
 * Test support only.
 */
import { credentials, makeGenericClientConstructor, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { adsServiceDefinition, type XdsNode } from '@weft/xds-client';
import { toStruct } from '../generators/types.ts';

/** One open stream. */
export interface RawStream<Req, Res> {
  send(req: Req): void;
  /** The next response; rejects after `timeoutMs` (default 3000) or when the stream ends. */
  next(timeoutMs?: number): Promise<Res>;
  /** Resolves with no response when none arrives within `ms` (proves silence), else rejects. */
  expectNothing(ms: number): Promise<void>;
  /** Resolves with the status error that ended the stream (bounded wait). */
  ended(timeoutMs?: number): Promise<ServiceError | undefined>;
  close(): void;
}

/** Options of {@link rawAdsClient}. */
export interface RawAdsClientOptions {
  /**
   * Open its own TCP connection. By default grpc-js shares one connection (subchannel) among
   * every client of the same target and options in the process, so many `rawAdsClient`s are
   * many HTTP/2 streams on one connection, not many clients as separate machines would be.
   */
  isOwnConnection?: boolean;
}

/** A grpc-js client for the ADS service at `address`. */
export function rawAdsClient(address: string, options: RawAdsClientOptions = {}) {
  const Ctor = makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');
  const channelOptions = options.isOwnConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {};
  const client = new Ctor(address, credentials.createInsecure(), channelOptions) as unknown as Record<string, () => ClientDuplexStream<object, object>> & { close(): void };

  function open<Req, Res>(method: string): RawStream<Req, Res> {
    const call = client[method]?.call(client) as ClientDuplexStream<object, object>;
    const queue: Res[] = [];
    const waiters: { resolve: (r: Res) => void; reject: (e: Error) => void }[] = [];
    let endError: ServiceError | undefined;
    let isEnded = false;
    const endWaiters: ((e: ServiceError | undefined) => void)[] = [];
    call.on('data', (r: Res) => {
      const w = waiters.shift();
      if (w) w.resolve(r);
      else queue.push(r);
    });
    const finish = (e?: ServiceError) => {
      if (isEnded) return;
      isEnded = true;
      endError = e;
      for (const w of waiters.splice(0)) w.reject(new Error(`stream ended: ${e?.message ?? 'OK'}`));
      for (const w of endWaiters.splice(0)) w(e);
    };
    call.on('error', (e: ServiceError) => finish(e));
    call.on('end', () => finish());
    return {
      send: (req) => void call.write(req as object),
      next(timeoutMs = 3000) {
        const queued = queue.shift();
        if (queued) return Promise.resolve(queued);
        if (isEnded) return Promise.reject(new Error(`stream ended: ${endError?.message ?? 'OK'}`));
        return new Promise<Res>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
          waiters.push({ resolve: (r) => (clearTimeout(t), resolve(r)), reject: (e) => (clearTimeout(t), reject(e)) });
        });
      },
      expectNothing(ms) {
        if (queue.length) return Promise.reject(new Error(`unexpected response: ${JSON.stringify(queue[0])}`));
        return new Promise<void>((resolve, reject) => {
          const w = { resolve: (r: Res) => (clearTimeout(t), reject(new Error(`unexpected response: ${JSON.stringify(r).slice(0, 300)}`))), reject: () => (clearTimeout(t), resolve()) };
          const t = setTimeout(() => {
            waiters.splice(waiters.indexOf(w), 1);
            resolve();
          }, ms);
          waiters.push(w);
        });
      },
      ended(timeoutMs = 3000) {
        if (isEnded) return Promise.resolve(endError);
        return new Promise((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('stream did not end')), timeoutMs);
          endWaiters.push((e) => (clearTimeout(t), resolve(e)));
        });
      },
      close: () => call.cancel(),
    };
  }

  return {
    sotw: <Req, Res>() => open<Req, Res>('StreamAggregatedResources'),
    delta: <Req, Res>() => open<Req, Res>('DeltaAggregatedResources'),
    close: () => client.close(),
  };
}

/** A node as a Weft or grpc-js-xds client would send it (metadata as a `Struct`). */
export function testNode(id: string, metadata: Record<string, string> = {}, userAgent = 'weft-test'): XdsNode {
  return { id, user_agent_name: userAgent, metadata: toStruct(metadata) };
}
