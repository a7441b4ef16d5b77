/**
 * `weft envoy-bootstrap --service S --port APP_PORT [--namespace N] [--xds-address H:P]
 * [--labels k=v,…] [--service-account SA] [--ip A|auto] [--workload-name W] [--node-id ID]`:
 * prints the Envoy v3 bootstrap (JSON) of a sidecar in front of a non-Node app (see
 * xds/envoy/bootstrap.ts). `--ip auto` takes the first non-internal IPv4 address of this
 * network namespace (a compose sidecar shares the app's). `--certs-dir DIR` puts the workload's
 * certificate files (`cert-chain.pem`, `key.pem`, `root-cert.pem`, as `weft bootstrap` names
 * them) in the bootstrap as static secrets; with `--ca-dir` or `--admin` they are minted first
 * (bootstrap-certs.ts).
 */
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { MeshError } from '@weft/xds-client';
import { makeEnvoyBootstrap } from '../../xds/envoy/bootstrap.ts';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../parse-args.ts';
import { CERT_FILES, certsDirOf, mintIfAsked } from './bootstrap-certs.ts';
import { WORKLOAD_OPTIONS } from './bootstrap.ts';

const help = `Usage: weft envoy-bootstrap --service S --port APP_PORT [--namespace N] [--xds-address HOST:PORT]
                            [--labels k=v,…] [--service-account SA] [--ip A|auto] [--workload-name W]
                            [--node-id ID] [--domain-suffix SUFFIX]
                            [--certs-dir DIR [--ca-dir CA | --admin URL] [--trust-domain TD]]

Prints an Envoy v3 bootstrap (JSON) for an Envoy sidecar in front of an app that is not meshed
by the SDK. Envoy then gets its listeners, routes, clusters and endpoints from the control plane
over ADS: outbound 127.0.0.1:15001 (set http_proxy=http://127.0.0.1:15001 in the app), inbound
0.0.0.0:15006 (peers reach the app there), admin 127.0.0.1:15000, readiness :15021/healthz/ready,
Prometheus :15090/stats/prometheus. The node registers the app as an endpoint of --service.

  --service S         service the app serves (short name or FQDN); labels get app=<short name>
  --port APP_PORT     port the app listens on (HTTP); the inbound listener forwards there
  --namespace N       namespace (default default); --service-account defaults to the short name
  --xds-address       control plane xDS address (default 127.0.0.1:15010; a DNS name is fine)
  --ip A|auto         this workload's address as peers reach it (default 127.0.0.1; auto: the
                      first non-internal IPv4 address here)
  --node-id ID        the whole node id (default sidecar~IP~WORKLOAD.NS~NS.svc.cluster.local)
  --certs-dir DIR     the workload's certificate (DIR/cert-chain.pem, DIR/key.pem, DIR/root-cert.pem)
                      as static secrets default and ROOTCA: the sidecar then takes part in mTLS.
                      Without it, auto mTLS is plaintext and STRICT ports refuse connections
  --ca-dir CA         also mint those files, signed by the CA in directory CA
  --admin URL         also mint them through the running control plane (its admin port URL)
  --trust-domain TD   SPIFFE trust domain of the minted certificate (default cluster.local)
`;

function autoIp(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new MeshError('WEFT_ERR_USAGE', 'weft envoy-bootstrap: --ip auto found no non-internal IPv4 address; give --ip');
}

/** See the module comment. */
export const envoyBootstrapCommand: Command = {
  name: 'envoy-bootstrap',
  summary: 'print an Envoy bootstrap for the sidecar mode (non-Node services)',
  synopsis: '--service S --port 8000 [--namespace N] [--xds-address 127.0.0.1:15010] [--labels version=v1] [--service-account SA] [--ip 127.0.0.1|auto] [--node-id ID] [--certs-dir DIR [--ca-dir CA | --admin URL]]',
  async run(args) {
    const { values } = parseCommandArgs('envoy-bootstrap', {
      args,
      options: { ...WORKLOAD_OPTIONS, port: { type: 'string' }, 'node-id': { type: 'string' } },
    });
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    if (values.service === undefined) throw new MeshError('WEFT_ERR_USAGE', 'weft envoy-bootstrap: --service is required');
    if (values.port === undefined || !/^\d{1,5}$/.test(values.port as string)) throw new MeshError('WEFT_ERR_USAGE', `weft envoy-bootstrap: --port must be the app's port number, got "${values.port ?? ''}"`);
    const ip = values.ip === 'auto' ? autoIp() : (values.ip as string);
    const dir = certsDirOf('envoy-bootstrap', values);
    const bootstrap = makeEnvoyBootstrap({
      service: values.service as string,
      namespace: values.namespace as string,
      appPort: Number(values.port),
      xdsAddress: values['xds-address'] as string,
      ip,
      ...(values.labels ? { labels: values.labels as string } : {}),
      ...(values['service-account'] ? { serviceAccount: values['service-account'] as string } : {}),
      ...(values['workload-name'] ? { workloadName: values['workload-name'] as string } : {}),
      ...(values['node-id'] ? { nodeId: values['node-id'] as string } : {}),
      ...(values['domain-suffix'] ? { domainSuffix: values['domain-suffix'] as string } : {}),
      ...(dir ? { secretFiles: { certificateChain: join(dir, CERT_FILES.certificate), privateKey: join(dir, CERT_FILES.privateKey), trustedCa: join(dir, CERT_FILES.roots) } } : {}),
    });
    const metadata = (bootstrap.node as { metadata: Record<string, unknown> }).metadata;
    await mintIfAsked('envoy-bootstrap', values, { certsDir: dir, namespace: values.namespace as string, serviceAccount: String(metadata.SERVICE_ACCOUNT), xdsAddress: values['xds-address'] as string });
    process.stdout.write(`${JSON.stringify(bootstrap, null, 2)}\n`);
    return 0;
  },
};
