/**
 * The xDS bootstrap (gRFC A27): which xDS servers to talk to, with which credentials, and who
 * this node is. Read from `GRPC_XDS_BOOTSTRAP` (a file path) or `GRPC_XDS_BOOTSTRAP_CONFIG`
 * (inline JSON), exactly as grpc-js-xds does, so the same file works for both; otherwise built
 * from the `WEFT_*` environment variables (see docs/sdk.md) in Istio's node-identity form.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { ErrorCode, MeshError } from './errors.ts';
import type { XdsNode } from './ads-service.ts';
import { isStructShaped } from './struct.ts';

/** Credentials of the channel to one xDS server. */
export type XdsChannelCredentials =
  | { readonly type: 'insecure' }
  /** TLS; files are PEM. Without a CA file the system roots verify the server. */
  | { readonly type: 'tls'; readonly caCertificateFile?: string; readonly certificateFile?: string; readonly privateKeyFile?: string };

/** One entry of `xds_servers`. The client tries them in order (gRFC A71 fallback). */
export interface XdsServerConfig {
  /** `host:port` or any grpc-js target string. */
  readonly serverUri: string;
  /** The first credential type this client supports among those listed. */
  readonly channelCredentials: XdsChannelCredentials;
  readonly serverFeatures: readonly string[];
  /** `ignore_resource_deletion` server feature: a deleted resource keeps its last value (A53). */
  readonly ignoreResourceDeletion: boolean;
}

