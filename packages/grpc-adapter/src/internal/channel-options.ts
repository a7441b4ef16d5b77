/**
 * Programmatic use without the register hook: channel options that bind one grpc-js client to
 * a given mesh view. The client's target must use a Weft scheme (`weft:///host:port`, or
 * `xds:///host:port` when Weft owns that scheme); {@link registerWeftGrpc} must have run once.
 */
import type { ChannelOptions } from '@grpc/grpc-js';
import type { MeshTelemetry } from '@weft/core';
import type { XdsConfigSource } from './config-source.ts';
import { CONFIG_SOURCE_OPTION, INITIAL_RESOLUTION_TIMEOUT_OPTION, TELEMETRY_OPTION } from './weft-resolver.ts';

/** Options of {@link weftChannelOptions}. */
export interface WeftChannelOptions {
  /** The mesh view this channel resolves through. */
  source: XdsConfigSource;
  /** How long calls to a never-resolved target wait before failing UNAVAILABLE; default 15,000 ms. */
  initialResolutionTimeoutMs?: number;
  /** Records this channel's calls (client metrics, spans, access log, load stats). */
  telemetry?: MeshTelemetry;
}

/**
 * Channel options for `new Client(target, credentials, { ...weftChannelOptions({ source }) })`.
 * The source object is held by the channel until it closes; nothing is copied.
 */
export function weftChannelOptions(options: WeftChannelOptions): ChannelOptions {
  return {
    [CONFIG_SOURCE_OPTION]: options.source,
    ...(options.telemetry === undefined ? {} : { [TELEMETRY_OPTION]: options.telemetry }),
    ...(options.initialResolutionTimeoutMs === undefined ? {} : { [INITIAL_RESOLUTION_TIMEOUT_OPTION]: options.initialResolutionTimeoutMs }),
  };
}
