/**
 * Watching the inbound listener of one served port over xDS and turning each version into an
 * {@link InboundPolicy}. Used by `Mesh.watchInbound`; the listener name follows the bootstrap's
 * `server_listener_resource_name_template` (default Istio's `xds.istio.io/grpc/lds/inbound/%s`)
 * with `%s` = `0.0.0.0:<port>`, as proxyless gRPC servers ask for it.
 */
import { ErrorCode, MeshError, TypeUrl } from '@weft/xds-client';
import type { Listener } from '@weft/xds-client';
import { compileInboundPolicy, type InboundPolicy } from './inbound-policy.ts';

/** Istio's template for server listener names. */
export const DEFAULT_SERVER_LISTENER_TEMPLATE = 'xds.istio.io/grpc/lds/inbound/%s';

/** The single-resource watch of an xds-client (`XdsClient.watch`). */
export interface ListenerWatchSource {
  watch(
    typeUrl: typeof TypeUrl.listener,
    name: string,
    watcher: { onChanged(value: Listener): void; onError(error: MeshError): void; onDoesNotExist(): void },
  ): { cancel(): void };
}

/** Receives the inbound policy of a port. Never called synchronously from the watch call. */
export interface InboundPolicyWatcher {
  /**
   * A compiled policy on each valid update; `undefined` when the server says the listener does
   * not exist (serve with the default policy).
   */
  onPolicy(policy: InboundPolicy | undefined): void;
  /** An invalid update or an unreachable control plane; the last policy stays in force. */
  onError?(error: MeshError): void;
}

/** The server listener name for `port` under `template`. */
export function inboundListenerName(port: number, template: string | undefined): string {
  return (template || DEFAULT_SERVER_LISTENER_TEMPLATE).replace('%s', `0.0.0.0:${port}`);
}

/** Starts the watch; see the module comment. Callbacks are never synchronous. */
export function watchInboundPolicy(source: ListenerWatchSource, listenerName: string, port: number, watcher: InboundPolicyWatcher): { cancel(): void } {
  return source.watch(TypeUrl.listener, listenerName, {
    onChanged(value) {
      let policy: InboundPolicy;
      try {
        policy = compileInboundPolicy(value, port);
      } catch (err) {
        const error = err instanceof MeshError ? err : new MeshError(ErrorCode.xdsInvalid, `inbound listener ${listenerName}: ${String(err)}`, { cause: err });
        watcher.onError?.(error);
        return;
      }
      watcher.onPolicy(policy);
    },
    onError(error) {
      watcher.onError?.(error);
    },
    onDoesNotExist() {
      watcher.onPolicy(undefined);
    },
  });
}