/** A `certificate_providers` entry (gRFC A29), e.g. `file_watcher` with PEM file paths. */
export interface CertificateProviderConfig {
  readonly pluginName: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/** The parsed, validated bootstrap. */
export interface XdsBootstrap {
  /** At least one server; later ones are fallbacks (A71). */
  readonly xdsServers: readonly XdsServerConfig[];
  /** The node sent on every stream, in the proto shape (snake_case keys). */
  readonly node: XdsNode;
  readonly certificateProviders: Readonly<Record<string, CertificateProviderConfig>>;
  /** `%s` is replaced by the `host:port` target (default `%s`). */
  readonly clientDefaultListenerResourceNameTemplate: string;
  /** A36: template of the server-side listener name (`%s` → `ip:port`), when set. */
  readonly serverListenerResourceNameTemplate?: string;
  /** Where the bootstrap came from, for error messages: a path, `GRPC_XDS_BOOTSTRAP_CONFIG` or `WEFT_* environment`. */
  readonly source: string;
}

/** Options of {@link loadBootstrap}. */
export interface LoadBootstrapOptions {
  /** Environment to read; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** A bootstrap object or JSON text to use instead of the environment. */
  readonly bootstrap?: string | Readonly<Record<string, unknown>>;
}

/** Metadata keys the SDK puts on its node; the control plane reads them (see docs/sdk.md). */
export const NodeMetadataKey = {
  namespace: 'NAMESPACE',
  labels: 'LABELS',
  workloadName: 'WORKLOAD_NAME',
  instanceIps: 'INSTANCE_IPS',
  serviceAccount: 'SERVICE_ACCOUNT',
  /** Pod-name equivalent (unique per process). */
  name: 'NAME',
  /** Istio's JSON string `[{"name","containerPort","protocol"}]` of the ports this workload serves. */
  podPorts: 'POD_PORTS',
  /** Istio: `grpc` for proxyless clients. */
  generator: 'GENERATOR',
  /** Weft: the service this workload serves as (`WEFT_SERVICE`); absent for pure clients. */
  weftService: 'WEFT_SERVICE',
  /** Weft: the served ports as `name:port,…` (what the control plane registers); set with `WEFT_SERVICE`. */
  weftPorts: 'WEFT_PORTS',
  /**
   * Weft: the readiness probe the control plane runs before it publishes this workload HEALTHY
   * (`http:PORT/path`, `https:PORT/path`, `grpc:PORT[/service]`, `tcp:PORT`, `none`); from the
   * `WEFT_READINESS_PROBE` variable. Absent: TCP on the first served port.
   */
  weftReadinessProbe: 'WEFT_READINESS_PROBE',
  /**
   * Weft: `connection` when this workload's servers remember the metadata exchange
   * (`x-envoy-peer-metadata`) per connection, so its callers may send it once per connection;
   * the control plane passes it on as the endpoint metadata `weft.peer_exchange`. The SDK's
   * process workload sets it.
   */
  weftPeerExchange: 'WEFT_PEER_EXCHANGE',
} as const;

function fail(source: string, field: string, message: string): never {
  throw new MeshError(ErrorCode.bootstrapInvalid, `xDS bootstrap ${source}: ${field}: ${message}`, { details: { source, field } });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function channelCredentials(list: unknown, source: string, field: string): XdsChannelCredentials {
  if (!Array.isArray(list) || list.length === 0) fail(source, field, 'must list at least one channel credential');
  for (const entry of list) {
    if (!isRecord(entry)) continue;
    const config = isRecord(entry['config']) ? entry['config'] : {};
    if (entry['type'] === 'insecure') return { type: 'insecure' };
    if (entry['type'] === 'tls') {
      const file = (k: string): Record<string, string> => (typeof config[k] === 'string' ? { [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())]: config[k] as string } : {});
      return { type: 'tls', ...file('ca_certificate_file'), ...file('certificate_file'), ...file('private_key_file') };
    }
  }
  return fail(source, field, `none of the channel credential types is supported (insecure, tls)`);
}

/** Parses and validates an A27 bootstrap object; throws `WEFT_ERR_BOOTSTRAP_INVALID` naming the field. */
export function parseBootstrap(raw: unknown, source: string): XdsBootstrap {
  if (!isRecord(raw)) fail(source, '(root)', 'must be a JSON object');
  const servers = raw['xds_servers'];
  if (!Array.isArray(servers) || servers.length === 0) fail(source, 'xds_servers', 'must be a non-empty array');
  const xdsServers = servers.map((s, i): XdsServerConfig => {
    if (!isRecord(s)) fail(source, `xds_servers[${i}]`, 'must be an object');
    const uri = s['server_uri'];
    if (typeof uri !== 'string' || uri === '') fail(source, `xds_servers[${i}].server_uri`, 'must be a non-empty string');
    const features = Array.isArray(s['server_features']) ? s['server_features'].filter((f): f is string => typeof f === 'string') : [];
    return {
      serverUri: uri,
      channelCredentials: channelCredentials(s['channel_creds'], source, `xds_servers[${i}].channel_creds`),
      serverFeatures: features,
      ignoreResourceDeletion: features.includes('ignore_resource_deletion'),
    };
  });
  const node = raw['node'] ?? {};
  if (!isRecord(node)) fail(source, 'node', 'must be an object');
  if (node['id'] !== undefined && typeof node['id'] !== 'string') fail(source, 'node.id', 'must be a string');
  if (node['metadata'] !== undefined && !isRecord(node['metadata'])) fail(source, 'node.metadata', 'must be an object');
  const providers: Record<string, CertificateProviderConfig> = {};
  const rawProviders = raw['certificate_providers'] ?? {};
  if (!isRecord(rawProviders)) fail(source, 'certificate_providers', 'must be an object');
  for (const [name, p] of Object.entries(rawProviders)) {
    if (!isRecord(p) || typeof p['plugin_name'] !== 'string') fail(source, `certificate_providers.${name}.plugin_name`, 'must be a string');
    providers[name] = { pluginName: p['plugin_name'], config: isRecord(p['config']) ? p['config'] : {} };
  }
  const template = raw['client_default_listener_resource_name_template'];
  const serverTemplate = raw['server_listener_resource_name_template'];
  const locality = isRecord(node['locality']) ? node['locality'] : undefined;
  return {
    xdsServers,
    node: {
      ...(typeof node['id'] === 'string' ? { id: node['id'] } : {}),
      ...(typeof node['cluster'] === 'string' ? { cluster: node['cluster'] } : {}),
      ...(isRecord(node['metadata']) ? { metadata: node['metadata'] } : {}),
      ...(locality ? { locality: locality as XdsNode['locality'] & object } : {}),
    },
    certificateProviders: providers,
    clientDefaultListenerResourceNameTemplate: typeof template === 'string' && template !== '' ? template : '%s',
    ...(typeof serverTemplate === 'string' ? { serverListenerResourceNameTemplate: serverTemplate } : {}),
    source,
  };
}

function firstIp(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const ni of list ?? []) if (ni.family === 'IPv4' && !ni.internal) return ni.address;
  }
  return '127.0.0.1';
}

