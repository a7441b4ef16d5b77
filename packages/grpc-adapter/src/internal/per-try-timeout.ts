/**
 * Envoy's `per_try_timeout` for grpc-js calls: an attempt still unanswered after the per-try
 * timeout is cancelled (RST_STREAM, so the server sees the cancellation) and ends
 * DEADLINE_EXCEEDED with `WEFT_ERR_UPSTREAM_TIMEOUT (UT)`; grpc-js's own retry (the A44
 * `retryPolicy` of the call plan, which then lists DEADLINE_EXCEEDED as retryable) starts the
 * next attempt while attempts remain, and the last attempt's DEADLINE_EXCEEDED is the call's
 * status. The overall route timeout (the call deadline) still bounds all attempts together.
 *
 * grpc-js has no per-attempt hook, so the picker hands out, for calls with a per-try timeout, a
 * {@link PerTrySubchannel}: a `SubchannelInterface` (grpc-js's experimental LB interface) that
 * delegates everything to the picked subchannel, except that the stream it creates for the
 * attempt (`getRealSubchannel().createCall`, what grpc-js's load-balancing call invokes on a
 * completed pick) gets a timer. The timer is cleared when the attempt ends (the pick's
 * `onCallEnded`). One small object per attempt of such calls; nothing for other calls.
 */
import { status as Status, type experimental } from '@grpc/grpc-js';
import { ErrorCode } from '@weft/xds-client';

type SubchannelInterface = experimental.SubchannelInterface;
type RealSubchannel = ReturnType<SubchannelInterface['getRealSubchannel']>;
type CreateCall = RealSubchannel['createCall'];

/** A picked subchannel whose attempt is cancelled after `timeoutMs`; see the module comment. */
export class PerTrySubchannel implements SubchannelInterface {
  readonly #inner: SubchannelInterface;
  readonly #timeoutMs: number;
  readonly #onTimeout: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #isEnded = false;

  constructor(inner: SubchannelInterface, timeoutMs: number, onTimeout?: () => void) {
    this.#inner = inner;
    this.#timeoutMs = timeoutMs;
    this.#onTimeout = onTimeout;
  }

  /** Called when the attempt ends (the pick's `onCallEnded`): the timer stops. Idempotent. */
  end(): void {
    this.#isEnded = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  getRealSubchannel(): RealSubchannel {
    const real = this.#inner.getRealSubchannel();
    const createCall: CreateCall = (metadata, host, method, listener, callId) => {
      const call = real.createCall(metadata, host, method, listener, callId);
      if (!this.#isEnded && this.#timer === undefined) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          if (this.#isEnded) return;
          this.#onTimeout?.();
          call.cancelWithStatus(Status.DEADLINE_EXCEEDED, `${ErrorCode.upstreamTimeout} (UT): per-try timeout of ${this.#timeoutMs} ms elapsed on ${real.getAddress()}`);
        }, this.#timeoutMs);
        this.#timer.unref?.();
      }
      return call;
    };
    // Only createCall is taken from the attempt's view; everything else is the real subchannel.
    return Object.create(real, { createCall: { value: createCall } }) as RealSubchannel;
  }

  getConnectivityState(): ReturnType<SubchannelInterface['getConnectivityState']> {
    return this.#inner.getConnectivityState();
  }
  addConnectivityStateListener(listener: Parameters<SubchannelInterface['addConnectivityStateListener']>[0]): void {
    this.#inner.addConnectivityStateListener(listener);
  }
  removeConnectivityStateListener(listener: Parameters<SubchannelInterface['removeConnectivityStateListener']>[0]): void {
    this.#inner.removeConnectivityStateListener(listener);
  }
  startConnecting(): void {
    this.#inner.startConnecting();
  }
  getAddress(): string {
    return this.#inner.getAddress();
  }
  throttleKeepalive(newKeepaliveTime: number): void {
    this.#inner.throttleKeepalive(newKeepaliveTime);
  }
  ref(): void {
    this.#inner.ref();
  }
  unref(): void {
    this.#inner.unref();
  }
  getChannelzRef(): ReturnType<SubchannelInterface['getChannelzRef']> {
    return this.#inner.getChannelzRef();
  }
  isHealthy(): boolean {
    return this.#inner.isHealthy();
  }
  addHealthStateWatcher(listener: Parameters<SubchannelInterface['addHealthStateWatcher']>[0]): void {
    this.#inner.addHealthStateWatcher(listener);
  }
  removeHealthStateWatcher(listener: Parameters<SubchannelInterface['removeHealthStateWatcher']>[0]): void {
    this.#inner.removeHealthStateWatcher(listener);
  }
  addDataWatcher(dataWatcher: Parameters<SubchannelInterface['addDataWatcher']>[0]): void {
    this.#inner.addDataWatcher(dataWatcher);
  }
  realSubchannelEquals(other: SubchannelInterface): boolean {
    return this.#inner.realSubchannelEquals(other);
  }
  getCallCredentials(): ReturnType<SubchannelInterface['getCallCredentials']> {
    return this.#inner.getCallCredentials();
  }
  getChannel(): ReturnType<SubchannelInterface['getChannel']> {
    return this.#inner.getChannel();
  }
}
