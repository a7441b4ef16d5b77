/**
 * The Envoy v3 bootstrap of a sidecar (what `weft envoy-bootstrap` prints), shaped like
 * istio-proxy's: the node in Istio's form with the metadata the control plane's
 * self-registration reads (so the sidecar registers the app as an endpoint reached through the
 * inbound port), ADS over gRPC to the control plane for LDS and CDS (RDS, EDS and SDS follow over
 * the same stream), the control plane as a static HTTP/2 cluster, the admin on
 * 127.0.0.1:15000, and two static listeners: readiness on 15021 (`/healthz/ready` → the admin's
 * `/ready`) and Prometheus on 15090 (`/stats/prometheus` → the admin). With certificate files,
 * the workload's chain and key and the trust roots are static secrets `default` and `ROOTCA`
 * (Istio's names), and the node says so (`WEFT_ENVOY_SECRETS: static`), so the TLS contexts the
 * control plane sends name them.
 *
 * The result is proto3 JSON as Envoy reads it (`"@type"`, `"1s"` durations); pure, and
 * checked against Envoy's protos by the tests (see proto-json.ts).
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { MeshError, TypeUrl } from '@weft/xds-client';
import {
  ADMIN_CLUSTER, ENVOY_ADMIN_PORT, ENVOY_HEALTH_PORT, ENVOY_INBOUND_PORT, ENVOY_OUTBOUND_PORT, ENVOY_PROMETHEUS_PORT, SDS_IDENTITY_SECRET, SDS_ROOT_SECRET, XDS_CLUSTER,
} from './ports.ts';
import { ENDPOINT_PORT_METADATA_KEY } from '../self-registration.ts';
import { ENVOY_SECRETS_METADATA_KEY } from './workload.ts';

const HTTP_PROTOCOL_OPTIONS = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** Inputs of {@link makeEnvoyBootstrap}. */
export interface EnvoyBootstrapOptions {
  /** The service the app serves (short name or FQDN); it registers as its endpoint. */
  service: string;
  namespace: string;
  /** Port the app listens on (plain HTTP on 127.0.0.1 or the pod address). */
  appPort: number;
  /** Control plane xDS `host:port` (a name or an IP). */
  xdsAddress: string;
  /** The workload's address, as peers reach it. */
  ip: string;
  /** `k=v,k=v`; `app=<service>` is added when absent. */
  labels?: string;
  /** Default: the service's short name. */
  serviceAccount?: string;
  /** Pod-like name in the node id; default `<service>-<6 random hex digits>`. */
  workloadName?: string;
  /** Overrides the whole node id. */
  nodeId?: string;
  /** Default `svc.cluster.local`. */
  domainSuffix?: string;
  /** PEM files of the workload's certificate: they become the static secrets `default` and `ROOTCA`. */
  secretFiles?: SecretFiles;
}

/** Paths of the workload's PEM files as Envoy (in its container) reads them. */
export interface SecretFiles {
  certificateChain: string;
  privateKey: string;
  trustedCa: string;
}

function usage(message: string): MeshError {
  return new MeshError('WEFT_ERR_USAGE', `weft envoy-bootstrap: ${message}`);
}

function splitAddress(address: string): { host: string; port: number } {
  const m = /^\[([0-9a-f:.]+)\]:(\d+)$/i.exec(address) ?? /^([^\s:[\]]+):(\d+)$/.exec(address);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) throw usage(`--xds-address must be host:port, got "${address}"`);
  return { host: m[1] as string, port };
}

function parseLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw usage(`--labels must look like k=v,k=v, got "${text}"`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function socket(address: string, port: number): Record<string, unknown> {
  return { address: { socket_address: { address, port_value: port } } };
}

function staticCluster(name: string, host: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    type: isIP(host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: socket(host, port) }] }] },
    ...extra,
  };
}

