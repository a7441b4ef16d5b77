/**
 * Certificate provider instances (gRFC A29) as the TLS contexts of xDS name them
 * (`instance_name` + `certificate_name`): which key, chain and roots a server chain or an
 * upstream cluster uses. Istio names the workload's own identity instance `default`, and the CA
 * roots `ROOTCA` inside it. Resolution:
 *
 * - an instance listed in the bootstrap `certificate_providers` with plugin `file_watcher`
 *   reads its PEM files (`certificate_file`, `private_key_file`, `ca_certificate_file`), re-read
 *   when their modification time changes (checked at most every `refresh_interval`, 10 s);
 * - otherwise the instance is the workload identity (see `createWorkloadIdentity`): its current
 *   certificate, key and trust bundle.
 *
 * Per connection the adapters ask for {@link CertificateProviders.credentials}; the result (and
 * its SecureContext) is the same object for one certificate generation, so nothing is built per
 * connection and a rotation is picked up by the next connection.
 */
import { readFileSync, statSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { ErrorCode, MeshError } from '@weft/xds-client';
import type { CertificateProviderConfig } from '@weft/xds-client';
import { identitySecureContext, identityTlsOptions } from '../identity/tls-material.ts';
import type { IdentityMaterial, WorkloadIdentity } from '../identity/workload-identity.ts';
import { parseSpiffeId, spiffeUrisOf } from '../identity/spiffe-id.ts';
import { X509Certificate } from 'node:crypto';

/** Key, chain and roots of one instance at one point in time. Immutable. */
export interface TlsCredentials {
  /** PEM private key; absent for a roots-only instance. */
  readonly key?: string;
  /** PEM chain (leaf first); absent for a roots-only instance. */
  readonly cert?: string;
  /** PEM roots to verify peers with. */
  readonly ca: readonly string[];
  /** `key` + `cert` + `ca` as one SecureContext, built once for this object. */
  readonly secureContext: SecureContext;
  /** The SPIFFE ID the certificate carries, when it has one. */
  readonly spiffeId?: string;
  /** The trust domain of `spiffeId` (peers are checked against it). */
  readonly trustDomain?: string;
}

/** Resolves certificate provider instances; see the module comment. */
export interface CertificateProviders {
  /**
   * The current credentials of `instanceName`, or undefined when none exist yet (the identity
   * has no certificate). Throws `WEFT_ERR_CERT_UNAVAILABLE` when a `file_watcher` file cannot
   * be read, `WEFT_ERR_CONFIG_INVALID` for a plugin other than `file_watcher`.
   */
  credentials(instanceName: string): TlsCredentials | undefined;
  /** Waits (bounded) for the credentials of `instanceName`; rejects like `WorkloadIdentity.ready`. */
  ready(instanceName: string, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<TlsCredentials>;
  /**
   * Credentials read from PEM files that a cluster names (DestinationRule SIMPLE/MUTUAL with
   * `caCertificates` / `clientCertificate` / `privateKey`), re-read when a file changes (checked
   * at most every 10 s, like a `file_watcher` instance). Throws `WEFT_ERR_CERT_UNAVAILABLE` when
   * a file cannot be read.
   */
  fileCredentials(files: { readonly certificateChain?: string; readonly privateKey?: string; readonly ca?: string }): TlsCredentials;
}

/** Options of {@link createCertificateProviders}. */
export interface CertificateProvidersOptions {
  /** The workload identity, read at each call (it may be set after the providers are created). */
  identity?: () => WorkloadIdentity | undefined;
  /** The bootstrap `certificate_providers` map. */
  bootstrapProviders?: Readonly<Record<string, CertificateProviderConfig>>;
  /** Clock for file re-checks; default `Date.now`. */
  now?: () => number;
}

const byMaterial = new WeakMap<IdentityMaterial, TlsCredentials>();

function fromIdentity(material: IdentityMaterial): TlsCredentials {
  let creds = byMaterial.get(material);
  if (creds === undefined) {
    const opts = identityTlsOptions(material);
    creds = Object.freeze({
      key: opts.key,
      cert: opts.cert,
      ca: Object.freeze(opts.ca),
      secureContext: identitySecureContext(material),
      spiffeId: material.spiffeId,
      trustDomain: parseSpiffeId(material.spiffeId)?.trustDomain,
    });
    byMaterial.set(material, creds);
  }
  return creds;
}

interface FileWatcher {
  checkedAtMs: number;
  stamp: string;
  creds: TlsCredentials | undefined;
}

function fileStamp(files: readonly string[]): string {
  return files.map((f) => `${f}@${statSync(f).mtimeMs}`).join('|');
}

function readFileCredentials(name: string, config: Readonly<Record<string, unknown>>): { files: string[]; creds: TlsCredentials } {
  const file = (k: string): string | undefined => (typeof config[k] === 'string' && config[k] !== '' ? (config[k] as string) : undefined);
  const certFile = file('certificate_file');
  const keyFile = file('private_key_file');
  const caFile = file('ca_certificate_file');
  const files = [certFile, keyFile, caFile].filter((f): f is string => f !== undefined);
  try {
    const cert = certFile && readFileSync(certFile, 'utf8');
    const key = keyFile && readFileSync(keyFile, 'utf8');
    const ca = caFile ? [readFileSync(caFile, 'utf8')] : [];
    const secureContext = createSecureContext({ ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(ca.length ? { ca } : {}) });
    const uri = cert ? spiffeUrisOf(new X509Certificate(cert))[0] : undefined;
    return {
      files,
      creds: Object.freeze({ ...(key ? { key } : {}), ...(cert ? { cert } : {}), ca, secureContext, spiffeId: uri, trustDomain: uri ? parseSpiffeId(uri)?.trustDomain : undefined }),
    };
  } catch (cause) {
    throw new MeshError(ErrorCode.certUnavailable, `certificate provider ${name} (file_watcher): ${(cause as Error).message}`, { cause, details: { instance: name, files } });
  }
}

/** Creates the resolver; see the module comment. */
export function createCertificateProviders(options: CertificateProvidersOptions = {}): CertificateProviders {
  const now = options.now ?? Date.now;
  const watchers = new Map<string, FileWatcher>();
  const fromFiles = (name: string, cfg: CertificateProviderConfig): TlsCredentials | undefined => {
    if (cfg.pluginName !== 'file_watcher') {
      throw new MeshError(ErrorCode.configInvalid, `certificate provider ${name}: plugin ${cfg.pluginName} is not supported (use file_watcher)`, { details: { instance: name } });
    }
    const refresh = typeof cfg.config['refresh_interval'] === 'string' ? Number.parseFloat(cfg.config['refresh_interval'] as string) * 1000 : 10_000;
    const refreshMs = Number.isFinite(refresh) && refresh > 0 ? refresh : 10_000;
    const t = now();
    let w = watchers.get(name);
    if (w !== undefined && t - w.checkedAtMs < refreshMs) return w.creds;
    let stamp: string;
    try {
      stamp = fileStamp(watchedFiles(cfg.config));
    } catch (cause) {
      throw new MeshError(ErrorCode.certUnavailable, `certificate provider ${name} (file_watcher): ${(cause as Error).message}`, { cause, details: { instance: name } });
    }
    if (w === undefined || stamp !== w.stamp) {
      w = { checkedAtMs: t, stamp, creds: readFileCredentials(name, cfg.config).creds };
      watchers.set(name, w);
    } else {
      w.checkedAtMs = t;
    }
    return w.creds;
  };
  const credentials = (instanceName: string): TlsCredentials | undefined => {
    const cfg = options.bootstrapProviders?.[instanceName];
    if (cfg !== undefined) return fromFiles(instanceName, cfg);
    const material = options.identity?.()?.current();
    return material === undefined ? undefined : fromIdentity(material);
  };
  return {
    credentials,
    fileCredentials(files) {
      const config = {
        ...(files.certificateChain ? { certificate_file: files.certificateChain } : {}),
        ...(files.privateKey ? { private_key_file: files.privateKey } : {}),
        ...(files.ca ? { ca_certificate_file: files.ca } : {}),
      };
      const name = `files:${watchedFiles(config).join(',')}`;
      return fromFiles(name, { pluginName: 'file_watcher', config }) as TlsCredentials;
    },
    async ready(instanceName, readyOptions = {}) {
      const found = credentials(instanceName);
      if (found !== undefined) return found;
      const identity = options.identity?.();
      if (identity === undefined) {
        throw new MeshError(ErrorCode.certUnavailable, `no certificate for provider instance "${instanceName}": this workload has no identity (set WEFT_MTLS=on and a join token)`, {
          details: { instance: instanceName },
        });
      }
      return fromIdentity(await identity.ready(readyOptions));
    },
  };
}

function watchedFiles(config: Readonly<Record<string, unknown>>): string[] {
  return ['certificate_file', 'private_key_file', 'ca_certificate_file'].map((k) => config[k]).filter((f): f is string => typeof f === 'string' && f !== '');
}
