/**
 * The Weft LB policy for grpc-js (`weft_cluster_manager`): keeps one subchannel per endpoint
 * address of the snapshot's clusters and publishes pickers that choose, per call, the endpoint
 * of the call's cluster with core's cluster load balancer (every core LB policy, priorities,
 * locality weights, outlier ejections), apply the cluster's circuit breaker (UNAVAILABLE,
 * `WEFT_ERR_CIRCUIT_OPEN (UO)`), count active requests and feed outlier detection from each
 * call's final status. Registered through grpc-js's documented `registerLoadBalancerType`.
 */
import { connectivityState as ConnectivityState, experimental, Metadata, status as Status } from '@grpc/grpc-js';
import { PerTrySubchannel } from './per-try-timeout.ts';
import type { ChannelOptions, StatusObject } from '@grpc/grpc-js';
import { ErrorCode, MeshError } from '@weft/xds-client';
import type { ClientSnapshot, ClusterRuntime } from './client-snapshot.ts';
import { PickInfoKey, rerouteCluster } from './config-selector.ts';
import { statusFromMeshError } from './grpc-status.ts';
import { UPSTREAM_TLS_OPTION } from './mesh-credentials.ts';
import { upstreamTlsByAddress } from './upstream-tls-map.ts';

/** The LB policy name used in the service config the Weft resolver emits. */
export const WEFT_LB_POLICY_NAME = 'weft_cluster_manager';
/** Resolver attribute (merged into channel options by grpc-js) carrying the {@link ClientSnapshot}. */
export const SNAPSHOT_ATTRIBUTE = 'weft.internal.snapshot';

type PickResult = experimental.PickResult;
type SubchannelInterface = experimental.SubchannelInterface;

interface SubchannelEntry {
  readonly subchannel: SubchannelInterface;
  readonly listener: experimental.ConnectivityStateListener;
  state: ConnectivityState;
  /** Key of the TLS requirement the subchannel was created with (undefined = plaintext). */
  readonly tlsKey: string | undefined;
}

/** The (empty) config of the Weft LB policy. */
export class WeftLbConfig implements experimental.TypedLoadBalancingConfig {
  getLoadBalancerName(): string {
    return WEFT_LB_POLICY_NAME;
  }
  toJsonObject(): object {
    return { [WEFT_LB_POLICY_NAME]: {} };
  }
  /** Accepts any object (the policy has no options yet). */
  static createFromJson(_obj: unknown): WeftLbConfig {
    return new WeftLbConfig();
  }
}

function drop(status: StatusObject): PickResult {
  return { pickResultType: experimental.PickResultType.DROP, subchannel: null, status, onCallStarted: null, onCallEnded: null };
}
const QUEUE: PickResult = { pickResultType: experimental.PickResultType.QUEUE, subchannel: null, status: null, onCallStarted: null, onCallEnded: null };

function noHealthy(cluster: string, why: string): StatusObject {
  return statusFromMeshError(new MeshError(ErrorCode.noHealthyUpstream, `no healthy upstream in cluster ${cluster}: ${why}`, { responseFlag: 'UH', details: { cluster } }));
}

/** The picker over one snapshot and the current subchannel states. Immutable. */
class WeftPicker implements experimental.Picker {
  readonly #snapshot: ClientSnapshot;
  readonly #subchannels: ReadonlyMap<string, SubchannelEntry>;
  readonly #nextTurn: NextTurnQueue;

  constructor(snapshot: ClientSnapshot, subchannels: ReadonlyMap<string, SubchannelEntry>, nextTurn: NextTurnQueue) {
    this.#snapshot = snapshot;
    this.#subchannels = subchannels;
    this.#nextTurn = nextTurn;
  }

