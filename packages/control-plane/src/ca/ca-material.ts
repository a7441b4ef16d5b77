/**
 * The CA's key material on disk, laid out like Istio's `cacerts` secret so that a plug-in CA
 * is just a directory an operator fills:
 *
 * | file | content |
 * |---|---|
 * | `ca-cert.pem` | the signing certificate (the root itself when self-signed) |
 * | `ca-key.pem` | its RSA private key (mode 0600) |
 * | `root-cert.pem` | the trusted root(s) |
 * | `cert-chain.pem` | chain from `ca-cert.pem` up to the root |
 * | `token-key` | 32 random bytes, the HMAC key of join tokens (mode 0600, Weft's own) |
 * | `previous-roots.json` | roots retired by a rotation and trusted until a deadline (Weft's own) |
 * | `next-root/` | a staged root (`ca-cert.pem`, `ca-key.pem`, `activation.json`): trusted at once, signing from its activation time (Weft's own) |
 *
 * On first start with an empty directory a self-signed root is generated; later starts reuse it.
 */
import { createPrivateKey, generateKeyPair, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { MeshError } from '@weft/xds-client';
import { splitPemCertificates } from './chain-verify.ts';
import { signCertificate } from './x509-sign.ts';

/** The loaded CA state. Immutable: a rotation produces a new value. */
export interface CaMaterial {
  /** Directory the material was read from. */
  caDir: string;
  /** True when Weft generated the root (rotation allowed); false for a plug-in CA. */
  isSelfSigned: boolean;
  /** Signing certificate (forge form, to name the issuer of new certificates). */
  signingCert: forge.pki.Certificate;
  /** Signing certificate, PEM. */
  signingCertPem: string;
  /** Signing key. */
  signingKey: KeyObject;
  /** From the signing certificate up to and including the root, PEM each. */
  signingChainPem: string[];
  /** Every root trusted now: the current root(s) first, then retired roots still in overlap. */
  trustedRootsPem: string[];
  /** Retired roots and the instant (ms) until which they stay trusted. */
  previousRoots: { certPem: string; trustedUntilMs: number }[];
  /** A staged root: already in the trust bundle, signs from `activateAtMs`; the root it replaces stays trusted `overlapMs` after that. */
  nextRoot: { certPem: string; activateAtMs: number; overlapMs: number } | undefined;
  /** HMAC key of join tokens. */
  tokenKey: Buffer;
}

/** Options of {@link loadOrCreateCaMaterial}. */
export interface CaMaterialOptions {
  caDir: string;
  /** Trust domain, written into a generated root's organisation. */
  trustDomain: string;
  /** Lifetime of a generated root; 10 years by default. */
  rootTtlMs?: number;
  /** Clock, for tests. */
  nowMs?: number;
}

const FILES = {
  caCert: 'ca-cert.pem',
  caKey: 'ca-key.pem',
  root: 'root-cert.pem',
  chain: 'cert-chain.pem',
  tokenKey: 'token-key',
  previousRoots: 'previous-roots.json',
  nextDir: 'next-root',
  activation: 'activation.json',
} as const;

const TEN_YEARS_MS = 10 * 365 * 86_400_000;

function writeAtomic(path: string, data: string | Buffer, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

function readText(dir: string, name: string): string | undefined {
  const path = join(dir, name);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** Generates a self-signed RSA-2048 root for `trustDomain`. */
function makeRoot(keys: { publicKey: KeyObject; privateKey: KeyObject }, trustDomain: string, nowMs: number, ttlMs: number): string {
  return signCertificate({
    publicKey: keys.publicKey,
    subject: [{ name: 'organizationName', value: trustDomain }, { name: 'commonName', value: `Weft root CA ${new Date(nowMs).toISOString()}` }],
    issuer: undefined,
    notBefore: new Date(nowMs - 60_000),
    notAfter: new Date(nowMs + ttlMs),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  }, keys.privateKey);
}

function writeSelfSigned(caDir: string, rootPem: string, keyPem: string): void {
  writeAtomic(join(caDir, FILES.caKey), keyPem, 0o600);
  writeAtomic(join(caDir, FILES.caCert), rootPem, 0o644);
  writeAtomic(join(caDir, FILES.chain), rootPem, 0o644);
  writeAtomic(join(caDir, FILES.root), rootPem, 0o644);
}

/**
 * Reads the CA material from `caDir`, creating the directory (0700), a self-signed root and a
 * token key when absent. Throws a MeshError `WEFT_ERR_CERT_INVALID` naming the file when a
 * plug-in file is unreadable, not RSA, or when `ca-cert.pem` and `ca-key.pem` do not match, and
 * `WEFT_ERR_CONFIG_IO` when the directory cannot be written.
 */
export function loadOrCreateCaMaterial(options: CaMaterialOptions): CaMaterial {
  const { caDir, trustDomain } = options;
  const nowMs = options.nowMs ?? Date.now();
  try {
    mkdirSync(caDir, { recursive: true, mode: 0o700 });
    if (!existsSync(join(caDir, FILES.caCert)) && !existsSync(join(caDir, FILES.caKey))) {
      const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const rootPem = makeRoot(keys, trustDomain, nowMs, options.rootTtlMs ?? TEN_YEARS_MS);
      writeSelfSigned(caDir, rootPem, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    }
    if (!existsSync(join(caDir, FILES.tokenKey))) writeAtomic(join(caDir, FILES.tokenKey), randomBytes(32), 0o600);
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('WEFT_ERR_')) throw err;
    throw new MeshError('WEFT_ERR_CONFIG_IO', `cannot initialise CA directory ${caDir}: ${(err as Error).message}`, { cause: err });
  }
  return readCaMaterial(caDir, nowMs);
}

function readCaMaterial(caDir: string, nowMs: number): CaMaterial {
  const bad = (file: string, why: string, cause?: unknown): never => {
    throw new MeshError('WEFT_ERR_CERT_INVALID', `CA file ${join(caDir, file)}: ${why}`, { cause, details: { file: join(caDir, file) } });
  };
  const certPem = readText(caDir, FILES.caCert) ?? bad(FILES.caCert, 'missing (a plug-in CA needs ca-cert.pem, ca-key.pem, root-cert.pem)');
  const keyPem = readText(caDir, FILES.caKey) ?? bad(FILES.caKey, 'missing');
  let signingKey: KeyObject;
  try {
    signingKey = createPrivateKey(keyPem);
  } catch (err) {
    return bad(FILES.caKey, 'not a PEM private key', err);
  }
  if (signingKey.asymmetricKeyType !== 'rsa') bad(FILES.caKey, `key type ${signingKey.asymmetricKeyType} is not supported (RSA only)`);
  let signingCert: forge.pki.Certificate;
  let signingX509: X509Certificate;
  try {
    signingX509 = new X509Certificate(certPem);
    signingCert = forge.pki.certificateFromPem(certPem);
  } catch (err) {
    return bad(FILES.caCert, `not an RSA PEM certificate (${(err as Error).message})`, err);
  }
  if (!signingX509.ca) bad(FILES.caCert, 'is not a CA certificate (basicConstraints CA:FALSE)');
  if (!signingX509.checkPrivateKey(signingKey)) bad(FILES.caKey, 'does not match the public key of ca-cert.pem');
  const rootsPem = splitPemCertificates(readText(caDir, FILES.root) ?? certPem);
  if (rootsPem.length === 0) bad(FILES.root, 'holds no certificate');
  let chainPem = splitPemCertificates(readText(caDir, FILES.chain) ?? '');
  if (chainPem.length === 0) chainPem = [certPem];
  if (new X509Certificate(chainPem[0] as string).fingerprint256 !== signingX509.fingerprint256) chainPem = [certPem, ...chainPem];
  const lastOfChain = new X509Certificate(chainPem[chainPem.length - 1] as string);
  if (!rootsPem.some((r) => new X509Certificate(r).fingerprint256 === lastOfChain.fingerprint256)) chainPem.push(rootsPem[0] as string);
  const isSelfSigned = rootsPem.length === 1 && new X509Certificate(rootsPem[0] as string).fingerprint256 === signingX509.fingerprint256;
  let previousRoots: CaMaterial['previousRoots'] = [];
  const prevText = readText(caDir, FILES.previousRoots);
  if (prevText !== undefined) {
    try {
      previousRoots = (JSON.parse(prevText) as CaMaterial['previousRoots']).filter((p) => p.trustedUntilMs > nowMs);
    } catch (err) {
      bad(FILES.previousRoots, 'is not valid JSON', err);
    }
  }
  let nextRoot: CaMaterial['nextRoot'];
  const nextDir = join(caDir, FILES.nextDir);
  const nextCert = readText(nextDir, FILES.caCert);
  const activation = readText(nextDir, FILES.activation);
  if (nextCert !== undefined && activation !== undefined) {
    try {
      const { activateAtMs, overlapMs } = JSON.parse(activation) as { activateAtMs: number; overlapMs: number };
      nextRoot = { certPem: nextCert, activateAtMs, overlapMs };
    } catch (err) {
      bad(join(FILES.nextDir, FILES.activation), 'is not valid JSON', err);
    }
  }
  return {
    caDir, isSelfSigned, signingCert, signingCertPem: certPem, signingKey, signingChainPem: chainPem,
    trustedRootsPem: [...rootsPem, ...(nextRoot ? [nextRoot.certPem] : []), ...previousRoots.map((p) => p.certPem)], previousRoots, nextRoot,
    tokenKey: readFileSync(join(caDir, FILES.tokenKey)),
  };
}

/**
 * Stages a new self-signed root in `next-root/`: it joins the trust bundle at once, so workloads
 * learn it at their next renewal, and starts signing at `activateAtMs` (see
 * {@link activateStagedRoot}). Replaces a root already staged. Throws `WEFT_ERR_USAGE` for a
 * plug-in CA (its operator replaces the files, keeping the old root in root-cert.pem).
 */
export async function stageSelfSignedRoot(current: CaMaterial, trustDomain: string, activateAtMs: number, overlapMs: number, nowMs = Date.now()): Promise<CaMaterial> {
  if (!current.isSelfSigned) {
    throw new MeshError('WEFT_ERR_USAGE', `CA in ${current.caDir} is a plug-in CA: rotate it by replacing its files, keeping the old root in root-cert.pem`);
  }
  const keys = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const rootPem = makeRoot(keys, trustDomain, nowMs, TEN_YEARS_MS);
  const nextDir = join(current.caDir, FILES.nextDir);
  mkdirSync(nextDir, { recursive: true, mode: 0o700 });
  writeAtomic(join(nextDir, FILES.caKey), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
  writeAtomic(join(nextDir, FILES.caCert), rootPem, 0o644);
  writeAtomic(join(nextDir, FILES.activation), JSON.stringify({ activateAtMs, overlapMs }), 0o644);
  return readCaMaterial(current.caDir, nowMs);
}

/**
 * Makes the staged root the signing root: the current one moves to `previous-roots.json`,
 * trusted for the staged `overlapMs` from now. Synchronous (small file writes). Returns
 * `current` unchanged when nothing is staged, and the directory's state when another process
 * activated the staged root first.
 */
export function activateStagedRoot(current: CaMaterial, nowMs = Date.now()): CaMaterial {
  const next = current.nextRoot;
  if (next === undefined) return current;
  const nextDir = join(current.caDir, FILES.nextDir);
  // Another process on the same directory (a second CA instance) may have activated it already.
  if (!existsSync(join(nextDir, FILES.caKey))) return readCaMaterial(current.caDir, nowMs);
  const keyPem = readFileSync(join(nextDir, FILES.caKey), 'utf8');
  const previous = [
    ...current.previousRoots.filter((p) => p.trustedUntilMs > nowMs),
    { certPem: current.signingCertPem, trustedUntilMs: nowMs + next.overlapMs },
  ];
  writeAtomic(join(current.caDir, FILES.previousRoots), JSON.stringify(previous, null, 2), 0o644);
  writeSelfSigned(current.caDir, next.certPem, keyPem);
  rmSync(nextDir, { recursive: true, force: true });
  return readCaMaterial(current.caDir, nowMs);
}
