/**
 * `weft bootstrap [--service S] [--namespace N] [--xds-address H:P] [--ports grpc:50051,…]
 * [--labels k=v,…] [--ip A] [--service-account SA] [--workload-name W] [--certs-dir DIR
 * [--ca-dir CA | --admin URL] [--trust-domain TD]]`: prints a gRFC A27 bootstrap (`xds_servers`
 * with `server_features: ["xds_v3"]`, `node` in Istio's form,
 * `server_listener_resource_name_template` for xDS-enabled servers, A36) that grpc-js-xds, gRPC
 * in other languages and the Weft SDK read from `GRPC_XDS_BOOTSTRAP` /
 * `GRPC_XDS_BOOTSTRAP_CONFIG`. With `--service` and `--ports`, the node announces itself and the
 * control plane registers it as an endpoint while its stream lives. `--certs-dir` adds the A29
 * `file_watcher` certificate provider `default` over `DIR/cert-chain.pem`, `DIR/key.pem` and
 * `DIR/root-cert.pem`; with `--ca-dir` or `--admin` the files are minted for the node's identity
 * (see bootstrap-certs.ts) before the bootstrap is printed.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { MeshError } from '@weft/xds-client';
import { INBOUND_LISTENER_TEMPLATE } from '../../xds/names.ts';
import { parsePorts } from '../../xds/self-registration.ts';
import { CERT_OPTIONS, certsDirOf, fileWatcherProviders, mintIfAsked } from './bootstrap-certs.ts';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../parse-args.ts';

/** Inputs of {@link makeBootstrap}. */
export interface BootstrapOptions {
  xdsAddress: string;
  namespace: string;
  service?: string;
  ports?: string;
  labels?: string;
  ip: string;
  serviceAccount?: string;
  workloadName?: string;
  domainSuffix?: string;
  /** Directory of the workload's PEM files: adds the `file_watcher` certificate provider. */
  certsDir?: string;
}