  pick(args: experimental.PickArgs): PickResult {
    const info = args.extraPickInfo;
    let name = info[PickInfoKey.cluster];
    let runtime = name === undefined ? undefined : this.#snapshot.clusters.get(name);
    const path = info[PickInfoKey.path];
    if (runtime === undefined && path !== undefined) {
      // A config update retired the cluster this call was routed to: route it again.
      name = rerouteCluster(this.#snapshot, path, args.metadata);
      runtime = name === undefined ? undefined : this.#snapshot.clusters.get(name);
      if (name !== undefined) info[PickInfoKey.cluster] = name;
    }
    if (runtime === undefined || runtime.balancer === undefined) return drop(noHealthy(name ?? '(none)', 'the call was not routed by Weft'));
    const breaker = runtime.state.breaker;
    if (breaker.remaining('requests') <= 0) {
      breaker.tryAcquire('requests'); // counts the overflow
      return drop(statusFromMeshError(breaker.createOverflowError('requests'), Status.UNAVAILABLE));
    }
    const tried = info[PickInfoKey.triedHosts];
    const hashText = info[PickInfoKey.hash];
    const context = hashText === undefined ? undefined : { hash: BigInt(hashText) };
    const balancer = runtime.balancer;
    let isWaiting = false;
    let chosen: { key: string; entry: SubchannelEntry; ep: NonNullable<ReturnType<typeof balancer.pick>> } | undefined;
    let fallback: typeof chosen;
    const endpoints = runtime.endpoints;
    const tries = Math.min(8, endpoints.length + 1);
    for (let i = 0; i < tries && chosen === undefined; i++) {
      const ep = balancer.pick(context);
      if (ep === undefined) break;
      const entry = this.#subchannels.get(ep.key);
      if (entry === undefined) continue;
      if (entry.state === ConnectivityState.READY) {
        if (tried !== undefined && tried !== '' && tried.split(',').includes(ep.key)) fallback ??= { key: ep.key, entry, ep };
        else chosen = { key: ep.key, entry, ep };
      } else if (entry.state === ConnectivityState.IDLE || entry.state === ConnectivityState.CONNECTING) {
        if (entry.state === ConnectivityState.IDLE) entry.subchannel.startConnecting();
        // A hash-based pick keeps its key on its host: wait for that host rather than spill over.
        if (context !== undefined) return QUEUE;
        isWaiting = true;
      }
    }
    if (chosen === undefined) {
      // The balancer's choices were not connected (or all tried already): take any ready,
      // untried endpoint of the cluster, else the tried one the balancer chose.
      const triedKeys = tried === undefined || tried === '' ? undefined : tried.split(',');
      for (const ep of endpoints) {
        const entry = this.#subchannels.get(ep.key);
        if (entry?.state === ConnectivityState.READY && !ep.state.isEjected && triedKeys?.includes(ep.key) !== true) {
          chosen = { key: ep.key, entry, ep };
          break;
        }
        if (entry?.state === ConnectivityState.CONNECTING || entry?.state === ConnectivityState.IDLE) isWaiting = true;
      }
    }
    chosen ??= fallback;
    if (chosen === undefined) return isWaiting ? QUEUE : drop(noHealthy(runtime.name, endpoints.length === 0 ? 'the cluster has no endpoints' : 'no endpoint is reachable'));
    if (tried !== undefined) info[PickInfoKey.triedHosts] = tried === '' ? chosen.key : `${tried},${chosen.key}`;
    const perTry = info[PickInfoKey.perTryTimeoutMs];
    return this.#complete(runtime, chosen.key, chosen.entry, chosen.ep.state, perTry === undefined ? undefined : Number(perTry));
  }

  /**
   * A complete pick. The circuit-breaker slot is taken at pick time (so concurrent picks see
   * each other) and held until the call ends; grpc-js may abandon a pick before starting the
   * call (re-pick after async call credentials), so a slot whose call has not started by the
   * next turn of the event loop is returned, and taken again if the call does start later.
   */
  #complete(runtime: ClusterRuntime, key: string, entry: SubchannelEntry, epState: { activeRequests: number }, perTryTimeoutMs: number | undefined): PickResult {
    // Envoy's per_try_timeout: this attempt's stream is cancelled when it runs out (per-try-timeout.ts).
    const perTry = perTryTimeoutMs === undefined ? undefined : new PerTrySubchannel(entry.subchannel, perTryTimeoutMs);
    const breaker = runtime.state.breaker;
    let isCounted = breaker.tryAcquire('requests');
    let isStarted = false;
    if (isCounted) {
      this.#nextTurn.push(() => {
        if (isStarted || !isCounted) return;
        isCounted = false;
        breaker.release('requests');
      });
    }
    return {
      pickResultType: experimental.PickResultType.COMPLETE,
      subchannel: perTry ?? entry.subchannel,
      status: null,
      onCallStarted: () => {
        isStarted = true;
        if (!isCounted) isCounted = breaker.tryAcquire('requests');
        epState.activeRequests++;
      },
      onCallEnded: (code: Status) => {
        perTry?.end();
        if (isCounted) breaker.release('requests');
        isCounted = false;
        if (epState.activeRequests > 0) epState.activeRequests--;
        runtime.state.outlier?.record(key, code);
      },
    };
  }
}

/** Checks run on the next turn of the event loop; one `setImmediate` serves a whole burst of picks. */
class NextTurnQueue {
  #pending: (() => void)[] = [];
  push(check: () => void): void {
    if (this.#pending.length === 0) {
      setImmediate(() => {
        const batch = this.#pending;
        this.#pending = [];
        for (const c of batch) c();
      });
    }
    this.#pending.push(check);
  }
}

function subchannelOptions(options: ChannelOptions): ChannelOptions {
  const out: ChannelOptions = {};
  for (const k of Object.keys(options)) if (!k.startsWith('weft.') && !k.startsWith('grpc.internal')) out[k] = options[k];
  return out;
}

