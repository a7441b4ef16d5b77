/**
 * The runtime registry of self-registered workloads: the xDS server adds a workload when a node
 * that serves a port connects and removes it when its stream ends. Each change is picked up by
 * the config store as a new model generation (debounced like file changes).
 */
import { MeshError } from '@weft/xds-client';
import type { EndpointHealth, ServicePort } from '../model/mesh-model.ts';

/** A workload that announced itself (node metadata), as the xDS server registers it. */
export interface RegisteredWorkload {
  /** Unique id; registering the same id again replaces the earlier entry. */
  id: string;
  /** Service it serves: a short name (resolved in `namespace`) or an FQDN. */
  service: string;
  namespace: string;
  /** IP address (or DNS name) it is reachable on. */
  address: string;
  /** Ports it serves; the service created for it (when no ServiceEntry declares it) has these ports. */
  ports: ServicePort[];
  labels: Record<string, string>;
  serviceAccount: string;
  /** `region/zone/subzone`. */
  locality?: string;
  /** Defaults to `HEALTHY`. */
  health?: EndpointHealth;
  /** How the workload takes the metadata exchange (`connection`: once per connection), published as EDS metadata `weft.peer_exchange`. */
  peerExchange?: string;
}

/**
 * Adds and removes self-registered workloads. Every method is synchronous and cheap; the model
 * that includes the change is published later (debounced) by the config store that owns the
 * registry. Bad input (empty id/service/address, a port outside 1..65535) throws a MeshError
 * `WEFT_ERR_CONFIG_INVALID` naming the field, and changes nothing.
 */
export interface Registry {
  /** Adds or replaces the workload with this id. */
  register(workload: RegisteredWorkload): void;
  /** Removes the workload; unknown ids are ignored. */
  unregister(id: string): void;
  /**
   * Sets the health of a registered workload (its readiness, as the self-registrar probes it);
   * unknown ids are ignored. A probed health set by {@link Registry.setEndpointHealth} for the
   * same id takes precedence in the model.
   */
  setHealth(id: string, health: EndpointHealth): void;
  /**
   * Sets the probed health of any endpoint by its id — WorkloadEntries (`namespace/name`),
   * ServiceEntry endpoints and registrations alike; `undefined` clears it, so the endpoint's
   * declared health applies again. Unchanged values are no-ops.
   */
  setEndpointHealth(id: string, health: EndpointHealth | undefined): void;
  /** The registered workloads, in registration order (a snapshot: later changes do not show). */
  list(): readonly RegisteredWorkload[];
  /** The probed health per endpoint id (a snapshot), see {@link Registry.setEndpointHealth}. */
  endpointHealth(): ReadonlyMap<string, EndpointHealth>;
}

/** A {@link Registry} plus the change hook its owner (the config store) listens on. */
export interface ObservableRegistry extends Registry {
  /** Called synchronously after each effective change; the owner debounces. */
  onMutate(listener: () => void): void;
}

const healthValues: readonly EndpointHealth[] = ['HEALTHY', 'UNHEALTHY', 'DRAINING', 'UNKNOWN', 'DEGRADED'];

function invalid(field: string, message: string, id: string): MeshError {
  return new MeshError('WEFT_ERR_CONFIG_INVALID', `registered workload ${id || '(no id)'}: ${field} ${message}`, { details: { field, id } });
}

function checkWorkload(w: RegisteredWorkload): RegisteredWorkload {
  if (typeof w.id !== 'string' || w.id === '') throw invalid('id', 'must be a non-empty string', '');
  if (typeof w.service !== 'string' || w.service === '') throw invalid('service', 'must be a non-empty string', w.id);
  if (typeof w.namespace !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(w.namespace)) throw invalid('namespace', 'must be an RFC 1123 label', w.id);
  if (typeof w.address !== 'string' || w.address === '') throw invalid('address', 'must be a non-empty string', w.id);
  if (!Array.isArray(w.ports)) throw invalid('ports', 'must be an array', w.id);
  w.ports.forEach((p, i) => {
    if (!Number.isInteger(p.number) || p.number < 1 || p.number > 65535) throw invalid(`ports[${i}].number`, 'must be an integer in 1..65535', w.id);
  });
  if (w.health !== undefined && !healthValues.includes(w.health)) throw invalid('health', `must be one of ${healthValues.join(', ')}`, w.id);
  return structuredClone({ ...w, labels: { ...(w.labels ?? {}) }, serviceAccount: w.serviceAccount || w.service.split('.')[0] || w.service });
}

/** Creates an empty registry. The config store creates one per store; tests may create their own. */
export function createRegistry(): ObservableRegistry {
  const workloads = new Map<string, RegisteredWorkload>();
  const probed = new Map<string, EndpointHealth>();
  const listeners: (() => void)[] = [];
  const changed = (): void => {
    for (const l of listeners) l();
  };
  return {
    register(workload) {
      const w = checkWorkload(workload);
      workloads.set(w.id, Object.freeze(w));
      changed();
    },
    unregister(id) {
      if (workloads.delete(id)) changed();
    },
    setHealth(id, health) {
      if (!healthValues.includes(health)) throw invalid('health', `must be one of ${healthValues.join(', ')}`, id);
      const w = workloads.get(id);
      if (!w || w.health === health) return;
      workloads.set(id, Object.freeze({ ...w, health }));
      changed();
    },
    setEndpointHealth(id, health) {
      if (health !== undefined && !healthValues.includes(health)) throw invalid('health', `must be one of ${healthValues.join(', ')}`, id);
      if (probed.get(id) === health) return;
      if (health === undefined) probed.delete(id);
      else probed.set(id, health);
      changed();
    },
    list() {
      return [...workloads.values()];
    },
    endpointHealth() {
      return new Map(probed);
    },
    onMutate(listener) {
      listeners.push(listener);
    },
  };
}
