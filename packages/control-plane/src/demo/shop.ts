/**
 * The example shop (`examples/services`) as real processes on loopback: every instance gets
 * free ports, the WEFT_* variables a user would set, and the register hooks on its command line
 * — exactly the command `examples/services/README.md` shows. {@link workloadEnv} is the one
 * place that builds a workload's environment (mTLS, tokens, telemetry plug in there).
 */
import { fileURLToPath } from 'node:url';
import { freePorts } from './free-port.ts';
import type { ProcessGroup, RunningChild } from './process-group.ts';

/** Repository root (where `node_modules/@weft/*` resolves the register hooks). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SERVICES = fileURLToPath(new URL('../../../../examples/services/', import.meta.url));

/**
 * The register hooks each service loads: the one for what it serves and what it calls. Either
 * hook registers the workload and meshes its server on `WEFT_PORT`; the HTTP hook meshes `fetch`,
 * the gRPC hook grpc-js clients and servers. ratings serves HTTP and calls nothing; inventory
 * serves gRPC and calls nothing; catalog serves gRPC and `fetch`es ratings; frontend serves HTTP
 * and calls both ways.
 */
const HTTP_HOOK = ['--import', '@weft/http-adapter/register'];
const GRPC_HOOK = ['--import', '@weft/grpc-adapter/register'];
const HOOKS: Readonly<Record<InstanceSpec['service'], readonly string[]>> = {
  ratings: HTTP_HOOK,
  inventory: GRPC_HOOK,
  catalog: [...HTTP_HOOK, ...GRPC_HOOK],
  frontend: [...HTTP_HOOK, ...GRPC_HOOK],
};

/** One instance of a shop service. */
export interface InstanceSpec {
  /** Unique name, e.g. `catalog-v2`. */
  name: string;
  service: 'frontend' | 'catalog' | 'ratings' | 'inventory';
  version?: string;
  /** Extra variables (e.g. `FLAKY_RATE`). */
  env?: Record<string, string>;
}

/** A started instance and its ports. */
export interface ShopInstance extends InstanceSpec {
  /** The port it serves (announced as the service's named port). */
  port: number;
  /** `http` or `grpc`: the ServiceEntry port name the served port maps to. */
  portName: 'http' | 'grpc';
  /** Per-workload admin port (`WEFT_ADMIN_PORT`). */
  adminPort: number;
  /** ratings only: the unmeshed `/stats` port. */
  statsPort?: number;
  process: RunningChild;
}

/** What {@link workloadEnv} needs. */
export interface WorkloadEnvInput {
  xdsAddress: string;
  namespace: string;
  instance: Omit<ShopInstance, 'process'>;
}

/** A hook that adds variables to every workload (mTLS, join tokens, OTLP endpoint, …). */
export type EnvContributor = (input: WorkloadEnvInput) => Record<string, string> | Promise<Record<string, string>>;

/** The environment of one workload: WEFT_* variables plus the service's own settings. */
export async function workloadEnv(input: WorkloadEnvInput, contributors: readonly EnvContributor[] = []): Promise<NodeJS.ProcessEnv> {
  const { instance } = input;
  const base: NodeJS.ProcessEnv = { ...process.env };
  delete base['GRPC_XDS_BOOTSTRAP'];
  delete base['GRPC_XDS_BOOTSTRAP_CONFIG'];
  for (const k of Object.keys(base)) if (k.startsWith('WEFT_')) delete base[k];
  const env: NodeJS.ProcessEnv = {
    ...base,
    NO_COLOR: '1',
    WEFT_XDS_ADDRESS: input.xdsAddress,
    WEFT_NAMESPACE: input.namespace,
    WEFT_SERVICE: instance.service,
    WEFT_PORT: `${instance.portName}:${instance.port}`,
    WEFT_INSTANCE_IP: '127.0.0.1',
    WEFT_ADMIN_PORT: String(instance.adminPort),
    ...(instance.version ? { WEFT_LABELS: `version=${instance.version}` } : {}),
    HOST: '127.0.0.1',
    PORT: String(instance.port),
    ...(instance.statsPort ? { STATS_PORT: String(instance.statsPort) } : {}),
    ...instance.env,
  };
  for (const contribute of contributors) Object.assign(env, await contribute(input));
  return env;
}

/** The shop's instances, in start order (servers before their callers). */
export const SHOP_INSTANCES: readonly InstanceSpec[] = [
  { name: 'ratings-v1', service: 'ratings', version: 'v1' },
  { name: 'ratings-v2', service: 'ratings', version: 'v2', env: { FLAKY_RATE: '0.3' } },
  { name: 'catalog-v1', service: 'catalog', version: 'v1' },
  { name: 'catalog-v2', service: 'catalog', version: 'v2' },
  { name: 'catalog-v3', service: 'catalog', version: 'v3' },
  { name: 'inventory', service: 'inventory' },
  { name: 'frontend', service: 'frontend' },
];

/** Options of {@link startInstance}. */
export interface StartInstanceOptions {
  group: ProcessGroup;
  xdsAddress: string;
  namespace: string;
  contributors?: readonly EnvContributor[];
}

/** Starts one instance with fresh ports and resolves once it listens. */
export async function startInstance(spec: InstanceSpec, options: StartInstanceOptions): Promise<ShopInstance> {
  const [port, adminPort, statsPort] = await freePorts(3);
  const isGrpc = spec.service === 'catalog' || spec.service === 'inventory';
  const instance: Omit<ShopInstance, 'process'> = {
    ...spec,
    port: port as number,
    portName: isGrpc ? 'grpc' : 'http',
    adminPort: adminPort as number,
    ...(spec.service === 'ratings' ? { statsPort: statsPort as number } : {}),
  };
  const hooks = HOOKS[spec.service];
  const child = await options.group.start({
    name: spec.name,
    args: [...hooks, `${SERVICES}${spec.service}/server.ts`],
    cwd: REPO_ROOT,
    env: await workloadEnv({ xdsAddress: options.xdsAddress, namespace: options.namespace, instance }, options.contributors),
    ready: /listening on/,
  });
  return { ...instance, process: child };
}
