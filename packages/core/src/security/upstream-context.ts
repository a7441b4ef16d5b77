/**
 * The client-side TLS context of one new upstream connection, for both adapters: the identity
 * (a certificate provider instance — the workload identity or a bootstrap `file_watcher` — or the
 * files a cluster names) and the roots (an instance or a file) that the endpoint's
 * {@link UpstreamTlsRequirement} asks for, read at the moment of connecting so a rotated
 * certificate is used by the next connection. Mixed (identity, roots) contexts are cached per
 * pair of credential generations.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import { ErrorCode, MeshError } from '@weft/xds-client';
import type { TlsCredentials } from './certificate-providers.ts';
import type { UpstreamTlsRequirement } from './upstream-tls.ts';

const mixedContexts = new WeakMap<TlsCredentials, WeakMap<TlsCredentials, SecureContext>>();

function combined(identity: TlsCredentials | undefined, roots: TlsCredentials | undefined): SecureContext | undefined {
  if (identity !== undefined && (roots === undefined || roots === identity)) return identity.secureContext;
  if (identity === undefined) return roots?.secureContext;
  let inner = mixedContexts.get(identity);
  if (inner === undefined) mixedContexts.set(identity, (inner = new WeakMap()));
  let ctx = inner.get(roots as TlsCredentials);
  if (ctx === undefined) {
    ctx = createSecureContext({ key: identity.key, cert: identity.cert, ca: [...(roots as TlsCredentials).ca] });
    inner.set(roots as TlsCredentials, ctx);
  }
  return ctx;
}

function noProviders(req: UpstreamTlsRequirement, host: string): MeshError {
  return new MeshError(ErrorCode.certUnavailable, `${req.mode} to ${host} needs certificates but this client has no certificate providers (create it from a Mesh)`, { details: { host } });
}

/**
 * The SecureContext for a new connection to `host` under `req`; undefined = Node's defaults
 * (system roots, no client certificate). Throws `WEFT_ERR_CERT_UNAVAILABLE` when the workload has
 * no certificate yet, roots are missing, or a named file cannot be read.
 */
export function upstreamSecureContext(req: UpstreamTlsRequirement, host: string): SecureContext | undefined {
  const providers = req.providers;
  let identity: TlsCredentials | undefined;
  if (req.identityFiles !== undefined) {
    if (providers === undefined) throw noProviders(req, host);
    identity = providers.fileCredentials({ certificateChain: req.identityFiles.certificateChain, privateKey: req.identityFiles.privateKey });
  } else if (req.identityInstance !== undefined) {
    identity = providers?.credentials(req.identityInstance);
    if (identity?.key === undefined) {
      throw new MeshError(ErrorCode.certUnavailable, `no workload certificate (provider instance "${req.identityInstance}") for ${req.mode} to ${host}: is WEFT_MTLS=on with a join token?`, {
        details: { host, instance: req.identityInstance },
      });
    }
  }
  let roots: TlsCredentials | undefined;
  if (req.validationFile !== undefined) {
    if (providers === undefined) throw noProviders(req, host);
    roots = providers.fileCredentials({ ca: req.validationFile });
  } else if (req.validationInstance !== undefined) {
    roots = providers?.credentials(req.validationInstance);
    if (roots === undefined) throw new MeshError(ErrorCode.certUnavailable, `no trust roots (provider instance "${req.validationInstance}") to verify ${host}`, { details: { host } });
  }
  return combined(identity, roots);
}