/** Parses `WEFT_LABELS` (`k=v,k=v`); throws naming the variable on a malformed pair. */
function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) fail('WEFT_* environment', 'WEFT_LABELS', `${JSON.stringify(pair)} is not key=value`);
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return labels;
}

/** Parses `WEFT_LOCALITY` (`region/zone/subzone`, trailing parts optional); undefined when unset. */
function parseLocality(text: string | undefined): { region: string; zone: string; sub_zone: string } | undefined {
  const value = (text ?? '').trim();
  if (!value) return undefined;
  const parts = value.split('/').map((s) => s.trim());
  if (parts.length > 3 || !parts[0]) fail('WEFT_* environment', 'WEFT_LOCALITY', `${JSON.stringify(value)} is not region[/zone[/subzone]]`);
  return { region: parts[0], zone: parts[1] ?? '', sub_zone: parts[2] ?? '' };
}

/** The forms of a readiness probe the control plane accepts (see {@link NodeMetadataKey.weftReadinessProbe}). */
const READINESS_PROBE = /^(?:none|tcp:\d{1,5}|(?:https?|grpc):\d{1,5}(?:\/\S*)?)$/i;

/**
 * Checks `WEFT_READINESS_PROBE` (trimmed); undefined when unset. A malformed value throws naming
 * the variable: the control plane would otherwise fall back to its default probe without a word.
 */
function parseReadinessProbe(text: string | undefined): string | undefined {
  const value = (text ?? '').trim();
  if (!value) return undefined;
  const port = /:(\d+)/.exec(value)?.[1];
  if (!READINESS_PROBE.test(value) || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) {
    fail('WEFT_* environment', 'WEFT_READINESS_PROBE', `${JSON.stringify(value)} is not http:PORT/path, https:PORT/path, grpc:PORT[/service], tcp:PORT or none`);
  }
  return value;
}

/** Parses `WEFT_PORT`: `9080`, or `name:9080` entries separated by commas. */
function parsePorts(text: string | undefined): { name: string; containerPort: number; protocol: 'TCP' }[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [a, b] = entry.includes(':') ? entry.split(':') : ['http', entry];
      const port = Number(b);
      if (!Number.isInteger(port) || port < 1 || port > 65535) fail('WEFT_* environment', 'WEFT_PORT', `${JSON.stringify(entry)} is not a port`);
      return { name: a || 'http', containerPort: port, protocol: 'TCP' as const };
    });
}

/**
 * Builds a bootstrap from `WEFT_*` variables: server `WEFT_XDS_ADDRESS` (default
 * `localhost:15010`, insecure), node id `sidecar~<ip>~<name>.<ns>~<ns>.svc.cluster.local`,
 * Istio-style metadata (see {@link NodeMetadataKey}; `WEFT_READINESS_PROBE` is passed on as the
 * metadata key of the same name) and, with `WEFT_LOCALITY` (`region/zone/subzone`), the node's
 * locality. Throws `WEFT_ERR_BOOTSTRAP_INVALID` naming the
 * variable on a malformed value.
 */
