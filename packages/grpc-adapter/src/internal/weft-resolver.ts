/**
 * The grpc-js resolver for `xds:///host:port` and `weft:///host:port` targets: it watches the
 * listener `host:port` in Weft's view of the mesh ({@link XdsConfigSource}), compiles each
 * complete config into a {@link ClientSnapshot}, and reports to grpc-js the endpoint list, a
 * service config selecting the Weft LB policy, and the per-call ConfigSelector.
 *
 * Control plane down: the last good snapshot keeps serving. A listener never seen fails calls
 * with UNAVAILABLE and `WEFT_ERR_XDS_UNAVAILABLE` in the details once the initial resolution
 * timeout (default 15 s, channel option `weft.initial_resolution_timeout_ms`) elapses; a
 * listener the server says does not exist fails them with `WEFT_ERR_UNKNOWN_HOST`.
 */
import { experimental, status as Status } from '@grpc/grpc-js';
import type { ChannelOptions, StatusObject } from '@grpc/grpc-js';
import { ErrorCode, MeshError } from '@weft/xds-client';
import type { XdsConfig } from '@weft/xds-client';
import type { MeshTelemetry } from '@weft/core';
import { loadHasher } from './core-imports.ts';
import type { Hasher } from './core-imports.ts';
import { ClusterStateRegistry, compileClientSnapshot, needsHasher } from './client-snapshot.ts';
import type { ClientSnapshot } from './client-snapshot.ts';
import type { XdsConfigSource } from './config-source.ts';
import { createConfigSelector } from './config-selector.ts';
import { statusFromMeshError } from './grpc-status.ts';
import { SNAPSHOT_ATTRIBUTE, WEFT_LB_POLICY_NAME } from './weft-load-balancer.ts';

/** Channel option: an {@link XdsConfigSource} for this channel, overriding the registered one. */
export const CONFIG_SOURCE_OPTION = 'weft.config_source';
/**
 * Channel option: the `MeshTelemetry` (from `@weft/core`) that records this channel's calls
 * (`reporter="source"` metrics, CLIENT spans, access log, load stats), overriding the registered one.
 */
export const TELEMETRY_OPTION = 'weft.telemetry';
/** Channel option: how long calls to a never-resolved target wait before failing (ms). */
export const INITIAL_RESOLUTION_TIMEOUT_OPTION = 'weft.initial_resolution_timeout_ms';
const DEFAULT_INITIAL_RESOLUTION_TIMEOUT_MS = 15_000;

const SERVICE_CONFIG = { loadBalancingConfig: [{ [WEFT_LB_POLICY_NAME]: {} }], methodConfig: [] };

/** The listener name of a target: its path (`host:port`), without a leading slash. */
export function listenerNameOf(target: experimental.GrpcUri): string {
  return target.path.replace(/^\/+/, '');
}

/** Observer of resolver events, for the register hook's diagnostics and tests. */
export interface ResolverEvents {
  onSnapshot?(listenerName: string, snapshot: ClientSnapshot): void;
  onRejectedConfig?(listenerName: string, error: MeshError): void;
}

/**
 * Builds the resolver class for grpc-js's `registerResolver`, bound to `getSource` (the
 * process's mesh view; consulted when a channel is created, after the per-channel
 * {@link CONFIG_SOURCE_OPTION}) and `getTelemetry` (likewise, after {@link TELEMETRY_OPTION};
 * without either, calls are not recorded).
 */
