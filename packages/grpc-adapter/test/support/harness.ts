/**
 * Test harness: registers Weft in grpc-js once, and builds clients bound to a static mesh view
 * through the `weft.config_source` channel option (so tests never share state).
 */
import type * as grpc from '@grpc/grpc-js';
import type { XdsConfig } from '@weft/xds-client';
import { createStaticXdsConfigSource, registerWeftGrpc, weftChannelOptions } from '../../src/index.ts';
import type { StaticXdsConfigSource } from '../../src/index.ts';
import { createEchoClient } from './echo-service.ts';
import type { EchoClientApi } from './echo-service.ts';

registerWeftGrpc({ isXdsSchemeClaimed: false });

/** A client on `weft:///<listenerName>` resolving through a fresh static source holding `config`. */
export function meshClient(config: XdsConfig, extra: grpc.ChannelOptions = {}): { client: EchoClientApi; source: StaticXdsConfigSource } {
  const source = createStaticXdsConfigSource([config]);
  const client = createEchoClient(`weft:///${config.listenerName}`, { ...weftChannelOptions({ source, initialResolutionTimeoutMs: 2000 }), ...extra });
  return { client, source };
}

/** Runs `n` tasks with at most `concurrency` in flight; returns results in order. */
export async function runBounded<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return out;
}
