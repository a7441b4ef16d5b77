/**
 * The ports and fixed names of the Envoy sidecar, as istio-proxy uses them, so Istio users find
 * the same numbers: admin 15000 (localhost only), outbound 15001 (here an explicit HTTP proxy
 * for the app: no iptables redirect), inbound 15006, health 15021, Prometheus 15090.
 */

/** Envoy admin (bound to 127.0.0.1). */
export const ENVOY_ADMIN_PORT = 15000;
/** Outbound listener: the app's `http_proxy`. */
export const ENVOY_OUTBOUND_PORT = 15001;
/** Inbound listener: peers reach the app here. */
export const ENVOY_INBOUND_PORT = 15006;
/** Readiness (`/healthz/ready`). */
export const ENVOY_HEALTH_PORT = 15021;
/** Prometheus (`/stats/prometheus`). */
export const ENVOY_PROMETHEUS_PORT = 15090;

/** Name of the static cluster of the control plane in the bootstrap (Istio's name). */
export const XDS_CLUSTER = 'xds-grpc';
/** Name of the static cluster that reaches the admin from the health and Prometheus listeners. */
export const ADMIN_CLUSTER = 'prometheus_stats';

/** The outbound listener and its RouteConfiguration (same name, so one RDS per listener). */
export const OUTBOUND_LISTENER = 'virtualOutbound';
/** The inbound listener and its RouteConfiguration. */
export const INBOUND_LISTENER = 'virtualInbound';

/** SDS secret names, as Istio uses them: the workload's chain and key, and the trust roots. */
export const SDS_IDENTITY_SECRET = 'default';
/** See {@link SDS_IDENTITY_SECRET}. */
export const SDS_ROOT_SECRET = 'ROOTCA';

/** `inbound|PORT||`: the cluster that reaches the app on `PORT` (Istio's inbound cluster name). */
export function inboundClusterName(appPort: number): string {
  return `inbound|${appPort}||`;
}
