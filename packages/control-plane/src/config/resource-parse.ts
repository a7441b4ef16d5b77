/**
 * Turning parsed YAML documents into typed Istio config objects: checks the Kubernetes envelope
 * (apiVersion, kind, metadata), validates the spec against Istio's schema, and remembers where
 * each object came from so later analysis can point at `file:line:column` of any field.
 */
import type { ConfigKind, ConfigObject, Finding, SourcePosition } from '../model/mesh-model.ts';
import { FindingCode, formatFieldPath, makeFinding } from './finding.ts';
import { checkSchema, kindsFor } from './schema-check.ts';
import type { SourceDocument } from './yaml-source.ts';

/** A config object of any kind. */
export type AnyConfigObject = ConfigObject<Record<string, unknown>>;

const locators = new WeakMap<object, (path: readonly (string | number)[]) => SourcePosition>();

/**
 * Position of `path` (a field path starting at the object root, e.g. `['spec','http',0]`) inside
 * `obj`'s source; falls back to the object's own position for objects built in code.
 */
export function locate(obj: ConfigObject<unknown>, path: readonly (string | number)[]): SourcePosition {
  const fn = locators.get(obj);
  return fn ? fn(path) : obj.source;
}

/** `Kind namespace/name`, the way findings name a resource. */
export function resourceName(obj: Pick<ConfigObject<unknown>, 'kind' | 'namespace' | 'name'>): string {
  return `${obj.kind} ${obj.namespace}/${obj.name}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(v)) for (const [k, val] of Object.entries(v)) out[k] = String(val);
  return out;
}

/** Deep-freezes plain data so a published generation cannot be mutated by its readers. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

/**
 * Converts one document to a config object. Unknown kinds and API versions give a warning and no
 * object; a broken envelope or a schema problem gives errors and no object (so nothing
 * half-valid reaches the model).
 */
export async function parseResource(doc: SourceDocument, defaultNamespace: string): Promise<{ object?: AnyConfigObject; findings: Finding[] }> {
  const findings: Finding[] = [];
  const v = doc.value;
  if (!isRecord(v)) {
    findings.push(makeFinding('error', FindingCode.notAnObject, `document ${doc.index + 1} is not a Kubernetes object (a mapping with apiVersion, kind and metadata)`, { position: doc.position }));
    return { findings };
  }
  const apiVersion = v['apiVersion'];
  const kind = v['kind'];
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    const field = typeof apiVersion !== 'string' ? 'apiVersion' : 'kind';
    findings.push(makeFinding('error', FindingCode.notAnObject, `is missing or not a string: every document needs apiVersion and kind`, { field, position: doc.locate([field]) }));
    return { findings };
  }
  const metadata = v['metadata'];
  const name = isRecord(metadata) ? metadata['name'] : undefined;
  const namespaceRaw = isRecord(metadata) ? metadata['namespace'] : undefined;
  const namespace = typeof namespaceRaw === 'string' && namespaceRaw !== '' ? namespaceRaw : defaultNamespace;
  const label = `${kind} ${namespace}/${typeof name === 'string' ? name : '?'}`;
  const kinds = kindsFor(apiVersion);
  if (!kinds || !kinds.includes(kind as ConfigKind)) {
    const why = kinds ? `kind ${kind} is not read from ${apiVersion}` : `apiVersion ${apiVersion} is not one Weft reads (networking.istio.io/v1|v1beta1|v1alpha3, security.istio.io/v1|v1beta1, telemetry.istio.io/v1|v1alpha1)`;
    findings.push(makeFinding('warning', FindingCode.unknownKind, `${why}; the document is ignored`, { resource: label, field: kinds ? 'kind' : 'apiVersion', position: doc.locate([kinds ? 'kind' : 'apiVersion']) }));
    return { findings };
  }
  if (typeof name !== 'string' || name === '') {
    findings.push(makeFinding('error', FindingCode.notAnObject, 'is required', { resource: label, field: 'metadata.name', position: doc.locate(['metadata', 'name']) }));
    return { findings };
  }
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || (typeof namespaceRaw === 'string' && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespaceRaw))) {
    const field = typeof namespaceRaw === 'string' && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespaceRaw) ? 'metadata.namespace' : 'metadata.name';
    findings.push(makeFinding('error', FindingCode.schemaValidationError, 'must be a lower-case RFC 1123 name', { resource: label, field, position: doc.locate(field.split('.')) }));
    return { findings };
  }
  const problems = await checkSchema(apiVersion, kind as ConfigKind, v);
  for (const p of problems) {
    findings.push(makeFinding('error', FindingCode.schemaValidationError, p.message, { resource: label, field: formatFieldPath(p.path) || '(document)', position: doc.locate(p.path) }));
  }
  if (problems.length > 0) return { findings };
  const spec = isRecord(v['spec']) ? v['spec'] : {};
  const object: AnyConfigObject = {
    kind: kind as ConfigKind,
    apiVersion,
    name,
    namespace,
    labels: stringMap(isRecord(metadata) ? metadata['labels'] : undefined),
    annotations: stringMap(isRecord(metadata) ? metadata['annotations'] : undefined),
    spec,
    source: doc.position,
  };
  locators.set(object, doc.locate);
  return { object, findings };
}
