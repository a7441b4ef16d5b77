/**
 * `weft token create --namespace N --service-account S [--ttl D] [--admin URL | --ca-dir DIR]
 * [--trust-domain TD]`: prints a join token for that identity on stdout (nothing else, so
 * `WEFT_TOKEN=$(weft token create …)` works). By default it asks the running control plane
 * (`POST /ca/token` on its loopback admin port); with `--ca-dir` it signs locally with the key
 * in that CA directory (the process must be able to read it).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MeshError } from '@weft/xds-client';
import { createCertificateAuthority } from '../../ca/certificate-authority.ts';
import { parseDurationMs } from '../../ca/duration.ts';
import { TOKEN_ADMIN_PATH } from '../../ca/token-admin-handler.ts';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../parse-args.ts';

async function fromAdmin(admin: string, body: { namespace: string; serviceAccount: string; ttl?: string }): Promise<string> {
  const url = `${admin.replace(/\/+$/, '')}${TOKEN_ADMIN_PATH}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000),
    });
  } catch (err) {
    throw new MeshError('WEFT_ERR_XDS_UNAVAILABLE', `weft token create: cannot reach the control plane admin at ${url}: ${(err as Error).message} (or sign locally with --ca-dir)`, {
      cause: err, details: { admin },
    });
  }
  const answer = (await res.json().catch(() => ({}))) as { token?: string; error?: { code?: string; message?: string } };
  if (!res.ok || typeof answer.token !== 'string') {
    const code = answer.error?.code === 'WEFT_ERR_USAGE' ? 'WEFT_ERR_USAGE' : 'WEFT_ERR_UNAUTHORIZED';
    throw new MeshError(code, `weft token create: ${url} answered ${res.status}: ${answer.error?.message ?? 'no token'}`, { details: { admin } });
  }
  return answer.token;
}

/** See the module comment. */
export const tokenCommand: Command = {
  name: 'token',
  summary: 'create a join token that entitles a workload to its SPIFFE identity',
  synopsis: 'create --namespace N --service-account S [--ttl 1h] [--admin http://127.0.0.1:15014 | --ca-dir DIR] [--trust-domain cluster.local]',
  async run(args) {
    const { values, positionals } = parseCommandArgs('token', {
      args,
      allowPositionals: true,
      options: {
        namespace: { type: 'string', short: 'n' },
        'service-account': { type: 'string' },
        ttl: { type: 'string' },
        admin: { type: 'string' },
        'ca-dir': { type: 'string' },
        'trust-domain': { type: 'string', default: 'cluster.local' },
      },
    });
    if (positionals[0] !== 'create' || positionals.length !== 1) {
      throw new MeshError('WEFT_ERR_USAGE', 'weft token: expected "weft token create --namespace N --service-account S"');
    }
    const namespace = values.namespace as string | undefined;
    const serviceAccount = values['service-account'] as string | undefined;
    if (!namespace || !serviceAccount) throw new MeshError('WEFT_ERR_USAGE', 'weft token create: --namespace and --service-account are required');
    if (values.admin !== undefined && values['ca-dir'] !== undefined) {
      throw new MeshError('WEFT_ERR_USAGE', 'weft token create: give --admin or --ca-dir, not both');
    }
    const ttl = values.ttl as string | undefined;
    const ttlMs = ttl === undefined ? undefined : parseDurationMs(ttl, 'weft token create --ttl');
    let token: string;
    if (values['ca-dir'] !== undefined) {
      const caDir = values['ca-dir'] as string;
      // Never initialise a CA here: a token signed by a fresh key would be useless to the running control plane.
      if (!existsSync(join(caDir, 'token-key'))) {
        throw new MeshError('WEFT_ERR_CONFIG_IO', `weft token create: ${caDir} holds no Weft CA (no token-key); start the control plane with --ca-dir ${caDir} first, or use --admin`, {
          details: { caDir },
        });
      }
      const ca = createCertificateAuthority({ caDir, trustDomain: values['trust-domain'] as string });
      token = ca.createJoinToken({ namespace, serviceAccount, ...(ttlMs ? { ttlMs } : {}) }).token;
    } else {
      token = await fromAdmin((values.admin as string | undefined) ?? 'http://127.0.0.1:15014', { namespace, serviceAccount, ...(ttl ? { ttl } : {}) });
    }
    process.stdout.write(`${token}\n`);
    return 0;
  },
};
