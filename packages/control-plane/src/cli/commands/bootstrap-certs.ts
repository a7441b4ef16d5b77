/**
 * Workload certificate files for `weft bootstrap --certs-dir DIR`: the three PEM files that
 * Istio's proxyless bootstrap points its `file_watcher` certificate provider at
 * (`cert-chain.pem`, `key.pem`, `root-cert.pem`), and, when asked, minting them: a fresh EC
 * P-256 key and CSR for `spiffe://<td>/ns/<ns>/sa/<sa>`, signed by the CA in `--ca-dir`
 * (locally) or by the running control plane (`--admin`: a join token from its admin port, then
 * CreateCertificate on its xDS port). Files are written only after the certificate is issued
 * (key 0600) and renamed into place together, so a failed CA call leaves the old files alone.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { join, resolve } from 'node:path';
import { MeshError, createGrpcCertificateSigner } from '@weft/xds-client';
import { createCertificateAuthority } from '../../ca/certificate-authority.ts';
import { TOKEN_ADMIN_PATH } from '../../ca/token-admin-handler.ts';

/** File names inside the certificates directory, as Istio's proxyless bootstrap names them. */
export const CERT_FILES = { certificate: 'cert-chain.pem', privateKey: 'key.pem', roots: 'root-cert.pem' } as const;

/** The A29 `certificate_providers` block for `dir` (absolute paths; refreshed every 15 min like Istio). */
export function fileWatcherProviders(dir: string): Record<string, unknown> {
  const abs = resolve(dir);
  return {
    default: {
      plugin_name: 'file_watcher',
      config: {
        certificate_file: join(abs, CERT_FILES.certificate),
        private_key_file: join(abs, CERT_FILES.privateKey),
        ca_certificate_file: join(abs, CERT_FILES.roots),
        refresh_interval: '900s',
      },
    },
  };
}

/** Inputs of {@link mintWorkloadCerts}; exactly one of `caDir` and `admin`. */
export interface MintWorkloadCertsOptions {
  certsDir: string;
  namespace: string;
  serviceAccount: string;
  trustDomain: string;
  /** Sign locally with the CA in this directory (must already exist). */
  caDir?: string;
  /** Ask the running control plane: its admin URL (join token) … */
  admin?: string;
  /** … and its xDS address `host:port` (CreateCertificate). */
  xdsAddress?: string;
  /** Certificate lifetime; 24 h by default. */
  ttlMs?: number;
}

