/**
 * Envoy's RBAC HTTP filter (`envoy.extensions.filters.http.rbac.v3.RBAC`, gRFC A41) as a
 * compiled predicate tree. Everything (string matchers, RE2 regexes, CIDR ranges, the denial
 * objects) is built once when the inbound listener arrives; evaluating a request walks the
 * policies in order, allocates nothing besides a path slice for `url_path`, and stops at the
 * first matching policy.
 *
 * Semantics, per filter (each filter decides on its own, as consecutive Envoy filters do):
 * - `DENY`: a request matching any policy is denied;
 * - `ALLOW`: a request matching no policy is denied (so an ALLOW filter with no policies denies
 *   everything, as Istio's "allow nothing" relies on);
 * - `LOG` (Istio AUDIT): never denies; `RbacChain.audit` names the matching policy.
 * - `shadow_rules` and a filter without `rules`: never deny.
 * A policy matches when at least one permission and at least one principal match.
 */
import type { RbacFilterConfig, RbacPermission, RbacPrincipal, RbacRules } from '@weft/xds-client';
import { ErrorCode, MeshError } from '@weft/xds-client';
import { compileHeaderMatcher, compileStringMatcher } from '../route/string-matcher.ts';
import { pathOnly } from '../route/request-facts.ts';
import type { RequestFacts } from '../route/request-facts.ts';
import { compileCidr } from './cidr.ts';

/**
 * One inbound request as RBAC sees it: the routing facts (method, path with query, lower-case
 * headers, authority) plus what the connection tells.
 */
export interface RbacRequest extends RequestFacts {
  /**
   * The authenticated peer: the verified SPIFFE ID (URI SAN) of the client certificate, else its
   * subject; `undefined` on plaintext or without a client certificate.
   */
  readonly principal?: string | undefined;
  /** Peer address of the connection (`direct_remote_ip`, `remote_ip`, `source_ip`). */
  readonly sourceIp?: string;
  /** Local address and port the request arrived on (`destination_ip`, `destination_port`). */
  readonly destinationIp?: string;
  readonly destinationPort?: number;
  /** TLS SNI the client sent, if any (`requested_server_name`). */
  readonly requestedServerName?: string;
}

/** Why a request was denied; one frozen object per filter (ALLOW) or policy (DENY), built at compile time. */
export interface RbacDenial {
  /** The HTTP filter instance name (`envoy.filters.http.rbac`). */
  readonly filterName: string;
  readonly action: 'ALLOW' | 'DENY';
  /** DENY: the policy that matched. ALLOW: undefined (nothing matched). */
  readonly policyName: string | undefined;
}

type Predicate = (req: RbacRequest) => boolean;

const ALWAYS: Predicate = () => true;
const NEVER: Predicate = () => false;

function anyOf(list: readonly Predicate[]): Predicate {
  if (list.length === 0) return NEVER;
  if (list.length === 1) return list[0] as Predicate;
  return (req) => {
    for (let i = 0; i < list.length; i++) if ((list[i] as Predicate)(req)) return true;
    return false;
  };
}

function allOf(list: readonly Predicate[]): Predicate {
  if (list.length === 0) return ALWAYS;
  if (list.length === 1) return list[0] as Predicate;
  return (req) => {
    for (let i = 0; i < list.length; i++) if (!(list[i] as Predicate)(req)) return false;
    return true;
  };
}

function compilePermission(p: RbacPermission, where: string): Predicate {
  switch (p.type) {
    case 'any':
      return ALWAYS;
    case 'and':
      return allOf(p.rules.map((r, i) => compilePermission(r, `${where}.and_rules[${i}]`)));
    case 'or':
      return anyOf(p.rules.map((r, i) => compilePermission(r, `${where}.or_rules[${i}]`)));
    case 'not': {
      const inner = compilePermission(p.rule, `${where}.not_rule`);
      return (req) => !inner(req);
    }
    case 'header':
      return compileHeaderMatcher(p.header, `${where}.header`);
    case 'urlPath': {
      const m = compileStringMatcher(p.path, `${where}.url_path`);
      return (req) => m(pathOnly(req.path));
    }
    case 'destinationIp': {
      const m = compileCidr(p.cidr, `${where}.destination_ip`);
      return (req) => m(req.destinationIp);
    }
    case 'destinationPort': {
      const port = p.port;
      return (req) => req.destinationPort === port;
    }
    case 'destinationPortRange': {
      const { start, end } = p;
      return (req) => req.destinationPort !== undefined && req.destinationPort >= start && req.destinationPort < end;
    }
    case 'requestedServerName': {
      const m = compileStringMatcher(p.matcher, `${where}.requested_server_name`);
      return (req) => m(req.requestedServerName ?? '');
    }
  }
}

function compilePrincipal(p: RbacPrincipal, where: string): Predicate {
  switch (p.type) {
    case 'any':
      return ALWAYS;
    case 'and':
      return allOf(p.ids.map((r, i) => compilePrincipal(r, `${where}.and_ids[${i}]`)));
    case 'or':
      return anyOf(p.ids.map((r, i) => compilePrincipal(r, `${where}.or_ids[${i}]`)));
    case 'not': {
      const inner = compilePrincipal(p.id, `${where}.not_id`);
      return (req) => !inner(req);
    }
    case 'authenticated': {
      if (p.principalName === undefined) return (req) => req.principal !== undefined;
      const m = compileStringMatcher(p.principalName, `${where}.authenticated.principal_name`);
      return (req) => req.principal !== undefined && m(req.principal);
    }
    case 'sourceIp':
    case 'directRemoteIp':
    case 'remoteIp': {
      // No trusted proxy hop sits in front of a proxyless server: the remote IP is the peer's.
      const m = compileCidr(p.cidr, `${where}.${p.type}`);
      return (req) => m(req.sourceIp);
    }
    case 'header':
      return compileHeaderMatcher(p.header, `${where}.header`);
    case 'urlPath': {
      const m = compileStringMatcher(p.path, `${where}.url_path`);
      return (req) => m(pathOnly(req.path));
    }
  }
}

