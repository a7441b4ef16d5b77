/**
 * AuthorizationPolicy → Envoy RBAC (`envoy.extensions.filters.http.rbac.v3.RBAC`), the way
 * istiod's authz builder translates it for one workload:
 *
 * - DENY policies become one RBAC filter with action DENY, placed before the ALLOW filter;
 *   ALLOW policies become one RBAC filter with action ALLOW. Once any ALLOW policy selects the
 *   workload, a request that matches none of its rules is denied (an ALLOW policy with no rules,
 *   and `spec: {}`, therefore deny everything). AUDIT becomes an RBAC filter with action LOG (it never denies; Weft marks
 * matching requests in the access log); CUSTOM is not supported (an omission).
 * - Each rule is one RBAC policy `ns[<ns>]-policy[<name>]-rule[<i>]`: `to[]` become OR-ed
 *   permissions (each an AND of its operation fields), `from[]` OR-ed principals (each an AND of
 *   its source fields), and every `when` condition is AND-ed into all of them.
 * - Values use Istio's match forms: `exact`, `prefix*`, `*suffix`, `*` (present); an exact
 *   host also matches `host:<port>`. Principals
 *   `cluster.local/ns/a/sa/b` match the peer's URI SAN `spiffe://cluster.local/ns/a/sa/b`;
 *   namespaces match principals containing `/ns/<ns>/` (a regex, as istiod writes it).
 * - A field Weft cannot enforce (requestPrincipals, `request.auth.*` conditions, unknown keys)
 *   is recorded as an omission and handled on the safe side: an ALLOW rule holding it is left
 *   out (it allows nothing), a DENY rule drops just that field (it denies more).
 */
import type { AuthorizationPolicySpec, ConfigObject, MeshModel } from '../../model/mesh-model.ts';
import type { Omission } from '../client-capabilities.ts';
import { policyScope, type InboundWorkload } from './workload-selector.ts';

type Msg = Record<string, unknown>;

interface SourceView {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
}

