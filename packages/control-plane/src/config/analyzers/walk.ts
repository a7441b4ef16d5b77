/** Helpers that visit the parts of VirtualServices many analyzers look at. */
import type { ConfigObject, VirtualServiceSpec } from '../../model/mesh-model.ts';

/** A destination (`host`, `subset`, `port`) as it appears in any VirtualService route. */
export interface DestinationRef {
  host: string;
  subset?: string;
  port?: { number?: number };
}

/** A visited destination with its field path (ending at `destination`) and its route list. */
export interface VisitedDestination {
  destination: DestinationRef;
  path: (string | number)[];
}

/**
 * Calls `visit` for every destination of `vs`: http/tcp/tls routes, `mirror` and `mirrors`.
 * Entries without a `host` are skipped (the schema reports them).
 */
export function forEachDestination(vs: ConfigObject<VirtualServiceSpec>, visit: (d: VisitedDestination) => void): void {
  const spec = vs.spec;
  const kinds = ['http', 'tcp', 'tls'] as const;
  for (const kind of kinds) {
    const rules = (spec[kind] ?? []) as { route?: { destination?: DestinationRef }[]; mirror?: DestinationRef; mirrors?: { destination?: DestinationRef }[] }[];
    rules.forEach((rule, i) => {
      (rule.route ?? []).forEach((r, j) => {
        if (r.destination?.host) visit({ destination: r.destination, path: ['spec', kind, i, 'route', j, 'destination'] });
      });
      if (rule.mirror?.host) visit({ destination: rule.mirror, path: ['spec', kind, i, 'mirror'] });
      (rule.mirrors ?? []).forEach((m, j) => {
        if (m.destination?.host) visit({ destination: m.destination, path: ['spec', kind, i, 'mirrors', j, 'destination'] });
      });
    });
  }
}

/** The gateways a VirtualService binds to; none listed means the `mesh` gateway only. */
export function boundGateways(vs: ConfigObject<VirtualServiceSpec>): readonly string[] {
  const g = vs.spec.gateways;
  return g && g.length > 0 ? g : ['mesh'];
}