/** One compiled RBAC filter. */
export interface CompiledRbacFilter {
  readonly filterName: string;
  /** `undefined` when the filter enforces nothing (no `rules`, or action `LOG`). */
  readonly action: 'ALLOW' | 'DENY' | undefined;
  /** True for action `LOG` (Istio AUDIT): it never denies; matching requests are audited. */
  readonly isAudit: boolean;
  /** The denial this filter gives the request, or undefined when it lets it through. */
  check(req: RbacRequest): RbacDenial | undefined;
  /** Name of the first enforced policy matching `req`, for diagnostics. */
  matchedPolicy(req: RbacRequest): string | undefined;
}

/**
 * Compiles one RBAC filter config. Throws `WEFT_ERR_XDS_INVALID` naming the field for an
 * invalid RE2 regex or CIDR range (the caller keeps the previous policy).
 */
export function compileRbacFilter(filterName: string, config: RbacFilterConfig): CompiledRbacFilter {
  const rules: RbacRules | undefined = config.rules;
  const action = rules === undefined || rules.action === 'LOG' ? undefined : rules.action;
  const names: string[] = [];
  const policies: Predicate[] = [];
  const denials: RbacDenial[] = [];
  for (const [name, policy] of rules?.policies ?? []) {
    const where = `${filterName}.rules.policies[${JSON.stringify(name)}]`;
    const permissions = anyOf(policy.permissions.map((p, i) => compilePermission(p, `${where}.permissions[${i}]`)));
    const principals = anyOf(policy.principals.map((p, i) => compilePrincipal(p, `${where}.principals[${i}]`)));
    names.push(name);
    policies.push((req) => permissions(req) && principals(req));
    denials.push(Object.freeze({ filterName, action: 'DENY' as const, policyName: name }));
  }
  const noMatch: RbacDenial = Object.freeze({ filterName, action: 'ALLOW' as const, policyName: undefined });
  const firstMatch = (req: RbacRequest): number => {
    for (let i = 0; i < policies.length; i++) if ((policies[i] as Predicate)(req)) return i;
    return -1;
  };
  const isAudit = rules?.action === 'LOG';
  return {
    filterName,
    action,
    isAudit,
    check(req) {
      if (action === undefined) return undefined;
      const i = firstMatch(req);
      if (action === 'DENY') return i < 0 ? undefined : denials[i];
      return i < 0 ? noMatch : undefined;
    },
    matchedPolicy(req) {
      const i = action === undefined && !isAudit ? -1 : firstMatch(req);
      return i < 0 ? undefined : names[i];
    },
  };
}

/** The RBAC filters of one HTTP filter chain, applied in order. */
export interface RbacChain {
  readonly filters: readonly CompiledRbacFilter[];
  /** True when no filter can deny (the common case without AuthorizationPolicy). */
  readonly isPermissive: boolean;
  /** The first denial among the filters, or undefined when the request is allowed. */
  authorize(req: RbacRequest): RbacDenial | undefined;
  /** True when some `LOG` (AUDIT) filter is present. */
  readonly hasAudit: boolean;
  /** The first AUDIT policy matching `req`, or undefined (never affects the decision). */
  audit(req: RbacRequest): string | undefined;
}

/** Compiles RBAC filters (in chain order) into one {@link RbacChain}. */
export function compileRbacChain(filters: readonly { readonly name: string; readonly rbac: RbacFilterConfig }[]): RbacChain {
  const all = filters.map((f) => compileRbacFilter(f.name, f.rbac));
  const compiled = all.filter((f) => f.action !== undefined);
  const audits = all.filter((f) => f.isAudit);
  return {
    filters: compiled,
    isPermissive: compiled.length === 0,
    hasAudit: audits.length > 0,
    audit(req) {
      for (const f of audits) {
        const policy = f.matchedPolicy(req);
        if (policy !== undefined) return policy;
      }
      return undefined;
    },
    authorize(req) {
      for (let i = 0; i < compiled.length; i++) {
        const denial = (compiled[i] as CompiledRbacFilter).check(req);
        if (denial !== undefined) return denial;
      }
      return undefined;
    },
  };
}

/** Envoy's body for an RBAC denial (HTTP 403). */
export const RBAC_DENIED_BODY = 'RBAC: access denied';

/**
 * The MeshError of a denial (`WEFT_ERR_ACCESS_DENIED`, for logs and gRPC PERMISSION_DENIED);
 * built on the denial path only.
 */
export function createAccessDeniedError(denial: RbacDenial, req: RbacRequest): MeshError {
  const who = req.principal ?? (req.sourceIp ? `unauthenticated peer ${req.sourceIp}` : 'unauthenticated peer');
  const why = denial.action === 'DENY' ? `matched DENY policy ${denial.policyName}` : 'matched no ALLOW policy';
  return new MeshError(ErrorCode.accessDenied, `${RBAC_DENIED_BODY}: ${req.method ?? ''} ${pathOnly(req.path)} from ${who} ${why}`, {
    details: { filter: denial.filterName, action: denial.action, policy: denial.policyName, principal: req.principal },
  });
}
