/**
 * The small mesh of the Envoy tests: a scenario of `/work/shared/scenarios/` (Istio YAML) plus
 * the bookstore's workloads registered as the SDK registers them (catalog v1/v2/v3 over gRPC,
 * frontend), and `ratings` served by a non-Node app behind an Envoy sidecar, registered from the
 * node that `weft envoy-bootstrap` writes. Test support only.
 */
import { readConfig } from '../../config/read-config.ts';
import { buildCandidate, publishModel } from '../../model/build-model.ts';
import type { MeshModel } from '../../model/mesh-model.ts';
import type { RegisteredWorkload } from '../../registry/registry.ts';
import { workloadFromNode } from '../self-registration.ts';
import { makeEnvoyBootstrap } from './bootstrap.ts';

/** Where the shared scenarios live. */
export const SCENARIOS_DIR = '/work/shared/scenarios';

/**
 * The ratings sidecar's bootstrap (fixed workload name, so golden files are stable); with
 * `hasCerts`, its certificate files are static secrets.
 */
export function ratingsBootstrap(hasCerts = false): Record<string, unknown> {
  return makeEnvoyBootstrap({
    service: 'ratings', namespace: 'shop', appPort: 9080, xdsAddress: 'control-plane:15010', ip: '10.0.0.20', labels: 'version=v1', workloadName: 'ratings-v1',
    ...(hasCerts ? { secretFiles: { certificateChain: '/etc/certs/cert-chain.pem', privateKey: '/etc/certs/key.pem', trustedCa: '/etc/certs/root-cert.pem' } } : {}),
  });
}

/** The bootstrap's node as Envoy sends it (Envoy fills in `user_agent_name`). */
export function ratingsNode(hasCerts = false): { id: string; user_agent_name: string; metadata: Record<string, unknown> } {
  const node = ratingsBootstrap(hasCerts).node as { id: string; metadata: Record<string, unknown> };
  return { ...node, user_agent_name: 'envoy' };
}

function sdk(service: string, version: string, address: string, port: string): RegisteredWorkload {
  const [name = 'http', number = '0'] = port.split(':');
  return {
    id: `xds:sidecar~${address}~${service}-${version}.shop~shop.svc.cluster.local`, service, namespace: 'shop', address,
    ports: [{ name, number: Number(number), protocol: name.startsWith('grpc') ? 'GRPC' : 'HTTP' }],
    labels: { app: service, version }, serviceAccount: service,
  };
}

/** The model of `scenario` (a file name in {@link SCENARIOS_DIR}) with the workloads above. */
export async function scenarioModel(scenario: string): Promise<MeshModel> {
  const read = await readConfig([`${SCENARIOS_DIR}/${scenario}`], 'default');
  const node = ratingsNode();
  const ratings = workloadFromNode(node, node.metadata, 'shop');
  if (!ratings) throw new Error('the ratings sidecar node does not register');
  const { readinessProbe: _, ...registered } = ratings;
  const workloads = [
    sdk('catalog', 'v1', '10.0.0.11', 'grpc:50051'), sdk('catalog', 'v2', '10.0.0.12', 'grpc:50051'), sdk('catalog', 'v3', '10.0.0.13', 'grpc:50051'),
    sdk('frontend', 'v1', '10.0.0.30', 'http:8080'),
    registered as RegisteredWorkload,
  ];
  const candidate = buildCandidate(read.objects, read.findings, workloads, { rootNamespace: 'istio-system', trustDomain: 'cluster.local', domainSuffix: 'svc.cluster.local' });
  const errors = candidate.findings.filter((f) => f.level === 'error');
  if (errors.length) throw new Error(`scenario ${scenario}: ${errors.map((e) => e.message).join('; ')}`);
  return publishModel(candidate, 1);
}