interface OperationView {
  hosts?: string[];
  notHosts?: string[];
  ports?: (string | number)[];
  notPorts?: (string | number)[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

interface ConditionView {
  key?: string;
  values?: string[];
  notValues?: string[];
}

interface RuleView {
  from?: { source?: SourceView }[];
  to?: { operation?: OperationView }[];
  when?: ConditionView[];
}

interface AuthzView {
  selector?: { matchLabels?: Record<string, string> };
  targetRef?: unknown;
  targetRefs?: unknown[];
  action?: string;
  provider?: unknown;
  rules?: RuleView[];
}

/** The RBAC filter configs for one workload: DENY first, then ALLOW; either may be absent. */
export interface WorkloadRbac {
  /** `RBAC` message with `rules.action: DENY`, when a DENY policy selects the workload. */
  deny?: Msg;
  /** `RBAC` message with `rules.action: ALLOW`, when an ALLOW policy selects the workload. */
  allow?: Msg;
  /** `RBAC` message with `rules.action: LOG`, when an AUDIT policy selects the workload. */
  audit?: Msg;
}

/** Records why a field was not translated. */
type Omit = (o: Omission) => void;

// ---------------------------------------------------------------------------------------------
// Matchers

/** Envoy StringMatcher for an Istio value (`exact`, `prefix*`, `*suffix`, `*`). */
function stringMatcher(value: string, prefix = '', ignoreCase = false): Msg {
  const ic = ignoreCase ? { ignore_case: true } : {};
  if (value === '*') return { safe_regex: { regex: '.+' } };
  if (value.startsWith('*')) return { suffix: value.slice(1), ...ic };
  if (value.endsWith('*')) return { prefix: prefix + value.slice(0, -1), ...ic };
  return { exact: prefix + value, ...ic };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function principalId(value: string): Msg {
  return { authenticated: { principal_name: stringMatcher(value, 'spiffe://') } };
}

function namespaceId(ns: string): Msg {
  if (ns === '*') return { authenticated: { principal_name: { safe_regex: { regex: '.+' } } } };
  return { authenticated: { principal_name: { safe_regex: { regex: `.*/ns/${escapeRegex(ns)}/.*` } } } };
}

function headerMatch(name: string, value: string, ignoreCase = false): Msg {
  if (value === '*') return { header: { name, present_match: true } };
  return { header: { name, string_match: stringMatcher(value, '', ignoreCase) } };
}

/** `:authority` matcher for an Istio host: an exact host also matches with any port (`host:8080`), as in Istio. */
function hostMatch(value: string): Msg {
  if (value === '*' || value.startsWith('*') || value.endsWith('*') || value.includes(':')) return headerMatch(':authority', value, true);
  return orRules([headerMatch(':authority', value, true), { header: { name: ':authority', string_match: { prefix: `${value}:`, ignore_case: true } } }]);
}

/** CidrRange from `1.2.3.4` or `1.2.3.0/24`; undefined when malformed. */
function cidr(block: string): Msg | undefined {
  const [address, len] = block.split('/');
  if (!address) return undefined;
  const max = address.includes(':') ? 128 : 32;
  const prefixLen = len === undefined ? max : Number(len);
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max) return undefined;
  return { address_prefix: address, prefix_len: { value: prefixLen } };
}

function port(value: string | number): number | undefined {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 && n <= 65535 ? n : undefined;
}

function pathPermission(value: string): Msg {
  if (value === '*') return { any: true };
  return { url_path: { path: stringMatcher(value) } };
}

// ---------------------------------------------------------------------------------------------
// Combinators (one element needs no wrapper)

const orRules = (rules: Msg[]): Msg => (rules.length === 1 ? (rules[0] as Msg) : { or_rules: { rules } });
const andRules = (rules: Msg[]): Msg => (rules.length === 0 ? { any: true } : rules.length === 1 ? (rules[0] as Msg) : { and_rules: { rules } });
const orIds = (ids: Msg[]): Msg => (ids.length === 1 ? (ids[0] as Msg) : { or_ids: { ids } });
const andIds = (ids: Msg[]): Msg => (ids.length === 0 ? { any: true } : ids.length === 1 ? (ids[0] as Msg) : { and_ids: { ids } });

/** Adds `or(values.map(f))` (and `not(or(notValues.map(f)))`) when the lists are non-empty. */
function addField(out: Msg[], values: readonly string[] | undefined, notValues: readonly string[] | undefined, f: (v: string) => Msg | undefined, or: (m: Msg[]) => Msg, notKey: 'not_rule' | 'not_id', bad: (v: string) => void): void {
  const map = (list: readonly string[]) => list.flatMap((v) => {
    const m = f(v);
    if (!m) bad(v);
    return m ? [m] : [];
  });
  if (values?.length) {
    const ms = map(values);
    // every value malformed: nothing can match
    out.push(ms.length ? or(ms) : notKey === 'not_rule' ? { not_rule: { any: true } } : { not_id: { any: true } });
  }
  if (notValues?.length) {
    const ms = map(notValues);
    if (ms.length) out.push({ [notKey]: or(ms) });
  }
}

// ---------------------------------------------------------------------------------------------
// Rules

interface RuleContext {
  where: string;
  isDeny: boolean;
  omit: Omit;
  listener: string;
  /** Set when the rule holds a field that cannot be enforced. */
  isUnsupported: boolean;
}

function unsupported(rc: RuleContext, field: string, reason: string): void {
  rc.isUnsupported = true;
  rc.omit({
    type: 'listener',
    resource: rc.listener,
    field: `${rc.where}.${field}`,
    reason: `${reason}; ${rc.isDeny ? 'the DENY rule is applied without it (denies more)' : 'the ALLOW rule is left out (allows nothing)'}`,
  });
}

function operationPermissions(op: OperationView, rc: RuleContext, path: string): Msg[] {
  const out: Msg[] = [];
  const bad = (field: string) => (v: string) => rc.omit({ type: 'listener', resource: rc.listener, field: `${rc.where}.${path}.${field}`, reason: `value ${JSON.stringify(v)} is malformed and matches nothing` });
  addField(out, op.hosts, op.notHosts, hostMatch, orRules, 'not_rule', bad('hosts'));
  addField(out, op.ports?.map(String), op.notPorts?.map(String), (v) => {
    const p = port(v);
    return p === undefined ? undefined : { destination_port: p };
  }, orRules, 'not_rule', bad('ports'));
  addField(out, op.methods, op.notMethods, (v) => headerMatch(':method', v), orRules, 'not_rule', bad('methods'));
  addField(out, op.paths, op.notPaths, pathPermission, orRules, 'not_rule', bad('paths'));
  return out;
}

function sourcePrincipals(src: SourceView, rc: RuleContext, path: string): Msg[] {
  const out: Msg[] = [];
  const bad = (field: string) => (v: string) => rc.omit({ type: 'listener', resource: rc.listener, field: `${rc.where}.${path}.${field}`, reason: `value ${JSON.stringify(v)} is malformed and matches nothing` });
  addField(out, src.principals, src.notPrincipals, principalId, orIds, 'not_id', bad('principals'));
  addField(out, src.namespaces, src.notNamespaces, namespaceId, orIds, 'not_id', bad('namespaces'));
  addField(out, src.ipBlocks, src.notIpBlocks, (v) => {
    const c = cidr(v);
    return c && { direct_remote_ip: c };
  }, orIds, 'not_id', bad('ipBlocks'));
  addField(out, src.remoteIpBlocks, src.notRemoteIpBlocks, (v) => {
    const c = cidr(v);
    return c && { remote_ip: c };
  }, orIds, 'not_id', bad('remoteIpBlocks'));
  if (src.requestPrincipals?.length || src.notRequestPrincipals?.length) {
    unsupported(rc, `${path}.requestPrincipals`, 'request principals need JWT authentication (RequestAuthentication), which Weft does not implement');
  }
  return out;
}

/** `when` conditions split into what constrains the request (permissions) and the peer (principals). */
function conditions(when: readonly ConditionView[], rc: RuleContext): { permissions: Msg[]; principals: Msg[] } {
  const permissions: Msg[] = [];
  const principals: Msg[] = [];
  when.forEach((c, i) => {
    const key = c.key ?? '';
    const path = `when[${i}]`;
    const bad = (v: string) => rc.omit({ type: 'listener', resource: rc.listener, field: `${rc.where}.${path}`, reason: `value ${JSON.stringify(v)} is malformed and matches nothing` });
    const header = /^request\.headers\[(.+)\]$/.exec(key);
    if (header) addField(principals, c.values, c.notValues, (v) => headerMatch((header[1] as string).toLowerCase(), v), orIds, 'not_id', bad);
    else if (key === 'source.ip') addField(principals, c.values, c.notValues, (v) => { const r = cidr(v); return r && { direct_remote_ip: r }; }, orIds, 'not_id', bad);
    else if (key === 'remote.ip') addField(principals, c.values, c.notValues, (v) => { const r = cidr(v); return r && { remote_ip: r }; }, orIds, 'not_id', bad);
    else if (key === 'source.namespace') addField(principals, c.values, c.notValues, namespaceId, orIds, 'not_id', bad);
    else if (key === 'source.principal') addField(principals, c.values, c.notValues, principalId, orIds, 'not_id', bad);
    else if (key === 'destination.port') addField(permissions, c.values, c.notValues, (v) => { const p = port(v); return p === undefined ? undefined : { destination_port: p }; }, orRules, 'not_rule', bad);
    else if (key === 'destination.ip') addField(permissions, c.values, c.notValues, (v) => { const r = cidr(v); return r && { destination_ip: r }; }, orRules, 'not_rule', bad);
    else if (key === 'connection.sni') addField(permissions, c.values, c.notValues, (v) => ({ requested_server_name: stringMatcher(v) }), orRules, 'not_rule', bad);
    else if (key.startsWith('request.auth.')) unsupported(rc, `${path}.key`, `condition ${key} needs JWT authentication, which Weft does not implement`);
    else unsupported(rc, `${path}.key`, `condition key ${JSON.stringify(key)} is not supported`);
  });
  return { permissions, principals };
}

/** One RBAC Policy for a rule, or undefined when an ALLOW rule cannot be enforced. */
function rulePolicy(rule: RuleView, rc: RuleContext): Msg | undefined {
  const when = conditions(rule.when ?? [], rc);
  const tos = rule.to?.length ? rule.to : [undefined];
  const froms = rule.from?.length ? rule.from : [undefined];
  const permissions = tos.map((t, i) => andRules([...(t?.operation ? operationPermissions(t.operation, rc, `to[${i}].operation`) : []), ...when.permissions]));
  const principals = froms.map((f, i) => andIds([...(f?.source ? sourcePrincipals(f.source, rc, `from[${i}].source`) : []), ...when.principals]));
  if (rc.isUnsupported && !rc.isDeny) return undefined;
  return { permissions, principals };
}

// ---------------------------------------------------------------------------------------------
// Policies → filters

/** The AuthorizationPolicies selecting `workload`, in config order. */
export function policiesFor(model: MeshModel, workload: InboundWorkload): ConfigObject<AuthorizationPolicySpec>[] {
  return model.authorizationPolicies.filter((ap) => policyScope({ namespace: ap.namespace, selector: (ap.spec as AuthzView).selector?.matchLabels }, workload, model.rootNamespace) !== undefined);
}

/**
 * The RBAC filter configs for `workload` (see the module comment). `listener` names the
 * resource in omissions. Pure; the result is plain proto-shaped JSON.
 */
export function buildWorkloadRbac(model: MeshModel, workload: InboundWorkload, listener: string, omit: Omit): WorkloadRbac {
  const deny: Msg = {};
  const allow: Msg = {};
  const audit: Msg = {};
  let hasDeny = false;
  let hasAllow = false;
  let hasAudit = false;
  for (const ap of policiesFor(model, workload)) {
    const spec = ap.spec as AuthzView;
    const id = `AuthorizationPolicy ${ap.namespace}/${ap.name}`;
    const action = spec.action ?? 'ALLOW';
    if (spec.targetRef || spec.targetRefs?.length) {
      omit({ type: 'listener', resource: listener, field: `${id} spec.targetRefs`, reason: 'targetRef policies apply to gateways/waypoints, not to workloads; policy not applied' });
      continue;
    }
    if (action === 'CUSTOM') {
      omit({ type: 'listener', resource: listener, field: `${id} spec.action`, reason: 'action CUSTOM is not supported (no external authorizer); policy not applied' });
      continue;
    }
    if (action !== 'ALLOW' && action !== 'DENY' && action !== 'AUDIT') {
      omit({ type: 'listener', resource: listener, field: `${id} spec.action`, reason: `unknown action ${String(action)}; policy not applied` });
      continue;
    }
    if (action === 'DENY') hasDeny = true;
    else if (action === 'ALLOW') hasAllow = true;
    else hasAudit = true;
    // AUDIT translates like DENY: an untranslatable field is dropped, so it audits more, never less.
    const isDeny = action !== 'ALLOW';
    const target = action === 'DENY' ? deny : action === 'ALLOW' ? allow : audit;
    (spec.rules ?? []).forEach((rule, i) => {
      const rc: RuleContext = { where: `${id} spec.rules[${i}]`, isDeny, omit, listener, isUnsupported: false };
      const policy = rulePolicy(rule ?? {}, rc);
      if (policy) target[`ns[${ap.namespace}]-policy[${ap.name}]-rule[${i}]`] = policy;
    });
  }
  return {
    ...(hasDeny ? { deny: { rules: { action: 'DENY', policies: deny } } } : {}),
    ...(hasAllow ? { allow: { rules: { action: 'ALLOW', policies: allow } } } : {}),
    ...(hasAudit ? { audit: { rules: { action: 'LOG', policies: audit } } } : {}),
  };
}
