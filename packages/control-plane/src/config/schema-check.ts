/**
 * Schema validation of one Istio object against the validators that `@kubernetes-models/istio`
 * generates from Istio's own CRDs, plus the unknown-field check those validators lack.
 *
 * The generated validators check types, enums and required fields but accept any extra key.
 * To find unknown fields from the same schemas, the document is validated through a recording
 * proxy: every property the validator looks up is a property the schema defines, and an object
 * the validator enumerates is a map (`labels`, `headers`). A key present in the data that the
 * validator never asked for is therefore not in the schema. Objects the validator never looks
 * into at all are free-form (`x-kubernetes-preserve-unknown-fields`, e.g. EnvoyFilter values).
 */
import type { ConfigKind } from '../model/mesh-model.ts';

/** One schema problem, with the path of the offending field. */
export interface SchemaProblem {
  path: (string | number)[];
  message: string;
}

/** The `(apiVersion, kind)` pairs Weft reads, each with the module holding its generated model. */
const modelModules: Record<string, () => Promise<Record<string, unknown>>> = {
  'networking.istio.io/v1': () => import('@kubernetes-models/istio/networking.istio.io/v1'),
  'networking.istio.io/v1beta1': () => import('@kubernetes-models/istio/networking.istio.io/v1beta1'),
  'networking.istio.io/v1alpha3': () => import('@kubernetes-models/istio/networking.istio.io/v1alpha3'),
  'security.istio.io/v1': () => import('@kubernetes-models/istio/security.istio.io/v1'),
  'security.istio.io/v1beta1': () => import('@kubernetes-models/istio/security.istio.io/v1beta1'),
  'telemetry.istio.io/v1': () => import('@kubernetes-models/istio/telemetry.istio.io/v1'),
  'telemetry.istio.io/v1alpha1': () => import('@kubernetes-models/istio/telemetry.istio.io/v1alpha1'),
};

const networkingKinds: readonly ConfigKind[] = ['VirtualService', 'DestinationRule', 'Gateway', 'ServiceEntry', 'WorkloadEntry', 'WorkloadGroup', 'Sidecar'];
const securityKinds: readonly ConfigKind[] = ['PeerAuthentication', 'AuthorizationPolicy'];
const telemetryKinds: readonly ConfigKind[] = ['Telemetry'];

/**
 * The kinds Weft reads at `apiVersion`, or undefined when the API group/version is not one Weft
 * reads. EnvoyFilter exists only in `networking.istio.io/v1alpha3`, as in Istio.
 */
export function kindsFor(apiVersion: string): readonly ConfigKind[] | undefined {
  switch (apiVersion) {
    case 'networking.istio.io/v1':
    case 'networking.istio.io/v1beta1':
      return networkingKinds;
    case 'networking.istio.io/v1alpha3':
      return [...networkingKinds, 'EnvoyFilter'];
    case 'security.istio.io/v1':
    case 'security.istio.io/v1beta1':
      return securityKinds;
    case 'telemetry.istio.io/v1':
    case 'telemetry.istio.io/v1alpha1':
      return telemetryKinds;
    default:
      return undefined;
  }
}

interface ValidatorModel {
  prototype: { validate(this: unknown): void };
}

const cache = new Map<string, ValidatorModel>();

async function modelFor(apiVersion: string, kind: ConfigKind): Promise<ValidatorModel | undefined> {
  const key = `${apiVersion}/${kind}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const load = modelModules[apiVersion];
  if (!load) return undefined;
  const mod = await load();
  const model = mod[kind] as ValidatorModel | undefined;
  if (model) cache.set(key, model);
  return model;
}

interface AccessRecord {
  asked: Set<string>;
  enumerated: boolean;
  value: Record<string, unknown>;
  path: (string | number)[];
}

function record(value: unknown, path: (string | number)[], records: AccessRecord[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  const isArray = Array.isArray(value);
  const rec: AccessRecord = { asked: new Set(), enumerated: false, value: value as Record<string, unknown>, path };
  if (!isArray) records.push(rec);
  const wrapped = new Map<string, unknown>();
  return new Proxy(value as object, {
    get(target, key) {
      const raw = Reflect.get(target, key);
      if (typeof key !== 'string') return raw;
      rec.asked.add(key);
      if (!Object.hasOwn(target, key) || raw === null || typeof raw !== 'object') return raw;
      let w = wrapped.get(key);
      if (w === undefined) {
        const seg = isArray && /^\d+$/.test(key) ? Number(key) : key;
        w = record(raw, [...path, seg], records);
        wrapped.set(key, w);
      }
      return w;
    },
    has(target, key) {
      if (typeof key === 'string') rec.asked.add(key);
      return Reflect.has(target, key);
    },
    ownKeys(target) {
      rec.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** JSON pointer → field path; a segment is a number only where the data holds an array there. */
function parsePointer(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '') return [];
  const out: (string | number)[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const isIndex = Array.isArray(node) && /^\d+$/.test(seg);
    out.push(isIndex ? Number(seg) : seg);
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
  }
  return out;
}

function describe(err: AjvError): string {
  switch (err.keyword) {
    case 'type':
      return `must be ${String(err.params?.['type'])}`;
    case 'enum':
      return `must be one of ${(err.params?.['allowedValues'] as unknown[] | undefined)?.map(String).join(', ') ?? 'the allowed values'}`;
    case 'required':
      return `is required`;
    case 'oneOf':
      return 'must set exactly one of its alternatives (for example exactly one of exact, prefix, regex)';
    default:
      return err.message ?? err.keyword;
  }
}

/**
 * Validates `doc` (a whole object: apiVersion, kind, metadata, spec) against the generated
 * schema of its kind and reports type/enum/required problems and unknown fields. Resolves to an
 * empty list for a valid object; never throws for bad input (a kind without a generated model
 * is reported as a problem on `kind`).
 */
export async function checkSchema(apiVersion: string, kind: ConfigKind, doc: Record<string, unknown>): Promise<SchemaProblem[]> {
  const model = await modelFor(apiVersion, kind);
  if (!model) return [{ path: ['kind'], message: `${kind} has no schema in ${apiVersion}` }];
  const records: AccessRecord[] = [];
  const problems: SchemaProblem[] = [];
  try {
    model.prototype.validate.call(record(doc, [], records));
  } catch (err) {
    const errors = ((err as { errors?: AjvError[] }).errors ?? []) as AjvError[];
    const seen = new Set<string>();
    // A failed oneOf drags its branches' `required` errors along; report the oneOf alone.
    const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').map((e) => e.instancePath));
    for (const e of errors) {
      if (e.keyword === 'required' && oneOfPaths.has(e.instancePath)) continue;
      if (e.keyword === 'not' && oneOfPaths.has(e.instancePath)) continue;
      let path = parsePointer(e.instancePath, doc);
      if (e.keyword === 'required' && typeof e.params?.['missingProperty'] === 'string') path = [...path, e.params['missingProperty']];
      const message = describe(e);
      const key = `${path.join('/')}\u0000${message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push({ path, message });
    }
    if (errors.length === 0) problems.push({ path: [], message: err instanceof Error ? err.message : String(err) });
  }
  for (const rec of records) {
    if (rec.enumerated || rec.asked.size === 0) continue;
    for (const key of Object.keys(rec.value)) {
      if (!rec.asked.has(key)) problems.push({ path: [...rec.path, key], message: 'is not a field of the schema (unknown field)' });
    }
  }
  return problems;
}