/** The A27 bootstrap object (pure; exported for tests). Throws `WEFT_ERR_USAGE` on bad input. */
export function makeBootstrap(o: BootstrapOptions): Record<string, unknown> {
  if (!/^[^\s:]+:\d+$/.test(o.xdsAddress) && !/^\[[0-9a-f:]+\]:\d+$/i.test(o.xdsAddress)) {
    throw new MeshError('WEFT_ERR_USAGE', `weft bootstrap: --xds-address must be host:port, got "${o.xdsAddress}"`);
  }
  if (!isIP(o.ip)) throw new MeshError('WEFT_ERR_USAGE', `weft bootstrap: --ip must be an IP address, got "${o.ip}"`);
  if (o.ports && parsePorts(o.ports).length === 0) throw new MeshError('WEFT_ERR_USAGE', `weft bootstrap: --ports must look like grpc:50051,http:8080, got "${o.ports}"`);
  const suffix = o.domainSuffix ?? 'svc.cluster.local';
  const workload = o.workloadName ?? `${o.service ?? 'client'}-${randomBytes(3).toString('hex')}`;
  const labels = Object.fromEntries((o.labels ?? '').split(',').map((kv) => kv.split('=')).filter((kv) => kv.length === 2 && kv[0]).map(([k, v]) => [String(k).trim(), String(v).trim()]));
  // like the SDK's WEFT_* bootstrap (and a Deployment's pods): policies select on `app`
  if (o.service && labels.app === undefined) labels.app = o.service;
  const metadata: Record<string, unknown> = {
    NAMESPACE: o.namespace,
    WORKLOAD_NAME: workload,
    INSTANCE_IPS: o.ip,
    LABELS: labels,
    GENERATOR: 'grpc',
  };
  if (o.serviceAccount ?? o.service) metadata.SERVICE_ACCOUNT = o.serviceAccount ?? o.service;
  if (o.service) metadata.WEFT_SERVICE = o.service;
  if (o.service && o.ports) metadata.WEFT_PORTS = o.ports;
  return {
    xds_servers: [{ server_uri: o.xdsAddress, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: {
      id: `sidecar~${o.ip}~${workload}.${o.namespace}~${o.namespace}.${suffix}`,
      cluster: o.service ? `${o.service}.${o.namespace}` : `${workload}.${o.namespace}`,
      metadata,
      locality: {},
    },
    server_listener_resource_name_template: INBOUND_LISTENER_TEMPLATE,
    ...(o.certsDir ? { certificate_providers: fileWatcherProviders(o.certsDir) } : {}),
  };
}

const help = `Usage: weft bootstrap [--service S] [--namespace N] [--xds-address HOST:PORT] [--ports grpc:50051,…]
                      [--labels k=v,…] [--ip A] [--service-account SA] [--workload-name W]
                      [--domain-suffix SUFFIX] [--certs-dir DIR [--ca-dir CA | --admin URL] [--trust-domain TD]]

Prints a gRFC A27 xDS bootstrap (JSON) for GRPC_XDS_BOOTSTRAP / GRPC_XDS_BOOTSTRAP_CONFIG, read by
@grpc/grpc-js-xds, gRPC in other languages and the Weft SDK. It names the node the way Istio does
and carries server_listener_resource_name_template "xds.istio.io/grpc/lds/inbound/%s" so
xDS-enabled servers (grpc-js-xds XdsServer) get their inbound listener (mTLS, RBAC).

  --service, --ports   the node serves this service on these ports and registers itself as its
                       endpoint while its xDS stream lives (labels get app=<service>)
  --xds-address        control plane xDS address (default 127.0.0.1:15010)
  --namespace          namespace (default default); --service-account defaults to the service
  --certs-dir DIR      add certificate_providers.default: file_watcher over DIR/cert-chain.pem,
                       DIR/key.pem, DIR/root-cert.pem (gRFC A29, as Istio's proxyless bootstrap)
  --ca-dir CA          also mint those files, signed by the CA in directory CA (must exist)
  --admin URL          also mint them through the running control plane (join token from its
                       admin port URL, CreateCertificate on --xds-address)
  --trust-domain TD    SPIFFE trust domain of the minted certificate (default cluster.local)
`;

/** The workload options `weft bootstrap` and `weft envoy-bootstrap` share (for `parseCommandArgs`). */
export const WORKLOAD_OPTIONS = {
  service: { type: 'string' },
  namespace: { type: 'string', default: 'default' },
  'xds-address': { type: 'string', default: '127.0.0.1:15010' },
  labels: { type: 'string' },
  ip: { type: 'string', default: '127.0.0.1' },
  'service-account': { type: 'string' },
  'workload-name': { type: 'string' },
  'domain-suffix': { type: 'string' },
  ...CERT_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const;

/** See the module comment. */
export const bootstrapCommand: Command = {
  name: 'bootstrap',
  summary: 'print a gRFC A27 xDS bootstrap for a workload (for grpc-js-xds, gRPC or the Weft SDK)',
  synopsis: '[--service S] [--namespace N] [--xds-address 127.0.0.1:15010] [--ports grpc:50051] [--labels version=v1] [--ip 127.0.0.1] [--service-account SA] [--certs-dir DIR [--ca-dir CA | --admin http://127.0.0.1:15014] [--trust-domain cluster.local]]',
  async run(args) {
    const { values } = parseCommandArgs('bootstrap', {
      args,
      options: { ...WORKLOAD_OPTIONS, ports: { type: 'string' } },
    });
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    const certsDir = certsDirOf('bootstrap', values);
    const bootstrap = makeBootstrap({
      xdsAddress: values['xds-address'] as string,
      namespace: values.namespace as string,
      ip: values.ip as string,
      ...(values.service ? { service: values.service } : {}),
      ...(values.ports ? { ports: values.ports } : {}),
      ...(values.labels ? { labels: values.labels } : {}),
      ...(values['service-account'] ? { serviceAccount: values['service-account'] } : {}),
      ...(values['workload-name'] ? { workloadName: values['workload-name'] } : {}),
      ...(values['domain-suffix'] ? { domainSuffix: values['domain-suffix'] } : {}),
      ...(certsDir ? { certsDir } : {}),
    });
    const metadata = (bootstrap.node as { metadata: Record<string, unknown> }).metadata;
    await mintIfAsked('bootstrap', values, { certsDir, namespace: values.namespace as string, serviceAccount: typeof metadata.SERVICE_ACCOUNT === 'string' ? metadata.SERVICE_ACCOUNT : 'default', xdsAddress: values['xds-address'] as string });
    process.stdout.write(`${JSON.stringify(bootstrap, null, 2)}\n`);
    return 0;
  },
};