export function bootstrapFromWeftEnv(env: Readonly<Record<string, string | undefined>>): XdsBootstrap {
  const source = 'WEFT_* environment';
  const namespace = env['WEFT_NAMESPACE'] || 'default';
  const service = env['WEFT_SERVICE'] || undefined;
  const labels = parseLabels(env['WEFT_LABELS']);
  if (service && labels['app'] === undefined) labels['app'] = service;
  const ports = parsePorts(env['WEFT_PORT']);
  const locality = parseLocality(env['WEFT_LOCALITY']);
  const readinessProbe = parseReadinessProbe(env['WEFT_READINESS_PROBE']);
  const ip = env['WEFT_INSTANCE_IP'] || firstIp();
  const base = service ?? 'client';
  const name = `${base}-${process.pid}`;
  const workloadName = env['WEFT_WORKLOAD_NAME'] || (service ? (labels['version'] ? `${service}-${labels['version']}` : service) : name);
  const metadata: Record<string, unknown> = {
    [NodeMetadataKey.namespace]: namespace,
    [NodeMetadataKey.labels]: labels,
    [NodeMetadataKey.workloadName]: workloadName,
    [NodeMetadataKey.instanceIps]: ip,
    [NodeMetadataKey.serviceAccount]: env['WEFT_SERVICE_ACCOUNT'] || service || 'default',
    [NodeMetadataKey.name]: name,
    [NodeMetadataKey.generator]: 'grpc',
  };
  if (ports.length > 0) metadata[NodeMetadataKey.podPorts] = JSON.stringify(ports);
  if (service) metadata[NodeMetadataKey.weftService] = service;
  if (service && ports.length > 0) metadata[NodeMetadataKey.weftPorts] = ports.map((p) => `${p.name}:${p.containerPort}`).join(',');
  if (readinessProbe) metadata[NodeMetadataKey.weftReadinessProbe] = readinessProbe;
  return parseBootstrap(
    {
      xds_servers: [{ server_uri: env['WEFT_XDS_ADDRESS'] || 'localhost:15010', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: `sidecar~${ip}~${name}.${namespace}~${namespace}.svc.cluster.local`, cluster: workloadName, metadata, ...(locality ? { locality } : {}) },
    },
    source,
  );
}

/**
 * The bootstrap with `entries` added to its node's metadata, which keeps its other keys. Node
 * metadata given in the protobuf Struct shape (`{ fields: … }`) is left as it is.
 */
export function withNodeMetadata(bootstrap: XdsBootstrap, entries: Readonly<Record<string, string>>): XdsBootstrap {
  const metadata = bootstrap.node.metadata ?? {};
  if (isStructShaped(metadata)) return bootstrap;
  return { ...bootstrap, node: { ...bootstrap.node, metadata: { ...metadata, ...entries } } };
}

/**
 * Loads the bootstrap: `options.bootstrap`, else `GRPC_XDS_BOOTSTRAP` (path), else
 * `GRPC_XDS_BOOTSTRAP_CONFIG` (inline JSON), else `WEFT_*`. Synchronous; throws a MeshError
 * `WEFT_ERR_BOOTSTRAP_INVALID` (unreadable file, bad JSON, invalid field) naming the source.
 */
export function loadBootstrap(options: LoadBootstrapOptions = {}): XdsBootstrap {
  const env = options.env ?? process.env;
  if (options.bootstrap !== undefined) {
    return parseBootstrap(typeof options.bootstrap === 'string' ? parseJson(options.bootstrap, 'options.bootstrap') : options.bootstrap, 'options.bootstrap');
  }
  const path = env['GRPC_XDS_BOOTSTRAP'];
  if (path) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new MeshError(ErrorCode.bootstrapInvalid, `xDS bootstrap ${path} (GRPC_XDS_BOOTSTRAP) cannot be read: ${(err as Error).message}`, { cause: err, details: { source: path } });
    }
    return parseBootstrap(parseJson(text, path), path);
  }
  const inline = env['GRPC_XDS_BOOTSTRAP_CONFIG'];
  if (inline) return parseBootstrap(parseJson(inline, 'GRPC_XDS_BOOTSTRAP_CONFIG'), 'GRPC_XDS_BOOTSTRAP_CONFIG');
  return bootstrapFromWeftEnv(env);
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    return fail(source, '(root)', `not valid JSON: ${(err as Error).message}`);
  }
}