/** The LB policy instance of one channel. */
export class WeftLoadBalancer implements experimental.LoadBalancer {
  readonly #helper: experimental.ChannelControlHelper;
  readonly #subchannels = new Map<string, SubchannelEntry>();
  readonly #nextTurn = new NextTurnQueue();
  #snapshot: ClientSnapshot | undefined;
  #isDestroyed = false;

  constructor(helper: experimental.ChannelControlHelper) {
    this.#helper = helper;
  }

  updateAddressList(endpointList: experimental.StatusOr<experimental.Endpoint[]>, _config: experimental.TypedLoadBalancingConfig, options: ChannelOptions): boolean {
    const snapshot = options[SNAPSHOT_ATTRIBUTE] as ClientSnapshot | undefined;
    if (!endpointList.ok || snapshot === undefined) {
      if (this.#snapshot === undefined) {
        const status = endpointList.ok ? { code: Status.UNAVAILABLE, details: 'weft_cluster_manager used without the Weft resolver', metadata: new Metadata() } : endpointList.error;
        this.#helper.updateState(ConnectivityState.TRANSIENT_FAILURE, new experimental.UnavailablePicker(status), status.details);
      }
      return true;
    }
    this.#snapshot = snapshot;
    const args = subchannelOptions(options);
    const tlsByAddress = upstreamTlsByAddress(snapshot);
    for (const [key, address] of snapshot.addresses) {
      const tls = tlsByAddress.get(key);
      const existing = this.#subchannels.get(key);
      if (existing !== undefined) {
        if (existing.tlsKey === tls?.key) continue;
        // The endpoint's TLS changed (e.g. a DestinationRule switched to ISTIO_MUTUAL): new subchannel.
        this.#release(existing);
        this.#subchannels.delete(key);
      }
      const subchannel = this.#helper.createSubchannel({ host: address.host, port: address.port }, tls === undefined ? args : { ...args, [UPSTREAM_TLS_OPTION]: tls });
      const entry: SubchannelEntry = {
        tlsKey: tls?.key,
        subchannel,
        state: subchannel.getConnectivityState(),
        listener: (_sc, _prev, next) => {
          entry.state = next;
          if (next === ConnectivityState.IDLE && !this.#isDestroyed) subchannel.startConnecting();
          this.#publish();
        },
      };
      subchannel.addConnectivityStateListener(entry.listener);
      subchannel.ref();
      this.#subchannels.set(key, entry);
      // Connect eagerly, as grpc-js's round_robin does: the channel asked to leave IDLE already.
      if (entry.state === ConnectivityState.IDLE) subchannel.startConnecting();
    }
    for (const [key, entry] of this.#subchannels) {
      if (snapshot.addresses.has(key)) continue;
      this.#release(entry);
      this.#subchannels.delete(key);
    }
    this.#publish();
    return true;
  }

  #release(entry: SubchannelEntry): void {
    entry.subchannel.removeConnectivityStateListener(entry.listener);
    entry.subchannel.unref();
  }

  #publish(): void {
    const snapshot = this.#snapshot;
    if (snapshot === undefined || this.#isDestroyed) return;
    let state = ConnectivityState.IDLE;
    let isAnyConnecting = false;
    let failures = 0;
    for (const e of this.#subchannels.values()) {
      if (e.state === ConnectivityState.READY) {
        state = ConnectivityState.READY;
        break;
      }
      if (e.state === ConnectivityState.CONNECTING) isAnyConnecting = true;
      if (e.state === ConnectivityState.TRANSIENT_FAILURE) failures++;
    }
    if (state !== ConnectivityState.READY) {
      if (isAnyConnecting) state = ConnectivityState.CONNECTING;
      else if (failures > 0 && failures === this.#subchannels.size) state = ConnectivityState.TRANSIENT_FAILURE;
      else if (this.#subchannels.size === 0) state = ConnectivityState.TRANSIENT_FAILURE;
    }
    this.#helper.updateState(state, new WeftPicker(snapshot, new Map(this.#subchannels), this.#nextTurn), null);
  }

  exitIdle(): void {
    for (const e of this.#subchannels.values()) if (e.state === ConnectivityState.IDLE) e.subchannel.startConnecting();
  }

  resetBackoff(): void {}

  destroy(): void {
    this.#isDestroyed = true;
    for (const e of this.#subchannels.values()) this.#release(e);
    this.#subchannels.clear();
  }

  getTypeName(): string {
    return WEFT_LB_POLICY_NAME;
  }
}

/** Registers the policy with grpc-js (idempotent per grpc-js copy). */
export function registerWeftLoadBalancer(): void {
  if (experimental.isLoadBalancerNameRegistered(WEFT_LB_POLICY_NAME)) return;
  experimental.registerLoadBalancerType(WEFT_LB_POLICY_NAME, WeftLoadBalancer as unknown as Parameters<typeof experimental.registerLoadBalancerType>[1], WeftLbConfig);
}
