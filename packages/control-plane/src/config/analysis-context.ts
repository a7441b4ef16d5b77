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
