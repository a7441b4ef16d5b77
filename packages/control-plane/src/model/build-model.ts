/**
 * Assembling one MeshModel generation: config objects + registered workloads → services,
 * endpoints, analysis findings, a content version. Pure: the same input gives an equal model
 * (equal `version`); the config store decides whether to publish it.
 */
import { createHash } from 'node:crypto';
import type { AnalysisInput } from '../config/analysis-context.ts';
import { collectInto } from '../config/analysis-context.ts';
import { analyzers } from '../config/analyzers/index.ts';
import { sortFindings } from '../config/finding.ts';
import { ofKind } from '../config/read-config.ts';
import { deepFreeze, type AnyConfigObject } from '../config/resource-parse.ts';
import { buildServiceIndex } from '../registry/service-index.ts';
import type { RegisteredWorkload } from '../registry/registry.ts';
import type { EndpointHealth } from './mesh-model.ts';
import type { Finding, MeshModel } from './mesh-model.ts';

/** Settings that go into every generation. */
export interface ModelSettings {
  rootNamespace: string;
  trustDomain: string;
  domainSuffix: string;
}

/** A candidate generation: the model (not yet numbered) and every finding of its analysis. */
export interface Candidate {
  /** The model without its generation number; `findings` holds only warnings and infos. */
  model: Omit<MeshModel, 'generation'>;
  /** Every finding, errors included, sorted by position. */
  findings: Finding[];
}

/** The hashed form of frozen (published, so immutable) config objects, by identity. */
const jsonOfFrozen = new WeakMap<object, string>();

/**
 * What the model version hashes of one object. The config store hands an unchanged document's
 * object to the next build as the same frozen object, so its JSON is computed once, not per edit.
 */
function objectJson(o: AnyConfigObject): string {
  const cached = jsonOfFrozen.get(o);
  if (cached !== undefined) return cached;
  const json = JSON.stringify([o.kind, o.namespace, o.name, o.labels, o.annotations, o.spec]);
  if (Object.isFrozen(o) && Object.isFrozen(o.spec)) jsonOfFrozen.set(o, json);
  return json;
}

/**
 * Builds the services and endpoints, runs every analyzer, and returns the candidate. `readFindings`
 * (from reading and parsing) are merged in, so a candidate with any error finding must not be
 * published.
 */
export function buildCandidate(
  objects: readonly AnyConfigObject[],
  readFindings: readonly Finding[],
  registered: readonly RegisteredWorkload[],
  settings: ModelSettings,
  endpointHealth?: ReadonlyMap<string, EndpointHealth>,
): Candidate {
  const serviceEntries = ofKind<AnalysisInput['serviceEntries'][number]>(objects, 'ServiceEntry');
  const workloadEntries = ofKind<AnalysisInput['workloadEntries'][number]>(objects, 'WorkloadEntry');
  const index = buildServiceIndex(serviceEntries, workloadEntries, registered, settings.domainSuffix, endpointHealth);
  const input: AnalysisInput = {
    virtualServices: ofKind(objects, 'VirtualService'),
    destinationRules: ofKind(objects, 'DestinationRule'),
    gateways: ofKind(objects, 'Gateway'),
    serviceEntries,
    workloadEntries,
    workloadGroups: ofKind(objects, 'WorkloadGroup'),
    sidecars: ofKind(objects, 'Sidecar'),
    envoyFilters: ofKind(objects, 'EnvoyFilter'),
    peerAuthentications: ofKind(objects, 'PeerAuthentication'),
    authorizationPolicies: ofKind(objects, 'AuthorizationPolicy'),
    services: index.services,
    endpoints: index.endpoints,
    domainSuffix: settings.domainSuffix,
  };
  const findings: Finding[] = [...readFindings];
  const report = collectInto(findings);
  for (const a of analyzers) a.run(input, report);
  const sorted = sortFindings(findings);
  const hash = createHash('sha256');
  hash.update(JSON.stringify(settings));
  for (const o of objects) hash.update(objectJson(o));
  hash.update(JSON.stringify([...index.services.entries()].sort(([a], [b]) => (a < b ? -1 : 1))));
  hash.update(JSON.stringify([...index.endpoints.entries()].sort(([a], [b]) => (a < b ? -1 : 1))));
  const model: Omit<MeshModel, 'generation'> = {
    version: hash.digest('hex').slice(0, 16),
    rootNamespace: settings.rootNamespace,
    trustDomain: settings.trustDomain,
    domainSuffix: settings.domainSuffix,
    services: index.services,
    endpoints: index.endpoints,
    virtualServices: input.virtualServices,
    destinationRules: input.destinationRules,
    gateways: input.gateways,
    serviceEntries: input.serviceEntries,
    workloadEntries: input.workloadEntries,
    workloadGroups: input.workloadGroups ?? [],
    sidecars: input.sidecars,
    envoyFilters: input.envoyFilters,
    peerAuthentications: input.peerAuthentications,
    authorizationPolicies: input.authorizationPolicies,
    telemetries: ofKind(objects, 'Telemetry'),
    findings: sorted.filter((f) => f.level !== 'error'),
  };
  return { model, findings: sorted };
}

/** Numbers and freezes a candidate model: the published, immutable generation. */
export function publishModel(candidate: Candidate, generation: number): MeshModel {
  const m = candidate.model;
  for (const list of [m.virtualServices, m.destinationRules, m.gateways, m.serviceEntries, m.workloadEntries, m.workloadGroups ?? [], m.sidecars, m.envoyFilters, m.peerAuthentications, m.authorizationPolicies, m.telemetries ?? [], m.findings]) deepFreeze(list);
  for (const s of m.services.values()) deepFreeze(s);
  for (const e of m.endpoints.values()) deepFreeze(e);
  return Object.freeze({ ...m, generation, services: new ReadonlyMapView(m.services), endpoints: new ReadonlyMapView(m.endpoints) }) as MeshModel;
}

/** A Map whose mutators throw, so a published generation's maps cannot be changed by readers. */
class ReadonlyMapView<K, V> extends Map<K, V> {
  #sealed = false;
  constructor(source: ReadonlyMap<K, V>) {
    super();
    for (const [k, v] of source) super.set(k, v);
    this.#sealed = true;
  }
  override set(key: K, value: V): this {
    if (this.#sealed) throw new TypeError('MeshModel maps are read-only');
    return super.set(key, value);
  }
  override delete(): boolean {
    throw new TypeError('MeshModel maps are read-only');
  }
  override clear(): void {
    throw new TypeError('MeshModel maps are read-only');
  }
}
