/**
 * `weft control-plane --config PATH… [--xds-port 15010] [--xds-address 127.0.0.1]
 * [--admin-port 15014] [--admin-address 127.0.0.1] [--debounce-ms 100]`: loads and watches the
 * Istio config, serves ADS and the admin API, and prints one ready line naming the bound ports
 * (`weft control-plane: xDS on 127.0.0.1:15010, admin on http://127.0.0.1:15014`). SIGTERM or
 * SIGINT end every xDS stream with UNAVAILABLE and exit 0.
 *
 * With `--ca-dir DIR` the control plane is also the mesh CA: Istio's
 * `IstioCertificateService/CreateCertificate` on the xDS port, and `POST /ca/token` (loopback
 * callers only) on the admin port for `weft token create --admin URL`.
 *
 * Workloads' load reports (LRS) are accepted on the xDS port and aggregated into the service
 * graph (`/debug/graph`, `/ui`): `--lrs-interval 5s` is the reporting interval asked of
 * clients, `--graph-window 60s` the sliding window of the graph's numbers. WorkloadGroups with a
 * `spec.probe` in the config are health-checked against their member endpoints, and the result
 * is published in EDS (`/debug/health` shows the probes). `/ui` on the admin port is the mesh
 * view (graph, routing, sync status, NACKs and config errors).
 */
import { MeshError } from '@weft/xds-client';
import { createConfigStore } from '../../config/config-store.ts';
import { createAdminServer } from '../../admin/admin-server.ts';
import { mountXdsRoutes } from '../../admin/xds-routes.ts';
import { createXdsServer } from '../../xds/xds-server.ts';
import { createXdsMetrics } from '../../xds/metrics.ts';
import { createCertificateAuthority } from '../../ca/certificate-authority.ts';
import { caServiceDefinition, createCaServiceHandlers } from '../../ca/ca-service.ts';
import { createTokenAdminHandler, TOKEN_ADMIN_PATH } from '../../ca/token-admin-handler.ts';
import { parseDurationMs } from '../../ca/duration.ts';
import { createServiceGraph } from '../../lrs/service-graph.ts';
import { createLrsService } from '../../lrs/lrs-service.ts';
import { createLrsMetrics } from '../../lrs/lrs-metrics.ts';
import { clusterTlsOf } from '../../lrs/cluster-tls.ts';
import { mountGraphRoutes } from '../../admin/graph-routes.ts';
import { mountHealthRoutes } from '../../admin/health-routes.ts';
import { mountUiRoutes } from '../../ui/ui-routes.ts';
import { createEndpointHealthMonitor } from '../../health/endpoint-health.ts';
import type { MeshModel } from '../../model/mesh-model.ts';
import type { Command } from '../command.ts';
import { parseCommandArgs } from '../parse-args.ts';

/** The model's services with their endpoint counts, for the service graph's nodes. */
function knownServices(model: MeshModel): { hostname: string; namespace: string; endpoints: { total: number; healthy: number } }[] {
  return [...model.services.values()].map((s) => {
    const eps = model.endpoints.get(s.hostname) ?? [];
    return { hostname: s.hostname, namespace: s.namespace, endpoints: { total: eps.length, healthy: eps.filter((e) => e.health === 'HEALTHY' || e.health === 'UNKNOWN').length } };
  });
}

function port(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new MeshError('WEFT_ERR_USAGE', `weft control-plane: --${flag} must be a port number 0..65535, got "${value}"`);
  return n;
}

