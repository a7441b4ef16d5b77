/**
 * What every analyzer gets: the parsed config of one candidate generation, the services and
 * endpoints built from it, and a reporter that turns `(object, field path, message)` into a
 * finding with the field's `file:line:column`.
 */
import type {
  AuthorizationPolicySpec,
  ConfigObject,
  DestinationRuleSpec,
  EnvoyFilterSpec,
  Finding,
  FindingLevel,
  GatewaySpec,
  PeerAuthenticationSpec,
  ServiceEntrySpec,
  ServiceModel,
  SidecarSpec,
  VirtualServiceSpec,
  WorkloadEntrySpec,
  WorkloadGroupSpec,
  WorkloadInstance,
} from '../model/mesh-model.ts';
import { formatFieldPath, makeFinding, type FindingCodeValue } from './finding.ts';
import { locate, resourceName } from './resource-parse.ts';

/** The config of one candidate generation, by kind, plus its registry view. */
export interface AnalysisInput {
  virtualServices: readonly ConfigObject<VirtualServiceSpec>[];
  destinationRules: readonly ConfigObject<DestinationRuleSpec>[];
  gateways: readonly ConfigObject<GatewaySpec>[];
  serviceEntries: readonly ConfigObject<ServiceEntrySpec>[];
  workloadEntries: readonly ConfigObject<WorkloadEntrySpec>[];
  /** Optional so inputs built before WorkloadGroup was read stay valid; absent means none. */
  workloadGroups?: readonly ConfigObject<WorkloadGroupSpec>[];
  sidecars: readonly ConfigObject<SidecarSpec>[];
  envoyFilters: readonly ConfigObject<EnvoyFilterSpec>[];
  peerAuthentications: readonly ConfigObject<PeerAuthenticationSpec>[];
  authorizationPolicies: readonly ConfigObject<AuthorizationPolicySpec>[];
  services: ReadonlyMap<string, ServiceModel>;
  endpoints: ReadonlyMap<string, readonly WorkloadInstance[]>;
  domainSuffix: string;
}

/** Reports one finding about a field of a config object. `path` starts at the object root. */
export type Report = (level: FindingLevel, code: FindingCodeValue, obj: ConfigObject<unknown>, path: readonly (string | number)[], message: string) => void;

/** One analyzer: a pure function of the input that reports what it finds. */
export interface Analyzer {
  /** Short name for docs and debugging. */
  name: string;
  run(input: AnalysisInput, report: Report): void;
}

/** A reporter that appends to `out`. */
export function collectInto(out: Finding[]): Report {
  return (level, code, obj, path, message) => {
    out.push(
      makeFinding(level, code, message, {
        resource: resourceName(obj),
        field: formatFieldPath(path),
        position: locate(obj, path),
      }),
    );
  };
}

/** One recorded `report` call: the arguments after the object. */
type RecordedFinding = [level: FindingLevel, code: FindingCodeValue, path: readonly (string | number)[], message: string];

/** Per analyzer (its key object), per config object: what checking that object reported. */
const recordedByAnalyzer = new WeakMap<object, WeakMap<object, readonly RecordedFinding[]>>();

/**
 * Runs `check` for a config object whose findings depend on nothing but the object itself, or
 * replays what it reported the last time for this analyzer (`analyzerKey`, any stable object)
 * and this very object. Only frozen objects are remembered: a published generation deep-freezes
 * its config, and the config store hands an unchanged document's object to the next analysis as
 * the same (frozen) object, so an edit re-checks only the documents it changed. An unfrozen
 * object (first analysis, objects built in code) is always checked.
 */
export function reportPerObject(analyzerKey: object, obj: ConfigObject<unknown>, report: Report, check: (report: Report) => void): void {
  const isImmutable = Object.isFrozen(obj) && (typeof obj.spec !== 'object' || obj.spec === null || Object.isFrozen(obj.spec));
  if (!isImmutable) {
    check(report);
    return;
  }
  let byObject = recordedByAnalyzer.get(analyzerKey);
  if (!byObject) {
    byObject = new WeakMap();
    recordedByAnalyzer.set(analyzerKey, byObject);
  }
  const recorded = byObject.get(obj);
  if (recorded) {
    for (const [level, code, path, message] of recorded) report(level, code, obj, path, message);
    return;
  }
  const calls: RecordedFinding[] = [];
  let isReplayable = true;
  check((level, code, o, path, message) => {
    // A per-object check reports about its own object; a report about another is not kept.
    if (o === obj) calls.push([level, code, path, message]);
    else isReplayable = false;
    report(level, code, o, path, message);
  });
  if (isReplayable) byObject.set(obj, calls);
}
