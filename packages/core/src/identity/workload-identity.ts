/**
 * A workload's own identity: a key (ECDSA P-256 by default) generated in memory (never written anywhere), a
 * certificate for `spiffe://<td>/ns/<ns>/sa/<sa>` obtained from the mesh CA through a
 * {@link CertificateSigner}, renewed at half its lifetime, and the trust bundle to verify peers.
 *
 * Lifetime: created by `createWorkloadIdentity`, which starts fetching at once; owned by the
 * caller, who calls `close()` (idempotent) to stop every timer and release the signer. Timers
 * are unref'd: the identity never keeps a process alive.
 */
import { generateKeyPair, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { MeshError, isMeshError } from '@weft/xds-client';
import { verifyCertificateChain } from './certificate-chain.ts';
import type { CertificateSigner, SignerCredentials } from './certificate-signer.ts';
import { createWorkloadCsr } from './csr.ts';
import { formatSpiffeId } from './spiffe-id.ts';
import { readJoinToken } from './token-source.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Options of {@link createWorkloadIdentity}. */
export interface WorkloadIdentityOptions {
  /** Transport to the CA. */
  signer: CertificateSigner;
  namespace: string;
  serviceAccount: string;
  /** Trust domain; `cluster.local` by default. */
  trustDomain?: string;
  /** Join token, or a function read at each token-authenticated request; default {@link readJoinToken}. */
  token?: string | (() => string | undefined);
  /**
   * Workload key type: `ecdsa-p256` (default: generated in well under a millisecond and the
   * cheaper TLS handshake, see bench/results/security.md) or `rsa-2048`.
   */
  keyAlgorithm?: 'ecdsa-p256' | 'rsa-2048';
  /** Requested certificate lifetime; 24 h by default (the CA may shorten it). */
  certTtlMs?: number;
  /** Fraction of the remaining lifetime after which the certificate is renewed; 0.5. */
  rotateAtFraction?: number;
  /** First retry delay after a failure (doubles up to `retryMaxMs`); 250 ms. */
  retryMinMs?: number;
  /** Longest retry delay; 30 s. */
  retryMaxMs?: number;
}

/** One generation of key + certificate. Immutable; a rotation produces a new one. */
export interface IdentityMaterial {
  spiffeId: string;
  /** PKCS#8 PEM of the private key (memory only), for `tls` `key`. */
  privateKeyPem: string;
  /** Leaf first; for `tls` `cert` join them. */
  certChainPem: string[];
  /** Roots to trust for peers, for `tls` `ca`. */
  trustBundlePem: string[];
  notBeforeMs: number;
  notAfterMs: number;
  /** 1 for the first certificate, +1 per rotation. */
  generation: number;
}

/** A listener registration; dispose or cancel to remove it. */
export interface ListenerHandle {
  cancel(): void;
  [Symbol.dispose](): void;
}

/** See the module comment. */
export interface WorkloadIdentity {
  /** The SPIFFE ID this workload asks for. */
  readonly spiffeId: string;
  /** The current material, or undefined before the first certificate arrives. */
  current(): IdentityMaterial | undefined;
  /**
   * Resolves with the current material, waiting for the first certificate at most `timeoutMs`
   * (default 15 s; this bounded wait, unlike rotation timers, keeps the process alive). Rejects with `WEFT_ERR_CERT_UNAVAILABLE` (its `cause` is the last failure,
   * e.g. `WEFT_ERR_UNAUTHORIZED` for a refused token) on timeout, `WEFT_ERR_CLOSED` after
   * `close()`, or the signal's reason when `signal` aborts.
   */
  ready(options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<IdentityMaterial>;
  /** Called (asynchronously) with each new generation, after it is current. */
  onRotate(listener: (material: IdentityMaterial) => void): ListenerHandle;
  /** Called with each failed attempt (the identity keeps retrying with backoff). */
  onError(listener: (error: MeshError) => void): ListenerHandle;
  /** Renews now (joins a renewal in flight); resolves with the new material or rejects with the failure. */
  renewNow(): Promise<IdentityMaterial>;
  /** Stops timers, rejects waiters with `WEFT_ERR_CLOSED`, closes the signer. Idempotent. */
  close(): void;
}

function toMeshError(err: unknown): MeshError {
  if (isMeshError(err)) return err;
  return new MeshError('WEFT_ERR_CERT_UNAVAILABLE', `certificate request failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

function listenerSet<T>(): { add(fn: (v: T) => void): ListenerHandle; emit(v: T): void } {
  const fns = new Set<(v: T) => void>();
  return {
    add(fn) {
      fns.add(fn);
      const cancel = (): void => void fns.delete(fn);
      return { cancel, [Symbol.dispose]: cancel };
    },
    emit(v) {
      for (const fn of fns) {
        try {
          fn(v);
        } catch {
          // A listener's failure must not stop the identity from rotating.
        }
      }
    },
  };
}

/** Creates the identity and starts obtaining its first certificate (asynchronously). */
export function createWorkloadIdentity(options: WorkloadIdentityOptions): WorkloadIdentity {
  const trustDomain = options.trustDomain ?? 'cluster.local';
  const spiffeId = formatSpiffeId({ trustDomain, namespace: options.namespace, serviceAccount: options.serviceAccount });
  const certTtlMs = options.certTtlMs ?? 86_400_000;
  const fraction = options.rotateAtFraction ?? 0.5;
  const retryMinMs = options.retryMinMs ?? 250;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const tokenOf = (): string | undefined =>
    typeof options.token === 'function' ? options.token() : options.token ?? readJoinToken();

  let current: IdentityMaterial | undefined;
  let currentKey: KeyObject | undefined;
  let inFlight: Promise<IdentityMaterial> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  let lastError: MeshError | undefined;
  let isClosed = false;
  /** Aborted by close(): cancels a CreateCertificate call in flight. */
  const lifetime = new AbortController();
  const rotated = listenerSet<IdentityMaterial>();
  const errored = listenerSet<MeshError>();
  const waiters = new Set<{ resolve(m: IdentityMaterial): void; reject(e: unknown): void }>();

  const schedule = (delayMs: number): void => {
    if (isClosed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void attempt().catch(() => {}), Math.max(0, delayMs));
    timer.unref();
  };

  const request = async (credentials: SignerCredentials, csrPem: string): Promise<{ certChainPem: string[]; trustBundlePem: string[] }> => {
    const signed = await options.signer.sign({ csrPem, validitySeconds: Math.max(1, Math.round(certTtlMs / 1000)), credentials, signal: lifetime.signal });
    const bundle = signed.trustBundlePem?.length ? signed.trustBundlePem : signed.certChainPem.slice(-1);
    return { certChainPem: signed.certChainPem, trustBundlePem: bundle };
  };

  const obtain = async (): Promise<{ material: IdentityMaterial; key: KeyObject }> => {
    const { privateKey, publicKey } = options.keyAlgorithm === 'rsa-2048'
      ? await generateKeyPairAsync('rsa', { modulusLength: 2048 })
      : await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
    const csr = createWorkloadCsr(privateKey, publicKey, spiffeId);
    let result: { certChainPem: string[]; trustBundlePem: string[] } | undefined;
    if (current !== undefined && currentKey !== undefined && Date.now() < current.notAfterMs) {
      try {
        const csrSignature = sign('sha256', csr.der, currentKey);
        result = await request({ kind: 'certificate', certChainPem: current.certChainPem, csrSignature }, csr.pem);
      } catch (err) {
        // A refused renewal (e.g. the root was rotated out) falls back to the join token; an
        // unreachable CA does not (the token would fail the same way, hiding the real cause).
        if (!isMeshError(err) || err.code === 'WEFT_ERR_CERT_UNAVAILABLE' || err.code === 'WEFT_ERR_CLOSED' || tokenOf() === undefined) throw err;
      }
    }
    if (result === undefined) {
      const token = tokenOf();
      if (token === undefined) {
        throw new MeshError('WEFT_ERR_CERT_UNAVAILABLE', `no join token for ${spiffeId}: set WEFT_TOKEN or WEFT_TOKEN_FILE (weft token create --namespace ${options.namespace} --service-account ${options.serviceAccount})`);
      }
      result = await request({ kind: 'token', token }, csr.pem);
    }
    const verified = verifyCertificateChain(result.certChainPem, result.trustBundlePem, { trustDomain, expectedSpiffeId: spiffeId });
    const leafKey = verified.leaf.publicKey.export({ type: 'spki', format: 'der' });
    if (!leafKey.equals(publicKey.export({ type: 'spki', format: 'der' }))) {
      throw new MeshError('WEFT_ERR_CERT_INVALID', `the CA returned a certificate for ${spiffeId} that does not certify this workload's key`, { details: { reason: 'key-mismatch' } });
    }
    const material: IdentityMaterial = {
      spiffeId,
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      certChainPem: result.certChainPem,
      trustBundlePem: result.trustBundlePem,
      notBeforeMs: verified.notBeforeMs,
      notAfterMs: verified.notAfterMs,
      generation: (current?.generation ?? 0) + 1,
    };
    return { material, key: privateKey };
  };

  const attempt = (): Promise<IdentityMaterial> => {
    if (isClosed) return Promise.reject(new MeshError('WEFT_ERR_CLOSED', `workload identity ${spiffeId} is closed`));
    if (inFlight !== undefined) return inFlight;
    inFlight = obtain().then(
      ({ material, key }) => {
        inFlight = undefined;
        if (isClosed) return material;
        const obtainedAt = Date.now();
        current = Object.freeze(material);
        currentKey = key;
        failures = 0;
        lastError = undefined;
        schedule((material.notAfterMs - obtainedAt) * fraction);
        for (const w of waiters) w.resolve(current);
        waiters.clear();
        rotated.emit(current);
        return current;
      },
      (err: unknown) => {
        inFlight = undefined;
        const error = toMeshError(err);
        lastError = error;
        failures++;
        let backoff = Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(failures - 1, 16));
        // While a certificate is still valid, retry often enough to renew before it expires.
        if (current !== undefined) backoff = Math.min(backoff, Math.max(retryMinMs, (current.notAfterMs - Date.now()) / 4));
        schedule(backoff * (0.75 + Math.random() * 0.5));
        errored.emit(error);
        throw error;
      },
    );
    return inFlight;
  };

  // The first attempt starts on the next turn (never synchronously inside the constructor) and
  // is not an unref'd timer, so a process that awaits ready() is kept alive until it settles.
  const firstAttempt = setImmediate(() => void attempt().catch(() => {}));

  return {
    spiffeId,
    current: () => current,
    ready({ signal, timeoutMs = 15_000 } = {}) {
      if (isClosed) return Promise.reject(new MeshError('WEFT_ERR_CLOSED', `workload identity ${spiffeId} is closed`));
      if (current !== undefined) return Promise.resolve(current);
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<IdentityMaterial>((resolve, reject) => {
        const done = (): void => {
          clearTimeout(deadline);
          signal?.removeEventListener('abort', onAbort);
          waiters.delete(waiter);
        };
        const waiter = {
          resolve: (m: IdentityMaterial) => { done(); resolve(m); },
          reject: (e: unknown) => { done(); reject(e); },
        };
        const onAbort = (): void => waiter.reject(signal?.reason);
        const deadline = setTimeout(() => {
          waiter.reject(new MeshError('WEFT_ERR_CERT_UNAVAILABLE', `no certificate for ${spiffeId} within ${timeoutMs} ms${lastError ? `: ${lastError.message}` : ''}`, { cause: lastError }));
        }, timeoutMs);
        // Deliberately not unref'd: a caller awaiting ready() keeps the process alive for at most
        // timeoutMs, so the promise always settles instead of the process exiting mid-wait.
        signal?.addEventListener('abort', onAbort, { once: true });
        waiters.add(waiter);
      });
    },
    onRotate: (listener) => rotated.add(listener),
    onError: (listener) => errored.add(listener),
    renewNow: () => attempt(),
    close() {
      if (isClosed) return;
      isClosed = true;
      clearImmediate(firstAttempt);
      clearTimeout(timer);
      lifetime.abort(new MeshError('WEFT_ERR_CLOSED', `workload identity ${spiffeId} is closed`));
      const err = new MeshError('WEFT_ERR_CLOSED', `workload identity ${spiffeId} is closed`);
      for (const w of waiters) w.reject(err);
      waiters.clear();
      options.signer.close?.();
    },
  };
}