/** See the module comment. */
export const controlPlaneCommand: Command = {
  name: 'control-plane',
  summary: 'serve Istio config as xDS (SotW and delta ADS) with the admin API',
  synopsis: '--config PATH… [--xds-port 15010] [--xds-address 127.0.0.1] [--admin-port 15014] [--admin-address 127.0.0.1] [--debounce-ms 100] [--ca-dir DIR] [--trust-domain cluster.local] [--lrs-interval 5s] [--graph-window 60s]',
  async run(args) {
    const { values } = parseCommandArgs('control-plane', {
      args,
      options: {
        config: { type: 'string', multiple: true },
        'xds-port': { type: 'string' },
        'xds-address': { type: 'string', default: '127.0.0.1' },
        'admin-port': { type: 'string' },
        'admin-address': { type: 'string', default: '127.0.0.1' },
        'debounce-ms': { type: 'string' },
        'registration-grace-ms': { type: 'string' },
        'trust-domain': { type: 'string' },
        'domain-suffix': { type: 'string' },
        'default-namespace': { type: 'string' },
        'ca-dir': { type: 'string' },
        'lrs-interval': { type: 'string' },
        'graph-window': { type: 'string' },
      },
    });
    const paths = values.config ?? [];
    if (paths.length === 0) throw new MeshError('WEFT_ERR_USAGE', 'weft control-plane: --config PATH is required (a file or directory of Istio YAML; repeatable)');
    const debounceMs = values['debounce-ms'] === undefined ? 100 : Number(values['debounce-ms']);
    if (!Number.isFinite(debounceMs) || debounceMs < 0) throw new MeshError('WEFT_ERR_USAGE', `weft control-plane: --debounce-ms must be a non-negative number, got "${values['debounce-ms']}"`);
    const graceMs = values['registration-grace-ms'] === undefined ? 5000 : Number(values['registration-grace-ms']);
    const xdsPort = port('xds-port', values['xds-port'], 15010);
    const adminPort = port('admin-port', values['admin-port'], 15014);
    const lrsIntervalMs = values['lrs-interval'] === undefined ? 5000 : parseDurationMs(values['lrs-interval'], 'weft control-plane: --lrs-interval');
    const graphWindowMs = values['graph-window'] === undefined ? 60_000 : parseDurationMs(values['graph-window'], 'weft control-plane: --graph-window');

    const store = await createConfigStore({
      paths,
      debounceMs,
      ...(values['trust-domain'] ? { trustDomain: values['trust-domain'] } : {}),
      ...(values['domain-suffix'] ? { domainSuffix: values['domain-suffix'] } : {}),
      ...(values['default-namespace'] ? { defaultNamespace: values['default-namespace'] } : {}),
    });
    // The store already debounces file and registry changes; the server pushes what it publishes
    // at once (0 still coalesces changes published in the same tick).
    const xds = createXdsServer({ source: store, debounceMs: 0, registrationGraceMs: graceMs, metrics: createXdsMetrics(undefined, true) });
    const admin = createAdminServer();
    mountXdsRoutes(admin, { xds });
    const graph = createServiceGraph({
      windowMs: graphWindowMs,
      domainSuffix: store.current.domainSuffix,
      knownServices: () => knownServices(store.current),
      isClusterTls: (nodeId, cluster) => clusterTlsOf(xds, nodeId, cluster),
    });
    const lrs = createLrsService({ graph, reportingIntervalMs: lrsIntervalMs, domainSuffix: store.current.domainSuffix, metrics: createLrsMetrics(xds.metrics.registry, () => graph.edgeCount) });
    xds.grpcServer.addService(lrs.definition, lrs.handlers);
    mountGraphRoutes(admin, graph);
    const health = createEndpointHealthMonitor({ source: store, sink: store.registry });
    mountHealthRoutes(admin, health, { readiness: xds });
    mountUiRoutes(admin, { source: store, xds });
    const caDir = values['ca-dir'];
    if (caDir !== undefined) {
      const ca = createCertificateAuthority({ caDir, ...(values['trust-domain'] ? { trustDomain: values['trust-domain'] } : {}) });
      xds.grpcServer.addService(caServiceDefinition(), createCaServiceHandlers(ca));
      admin.route(TOKEN_ADMIN_PATH, createTokenAdminHandler(ca), { methods: ['POST', 'GET', 'PUT', 'DELETE'] });
    }
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        lrs.close();
        health.close();
        await xds.close(2000);
        await admin.close();
        await store.close();
      })();
      return stopping;
    };
    try {
      const boundXds = await xds.listen(values['xds-address'] as string, xdsPort);
      await admin.listen(values['admin-address'] as string, adminPort);
      const host = values['xds-address'] as string;
      process.stdout.write(`weft control-plane: xDS on ${host.includes(':') ? `[${host}]` : host}:${boundXds}, admin on ${admin.url}\n`);
    } catch (err) {
      await stop();
      throw err;
    }
    const model = store.current;
    process.stderr.write(`weft control-plane: generation ${model.generation}: ${model.services.size} services, ${model.virtualServices.length} VirtualServices, ${model.destinationRules.length} DestinationRules\n`);
    const sub = store.onChange((m) => process.stderr.write(`weft control-plane: generation ${m.generation} published\n`));
    await new Promise<void>((resolve) => {
      const onSignal = () => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    sub[Symbol.dispose]();
    await stop();
    return 0;
  },
};