/** A listener on `0.0.0.0:port` whose one route sends `match` to the admin cluster. */
function adminRouteListener(name: string, port: number, match: Record<string, unknown>, rewrite?: string): Record<string, unknown> {
  return {
    name,
    ...socket('0.0.0.0', port),
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': TypeUrl.httpConnectionManager,
          stat_prefix: name,
          codec_type: 'AUTO',
          route_config: {
            name,
            virtual_hosts: [{ name: 'backend', domains: ['*'], routes: [{ match, route: { cluster: ADMIN_CLUSTER, ...(rewrite ? { prefix_rewrite: rewrite } : {}) } }] }],
          },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': TypeUrl.router } }],
        },
      }],
    }],
  };
}

/** The bootstrap (see the module comment); throws `WEFT_ERR_USAGE` on bad input. */
export function makeEnvoyBootstrap(o: EnvoyBootstrapOptions): Record<string, unknown> {
  if (!o.service || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.service)) throw usage(`--service must be a DNS name, got "${o.service}"`);
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(o.namespace)) throw usage(`--namespace must be a DNS label, got "${o.namespace}"`);
  if (!Number.isInteger(o.appPort) || o.appPort < 1 || o.appPort > 65535) throw usage(`--port must be a port number, got "${o.appPort}"`);
  if ([ENVOY_ADMIN_PORT, ENVOY_INBOUND_PORT, ENVOY_OUTBOUND_PORT, ENVOY_HEALTH_PORT, ENVOY_PROMETHEUS_PORT].includes(o.appPort)) throw usage(`--port ${o.appPort} is one of the sidecar's own ports`);
  if (!isIP(o.ip)) throw usage(`--ip must be an IP address, got "${o.ip}"`);
  const xds = splitAddress(o.xdsAddress);
  const suffix = o.domainSuffix ?? 'svc.cluster.local';
  const short = o.service.split('.')[0] as string;
  const workload = o.workloadName ?? `${short}-${randomBytes(3).toString('hex')}`;
  const labels = parseLabels(o.labels);
  // like the SDK's bootstrap (and a Deployment's pods): policies select on `app`
  if (labels.app === undefined) labels.app = short;
  const metadata: Record<string, unknown> = {
    NAMESPACE: o.namespace,
    WORKLOAD_NAME: workload,
    INSTANCE_IPS: o.ip,
    LABELS: labels,
    SERVICE_ACCOUNT: o.serviceAccount ?? short,
    WEFT_SERVICE: o.service,
    WEFT_PORTS: `http:${o.appPort}`,
    // peers reach the app through the sidecar's inbound listener, not on the app's own port
    [ENDPOINT_PORT_METADATA_KEY]: String(ENVOY_INBOUND_PORT),
    // the sidecar is ready when Envoy is (istio-proxy's readiness endpoint)
    WEFT_READINESS_PROBE: `http:${ENVOY_HEALTH_PORT}/healthz/ready`,
  };
  const files = o.secretFiles;
  if (files) metadata[ENVOY_SECRETS_METADATA_KEY] = 'static';
  return {
    node: {
      id: o.nodeId ?? `sidecar~${o.ip}~${workload}.${o.namespace}~${o.namespace}.${suffix}`,
      cluster: `${short}.${o.namespace}`,
      metadata,
    },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER } }],
        set_node_on_first_message_only: true,
      },
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [
        staticCluster(XDS_CLUSTER, xds.host, xds.port, {
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': HTTP_PROTOCOL_OPTIONS, explicit_http_config: { http2_protocol_options: {} } },
          },
        }),
        staticCluster(ADMIN_CLUSTER, '127.0.0.1', ENVOY_ADMIN_PORT),
      ],
      listeners: [
        adminRouteListener('health', ENVOY_HEALTH_PORT, { path: '/healthz/ready' }, '/ready'),
        adminRouteListener('prometheus', ENVOY_PROMETHEUS_PORT, { prefix: '/stats/prometheus' }),
      ],
      ...(files
        ? {
            secrets: [
              { name: SDS_IDENTITY_SECRET, tls_certificate: { certificate_chain: { filename: files.certificateChain }, private_key: { filename: files.privateKey } } },
              { name: SDS_ROOT_SECRET, validation_context: { trusted_ca: { filename: files.trustedCa } } },
            ],
          }
        : {}),
    },
    admin: socket('127.0.0.1', ENVOY_ADMIN_PORT),
  };
}
