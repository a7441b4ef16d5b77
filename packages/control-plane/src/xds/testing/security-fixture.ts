/**
 * Builders of security config objects (PeerAuthentication, AuthorizationPolicy, EnvoyFilter)
 * for the inbound and upstream TLS tests. Test support only.
 */
import type { ConfigKind, ConfigObject, MeshModel } from '../../model/mesh-model.ts';
import type { InboundWorkload } from '../generators/workload-selector.ts';

/** A config object of `kind` in `namespace`. */
export function obj<S>(kind: ConfigKind, namespace: string, name: string, spec: unknown): ConfigObject<S> {
  const apiVersion = kind === 'EnvoyFilter' ? 'networking.istio.io/v1alpha3' : kind === 'PeerAuthentication' || kind === 'AuthorizationPolicy' ? 'security.istio.io/v1' : 'networking.istio.io/v1';
  return { kind, apiVersion, name, namespace, labels: {}, annotations: {}, spec: spec as S, source: { file: 'test.yaml', line: 1, column: 1 } };
}

/** `model` with the given policies added. */
export function withPolicies(model: MeshModel, p: { peer?: [string, string, unknown][]; authz?: [string, string, unknown][]; envoyFilters?: [string, string, unknown][] }): MeshModel {
  return {
    ...model,
    peerAuthentications: (p.peer ?? []).map(([ns, name, spec]) => obj('PeerAuthentication', ns, name, spec)),
    authorizationPolicies: (p.authz ?? []).map(([ns, name, spec]) => obj('AuthorizationPolicy', ns, name, spec)),
    envoyFilters: (p.envoyFilters ?? []).map(([ns, name, spec]) => obj('EnvoyFilter', ns, name, spec)),
  };
}

/** A serving workload. */
export function workload(namespace: string, labels: Record<string, string> = {}, serviceAccount = 'default'): InboundWorkload {
  return { namespace, labels, serviceAccount, workloadName: 'w' };
}

/** The local-rate-limit EnvoyFilter of shared/scenarios/06-local-rate-limit.yaml, for `app`. */
export function rateLimitFilter(app: string, maxTokens = 10): unknown {
  return {
    workloadSelector: { labels: { app } },
    configPatches: [{
      applyTo: 'HTTP_FILTER',
      match: { context: 'SIDECAR_INBOUND', listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager' } } } },
      patch: {
        operation: 'INSERT_BEFORE',
        value: {
          name: 'envoy.filters.http.local_ratelimit',
          typed_config: {
            '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct',
            type_url: 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
            value: {
              stat_prefix: 'http_local_rate_limiter',
              token_bucket: { max_tokens: maxTokens, tokens_per_fill: maxTokens, fill_interval: '1s' },
              filter_enabled: { runtime_key: 'local_rate_limit_enabled', default_value: { numerator: 100, denominator: 'HUNDRED' } },
              filter_enforced: { runtime_key: 'local_rate_limit_enforced', default_value: { numerator: 100, denominator: 'HUNDRED' } },
              response_headers_to_add: [{ append_action: 'APPEND_IF_EXISTS_OR_ADD', header: { key: 'x-local-rate-limit', value: 'true' } }],
            },
          },
        },
      },
    }],
  };
}
