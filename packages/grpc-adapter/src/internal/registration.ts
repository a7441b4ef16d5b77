/**
 * Installs Weft into the application's grpc-js: the Weft LB policy and the resolver for the
 * `weft` scheme and (unless grpc-js-xds owns it) the `xds` scheme. Everything goes through
 * grpc-js's documented `experimental` hooks; nothing private is touched.
 */
import { experimental } from '@grpc/grpc-js';
import type { MeshTelemetry } from '@weft/core';
import type { XdsConfigSource } from './config-source.ts';
import { createWeftResolverClass } from './weft-resolver.ts';
import type { ResolverEvents } from './weft-resolver.ts';
import { registerWeftLoadBalancer } from './weft-load-balancer.ts';

/** Options of {@link registerWeftGrpc}. */
export interface RegisterWeftGrpcOptions {
  /** The mesh view channels resolve through (a channel may override it with `weft.config_source`). */
  source?: XdsConfigSource;
  /** Whether to take the `xds` scheme too (default true); `weft` is always registered. */
  isXdsSchemeClaimed?: boolean;
  /** Diagnostics hooks (config accepted/rejected). */
  events?: ResolverEvents;
  /** Records meshed calls (a channel may override it with `weft.telemetry`); none by default. */
  telemetry?: MeshTelemetry;
}

/** What {@link registerWeftGrpc} did. */
export interface WeftGrpcRegistration {
  /** Schemes now resolved by Weft. */
  readonly schemes: readonly string[];
  /** True when @grpc/grpc-js-xds was found registered in this grpc-js. */
  readonly isGrpcJsXdsPresent: boolean;
  /** Replaces the mesh view used by channels created from now on. */
  setSource(source: XdsConfigSource | undefined): void;
  /** Replaces the telemetry of channels created from now on. */
  setTelemetry(telemetry: MeshTelemetry | undefined): void;
}

/**
 * True when @grpc/grpc-js-xds has registered itself in this copy of grpc-js (its cluster LB
 * policies are present). Weft then leaves the `xds` scheme to it rather than racing it.
 */
export function isGrpcJsXdsRegistered(): boolean {
  return experimental.isLoadBalancerNameRegistered('xds_cluster_impl') || experimental.isLoadBalancerNameRegistered('cds');
}

/**
 * Registers Weft's resolver and LB policy in the grpc-js this package resolves to (the
 * application's copy: grpc-js is a peer dependency). Calling it again re-registers the schemes
 * with the new options. When grpc-js-xds is already registered, the `xds` scheme is left to it
 * and a process warning (`WEFT_GRPC_XDS_CONFLICT`) says so; use `weft:///host:port` targets or
 * drop the grpc-js-xds import. When grpc-js-xds registers itself afterwards (checked during the
 * first seconds of start-up), the same warning says it took the scheme over. Synchronous; opens no connection until a channel is used.
 */
export function registerWeftGrpc(options: RegisterWeftGrpcOptions = {}): WeftGrpcRegistration {
  let source = options.source;
  let telemetry = options.telemetry;
  registerWeftLoadBalancer();
  const resolverClass = createWeftResolverClass(() => source, options.events, () => telemetry);
  const isGrpcJsXdsPresent = isGrpcJsXdsRegistered();
  const schemes = ['weft'];
  experimental.registerResolver('weft', resolverClass);
  if (options.isXdsSchemeClaimed !== false) {
    if (isGrpcJsXdsPresent) {
      process.emitWarning(
        '@grpc/grpc-js-xds is registered in this process, so Weft leaves the xds: scheme to it; xds:/// targets are NOT meshed by Weft. Remove the grpc-js-xds register() call (Weft reads the same bootstrap) or use weft:/// targets.',
        { code: 'WEFT_GRPC_XDS_CONFLICT' },
      );
    } else {
      experimental.registerResolver('xds', resolverClass);
      schemes.push('xds');
      // grpc-js-xds registered later (by the app's own start-up code) silently takes the scheme
      // back; look a few times during start-up (unref'd, so nothing is kept alive) and say so once.
      let isWarned = false;
      const check = (): void => {
        if (isWarned || !isGrpcJsXdsRegistered()) return;
        isWarned = true;
        process.emitWarning(
          '@grpc/grpc-js-xds was registered after Weft and now owns the xds: scheme; xds:/// targets are NOT meshed by Weft. Remove the grpc-js-xds register() call or use weft:/// targets.',
          { code: 'WEFT_GRPC_XDS_CONFLICT' },
        );
      };
      setImmediate(check).unref();
      for (const ms of [500, 5000]) setTimeout(check, ms).unref();
    }
  }
  return {
    schemes,
    isGrpcJsXdsPresent,
    setSource(next) {
      source = next;
    },
    setTelemetry(next) {
      telemetry = next;
    },
  };
}