export function createWeftResolverClass(getSource: () => XdsConfigSource | undefined, events: ResolverEvents = {}, getTelemetry: () => MeshTelemetry | undefined = () => undefined) {
  return class WeftResolver implements experimental.Resolver {
    readonly #target: experimental.GrpcUri;
    readonly #listener: experimental.ResolverListener;
    readonly #source: XdsConfigSource | undefined;
    readonly #telemetry: MeshTelemetry | undefined;
    readonly #listenerName: string;
    readonly #initialTimeoutMs: number;
    readonly #registry = new ClusterStateRegistry();
    #watch: { [Symbol.dispose](): void } | undefined;
    #timer: ReturnType<typeof setTimeout> | undefined;
    #snapshot: ClientSnapshot | undefined;
    #hasher: Hasher | undefined;
    #lastError: MeshError | undefined;
    #generation = 0;
    #isDestroyed = false;

    constructor(target: experimental.GrpcUri, listener: experimental.ResolverListener, options: ChannelOptions) {
      this.#target = target;
      this.#listener = listener;
      this.#source = (options[CONFIG_SOURCE_OPTION] as XdsConfigSource | undefined) ?? getSource();
      this.#telemetry = (options[TELEMETRY_OPTION] as MeshTelemetry | undefined) ?? getTelemetry();
      this.#listenerName = listenerNameOf(target);
      const t = Number(options[INITIAL_RESOLUTION_TIMEOUT_OPTION]);
      this.#initialTimeoutMs = Number.isFinite(t) && t > 0 ? t : DEFAULT_INITIAL_RESOLUTION_TIMEOUT_MS;
    }

    /** The default authority of a target is its `host:port`. */
    static getDefaultAuthority(target: experimental.GrpcUri): string {
      return listenerNameOf(target);
    }

    updateResolution(): void {
      if (this.#isDestroyed || this.#watch !== undefined) return;
      if (this.#listenerName === '') {
        this.#fail(new MeshError(ErrorCode.unknownHost, `bad target ${experimental.uriToString(this.#target)}: expected ${this.#target.scheme}:///host:port`, { details: { target: experimental.uriToString(this.#target) } }));
        return;
      }
      const source = this.#source;
      if (source === undefined) {
        this.#fail(new MeshError(ErrorCode.xdsUnavailable, `no Weft mesh is configured for ${this.#target.scheme}: targets (load @weft/grpc-adapter/register or pass the ${CONFIG_SOURCE_OPTION} channel option)`, { details: { host: this.#listenerName } }));
        return;
      }
      let watch: { [Symbol.dispose](): void };
      try {
        watch = source.watchXdsConfig(this.#listenerName, {
          onUpdate: (config) => void this.#onUpdate(config),
          onError: (error) => {
            this.#lastError = error;
            // A bootstrap that cannot be read will not get better by waiting.
            if (this.#snapshot === undefined && error.code === ErrorCode.bootstrapInvalid) this.#fail(error);
          },
          onResourceDoesNotExist: (resource) => {
            this.#snapshot = undefined;
            this.#fail(new MeshError(ErrorCode.unknownHost, `${this.#listenerName} is not known to the mesh (${resource.typeUrl.split('.').pop() ?? 'resource'} ${resource.name} does not exist)`, { details: { host: this.#listenerName } }));
          },
        });
      } catch (err) {
        this.#fail(err instanceof MeshError ? err : new MeshError(ErrorCode.xdsUnavailable, `cannot watch ${this.#listenerName}: ${String(err)}`, { cause: err }));
        return;
      }
      this.#watch = watch;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (this.#snapshot !== undefined) return;
        const cause = this.#lastError === undefined ? '' : `: ${this.#lastError.message}`;
        this.#fail(new MeshError(ErrorCode.xdsUnavailable, `no xDS config for ${this.#listenerName} within ${this.#initialTimeoutMs} ms${cause}`, { details: { host: this.#listenerName }, ...(this.#lastError ? { cause: this.#lastError } : {}) }));
      }, this.#initialTimeoutMs);
      this.#timer.unref?.();
    }

    async #onUpdate(config: XdsConfig): Promise<void> {
      const generation = ++this.#generation;
      if (this.#hasher === undefined && needsHasher(config)) this.#hasher = await loadHasher();
      if (this.#isDestroyed || generation !== this.#generation) return;
      let snapshot: ClientSnapshot;
      try {
        snapshot = compileClientSnapshot(config, config.listenerName, this.#registry, this.#hasher);
      } catch (err) {
        const error = err instanceof MeshError ? err : new MeshError(ErrorCode.xdsInvalid, `config for ${this.#listenerName} rejected: ${String(err)}`, { cause: err });
        events.onRejectedConfig?.(this.#listenerName, error);
        if (this.#snapshot === undefined) this.#fail(error);
        return;
      }
      this.#snapshot = snapshot;
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      const endpoints = [...snapshot.addresses.values()].map((a) => ({ addresses: [{ host: a.host, port: a.port }] }));
      this.#listener(
        experimental.statusOrFromValue(endpoints),
        { [experimental.CHANNEL_ARGS_CONFIG_SELECTOR_KEY]: createConfigSelector(snapshot, this.#hasher, this.#telemetry), [SNAPSHOT_ATTRIBUTE]: snapshot },
        experimental.statusOrFromValue(SERVICE_CONFIG) as Parameters<experimental.ResolverListener>[2],
        '',
      );
      events.onSnapshot?.(this.#listenerName, snapshot);
    }

    #fail(error: MeshError): void {
      if (this.#isDestroyed) return;
      const status: StatusObject = statusFromMeshError(error, Status.UNAVAILABLE);
      this.#listener(experimental.statusOrFromError(status), {}, null, '');
    }

    destroy(): void {
      if (this.#isDestroyed) return;
      this.#isDestroyed = true;
      this.#watch?.[Symbol.dispose]();
      this.#watch = undefined;
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#registry.close();
    }
  };
}