async function tokenFromAdmin(admin: string, namespace: string, serviceAccount: string): Promise<string> {
  const url = `${admin.replace(/\/+$/, '')}${TOKEN_ADMIN_PATH}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ namespace, serviceAccount, ttl: '5m' }), signal: AbortSignal.timeout(5000) });
  } catch (err) {
    throw new MeshError('WEFT_ERR_XDS_UNAVAILABLE', `weft bootstrap: cannot reach the control plane admin at ${url}: ${(err as Error).message}`, { cause: err, details: { admin } });
  }
  const body = (await res.json().catch(() => ({}))) as { token?: string; error?: { message?: string } };
  if (!res.ok || typeof body.token !== 'string') {
    throw new MeshError('WEFT_ERR_UNAUTHORIZED', `weft bootstrap: ${url} answered ${res.status}: ${body.error?.message ?? 'no token'} (is the control plane running with --ca-dir?)`, { details: { admin } });
  }
  return body.token;
}

/**
 * Mints and writes the three files; resolves to the SPIFFE ID certified. Rejects with
 * `WEFT_ERR_USAGE` (bad options), `WEFT_ERR_CONFIG_IO` (no CA in `caDir`, unwritable directory)
 * or the CA's errors (`WEFT_ERR_UNAUTHORIZED`, `WEFT_ERR_CERT_UNAVAILABLE`, …).
 */
export async function mintWorkloadCerts(o: MintWorkloadCertsOptions): Promise<string> {
  if ((o.caDir === undefined) === (o.admin === undefined)) throw new MeshError('WEFT_ERR_USAGE', 'weft bootstrap: give --ca-dir or --admin (not both) to mint certificates');
  const spiffeId = `spiffe://${o.trustDomain}/ns/${o.namespace}/sa/${o.serviceAccount}`;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // @weft/core holds the CSR encoder the SDK uses; loaded only when minting.
  const { createWorkloadCsr } = await import('@weft/core');
  const csr = createWorkloadCsr(privateKey, publicKey, spiffeId);
  const ttlMs = o.ttlMs ?? 24 * 3_600_000;
  let chain: string[];
  let roots: string[];
  if (o.caDir !== undefined) {
    // Never initialise a CA here: certificates from a fresh root would be useless to the mesh.
    if (!existsSync(join(o.caDir, 'token-key'))) {
      throw new MeshError('WEFT_ERR_CONFIG_IO', `weft bootstrap: ${o.caDir} holds no Weft CA; start the control plane with --ca-dir ${o.caDir} first, or use --admin`, { details: { caDir: o.caDir } });
    }
    const ca = createCertificateAuthority({ caDir: o.caDir, trustDomain: o.trustDomain });
    chain = ca.issue(csr.pem, { spiffeId, ttlMs }).certChainPem;
    roots = ca.trustBundlePem();
  } else {
    const token = await tokenFromAdmin(o.admin as string, o.namespace, o.serviceAccount);
    const signer = createGrpcCertificateSigner({ address: o.xdsAddress ?? '127.0.0.1:15010' });
    try {
      const res = await signer.sign({ csrPem: csr.pem, validitySeconds: Math.round(ttlMs / 1000), credentials: { kind: 'token', token } });
      chain = res.certChainPem;
      roots = res.trustBundlePem ?? chain.slice(-1);
    } finally {
      signer.close();
    }
  }
  try {
    mkdirSync(o.certsDir, { recursive: true, mode: 0o700 });
    const files: [string, string, number][] = [
      [CERT_FILES.privateKey, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600],
      [CERT_FILES.certificate, chain.map((c) => (c.endsWith('\n') ? c : `${c}\n`)).join(''), 0o644],
      [CERT_FILES.roots, roots.map((c) => (c.endsWith('\n') ? c : `${c}\n`)).join(''), 0o644],
    ];
    // all three written aside first, then renamed into place
    for (const [name, text, mode] of files) writeFileSync(join(o.certsDir, `.${name}.tmp`), text, { mode });
    for (const [name] of files) renameSync(join(o.certsDir, `.${name}.tmp`), join(o.certsDir, name));
  } catch (err) {
    throw new MeshError('WEFT_ERR_CONFIG_IO', `weft bootstrap: cannot write certificates to ${o.certsDir}: ${(err as Error).message}`, { cause: err, details: { certsDir: o.certsDir } });
  }
  return spiffeId;
}

/** The certificate options `weft bootstrap` and `weft envoy-bootstrap` share (for `parseCommandArgs`). */
export const CERT_OPTIONS = {
  'certs-dir': { type: 'string' },
  'ca-dir': { type: 'string' },
  admin: { type: 'string' },
  'trust-domain': { type: 'string', default: 'cluster.local' },
} as const;

/** The parsed values of {@link CERT_OPTIONS}. */
export interface CertOptionValues {
  readonly 'certs-dir'?: string;
  readonly 'ca-dir'?: string;
  readonly admin?: string;
  readonly 'trust-domain'?: string;
}

/**
 * The certificate directory asked for (absolute), after checking the options: minting
 * (`--ca-dir`/`--admin`) needs `--certs-dir` to write to (`WEFT_ERR_USAGE` naming `command`).
 */
export function certsDirOf(command: string, values: CertOptionValues): string | undefined {
  const certsDir = values['certs-dir'];
  if (!certsDir && (values['ca-dir'] !== undefined || values.admin !== undefined)) {
    throw new MeshError('WEFT_ERR_USAGE', `weft ${command}: --ca-dir and --admin mint certificates and need --certs-dir DIR to write them to`);
  }
  return certsDir === undefined ? undefined : resolve(certsDir);
}

/** Mints the workload certificate into `certsDir` when `--ca-dir` or `--admin` asked for it, and says so on stderr. */
export async function mintIfAsked(command: string, values: CertOptionValues, o: { certsDir: string | undefined; namespace: string; serviceAccount: string; xdsAddress: string }): Promise<void> {
  if (o.certsDir === undefined || (values['ca-dir'] === undefined && values.admin === undefined)) return;
  const spiffeId = await mintWorkloadCerts({
    certsDir: o.certsDir,
    namespace: o.namespace,
    serviceAccount: o.serviceAccount,
    trustDomain: values['trust-domain'] ?? 'cluster.local',
    xdsAddress: o.xdsAddress,
    ...(values['ca-dir'] !== undefined ? { caDir: values['ca-dir'] } : {}),
    ...(values.admin !== undefined ? { admin: values.admin } : {}),
  });
  process.stderr.write(`weft ${command}: wrote a certificate for ${spiffeId} to ${o.certsDir}\n`);
}
