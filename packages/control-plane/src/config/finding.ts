/**
 * Findings of config analysis: the codes Weft reports, how a finding is built from a resource and
 * a field path, and the one-line text form `weft validate` prints.
 *
 * Codes follow `istioctl analyze` where Istio has an analyzer for the same problem (`IST0101`,
 * `IST0106`, …); problems Istio has no code for use `WEFTnnnn`. Codes never change meaning.
 */
import type { Finding, FindingLevel, SourcePosition } from '../model/mesh-model.ts';

/** Every finding code Weft emits, with its default level and a short name. */
export const FindingCode = {
  /** Istio IST0101 ReferencedResourceNotFound: an undefined subset or gateway. */
  referencedResourceNotFound: 'IST0101',
  /** Istio IST0106 SchemaValidationError: wrong type, unknown field, missing required field. */
  schemaValidationError: 'IST0106',
  /** Istio IST0109 ConflictingMeshGatewayVirtualServiceHosts: two VirtualServices for one host. */
  conflictingVirtualServiceHosts: 'IST0109',
  /** Istio IST0111 MultipleSidecarsWithoutWorkloadSelectors. */
  multipleSidecarsWithoutSelector: 'IST0111',
  /** Istio IST0112 VirtualServiceDestinationPortSelectorRequired. */
  destinationPortRequired: 'IST0112',
  /** Istio IST0122 InvalidRegexp (an error in Weft: Envoy's RE2 would reject the route). */
  invalidRegexp: 'IST0122',
  /** Istio IST0127 NoMatchingWorkloadsFound: a policy selector that matches no known workload. */
  noMatchingWorkloads: 'IST0127',
  /** Istio IST0132 VirtualServiceHostNotFoundInGateway: a VirtualService host no server of its Gateway lists. */
  virtualServiceHostNotInGateway: 'IST0132',
  /** Istio IST0173 DestinationRuleSubsetNotSelectPods. */
  subsetSelectsNoWorkload: 'IST0173',
  /** YAML that does not parse (syntax error, duplicate key, too many aliases). */
  yamlSyntax: 'WEFT0001',
  /** A document that is not a Kubernetes object (no apiVersion/kind/metadata.name). */
  notAnObject: 'WEFT0002',
  /** A kind or apiVersion Weft does not read; reported, never fatal. */
  unknownKind: 'WEFT0003',
  /** Two resources with the same kind, namespace and name. */
  duplicateResource: 'WEFT0004',
  /** A file with no documents in it. */
  emptyFile: 'WEFT0005',
  /** A file that cannot be read or is not UTF-8 text. */
  unreadableFile: 'WEFT0006',
  /** A destination host no ServiceEntry declares and no workload registered (yet). */
  unknownHost: 'WEFT0101',
  /** Every destination of a route has weight 0. */
  allWeightsZero: 'WEFT0102',
  /** A destination port the ServiceEntry does not declare. */
  undeclaredPort: 'WEFT0103',
  /** A valid Istio field that Weft does not apply. */
  unsupportedFeature: 'WEFT0104',
  /** An EnvoyFilter patch other than the local-rate-limit pattern (not applied). */
  unsupportedEnvoyFilter: 'WEFT0105',
  /** An EnvoyFilter local-rate-limit patch whose settings are invalid. */
  invalidRateLimit: 'WEFT0106',
  /** A value the schema accepts but Istio's own validation rejects (durations, percentages, ports). */
  invalidValue: 'WEFT0107',
} as const;

/** One of the codes in {@link FindingCode}. */
export type FindingCodeValue = (typeof FindingCode)[keyof typeof FindingCode];

/** Builds a finding; `field` and `resource` are optional so file-level problems fit too. */
export function makeFinding(
  level: FindingLevel,
  code: FindingCodeValue,
  message: string,
  where: { resource?: string; field?: string; position?: SourcePosition } = {},
): Finding {
  const finding: Finding = { level, code, message };
  if (where.resource !== undefined) finding.resource = where.resource;
  if (where.field !== undefined) finding.field = where.field;
  if (where.position !== undefined) finding.position = where.position;
  return finding;
}

/**
 * The one-line text form: `file:line:column CODE Kind ns/name: field.path message`, with the
 * parts that are unknown left out. Level is not printed for errors (the common case); warnings
 * and infos carry a `(warning)`/`(info)` tag after the code so a reader can tell them apart.
 */
export function formatFinding(f: Finding): string {
  const parts: string[] = [];
  if (f.position) parts.push(`${f.position.file}:${f.position.line}:${f.position.column}`);
  parts.push(f.level === 'error' ? f.code : `${f.code} (${f.level})`);
  let text = parts.join(' ');
  if (f.resource) text += ` ${f.resource}:`;
  text += f.field ? ` ${f.field} ${f.message}` : ` ${f.message}`;
  return text;
}

/** True when any finding is an error (errors fail validation and block a new generation). */
export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.level === 'error');
}

/** Orders findings by file, line, column, then code, so output is stable across runs. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => {
    const fa = a.position?.file ?? '';
    const fb = b.position?.file ?? '';
    if (fa !== fb) return fa < fb ? -1 : 1;
    const la = a.position?.line ?? 0;
    const lb = b.position?.line ?? 0;
    if (la !== lb) return la - lb;
    const ca = a.position?.column ?? 0;
    const cb = b.position?.column ?? 0;
    if (ca !== cb) return ca - cb;
    return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
  });
}

/** Renders a field path (`['spec','http',0]`) the way findings print it: `spec.http[0]`. */
export function formatFieldPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}
