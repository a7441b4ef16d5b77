/**
 * Workload identities for the demo: the control plane runs as the mesh CA (`--ca-dir`, a
 * temporary directory the demo owns), and every workload gets `WEFT_MTLS=on` and a join token
 * for `spiffe://cluster.local/ns/<namespace>/sa/<service>`, minted through the control plane's
 * loopback-only `POST /ca/token` — what `weft token create --admin URL` does. With that, the
 * config's STRICT PeerAuthentication on ratings and its AuthorizationPolicy (callers frontend and
 * catalog, by SPIFFE identity) hold for the shop's own traffic.
 */
import { MeshError } from '@weft/xds-client';
import type { EnvContributor } from './shop.ts';

/** Mints (and caches) join tokens: `(namespace, serviceAccount)` → token. */
export type TokenMinter = (namespace: string, serviceAccount: string) => Promise<string>;

/** A {@link TokenMinter} over the control plane's `POST /ca/token` (loopback only). */
export function createTokenMinter(adminUrl: string): TokenMinter {
  const tokens = new Map<string, Promise<string>>();
  const tokenFor = (namespace: string, serviceAccount: string): Promise<string> => {
    const key = `${namespace}/${serviceAccount}`;
    let token = tokens.get(key);
    if (!token) {
      token = (async () => {
        const res = await fetch(`${adminUrl}/ca/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ namespace, serviceAccount, ttl: '24h' }),
          signal: AbortSignal.timeout(10_000),
        });
        if (res.status !== 200) throw new MeshError('WEFT_ERR_CERT_UNAVAILABLE', `demo: POST ${adminUrl}/ca/token for ${key} → ${res.status} ${await res.text()}`);
        return ((await res.json()) as { token: string }).token;
      })();
      tokens.set(key, token);
    }
    return token;
  };
  return tokenFor;
}

/** An {@link EnvContributor} that gives each workload mTLS and a join token for its service account (the service name). */
export function mtlsEnvContributor(mint: TokenMinter): EnvContributor {
  return async ({ namespace, instance }) => ({ WEFT_MTLS: 'on', WEFT_TOKEN: await mint(namespace, instance.service) });
}
