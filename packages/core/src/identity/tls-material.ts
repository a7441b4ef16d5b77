/**
 * node:tls inputs from a workload's identity, for the adapters: the `key`/`cert`/`ca` options,
 * and a SecureContext built once per certificate generation (building one per connection costs
 * about a fifth of a handshake, see bench/results/security.md).
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import type { IdentityMaterial } from './workload-identity.ts';

/** `key`, `cert` (leaf + intermediates, the root left out) and `ca` (the trust bundle) for node:tls. */
export interface IdentityTlsOptions {
  key: string;
  cert: string;
  ca: string[];
}

/** The node:tls options of `material`; pure, allocates new strings on each call. */
export function identityTlsOptions(material: IdentityMaterial): IdentityTlsOptions {
  const chain = material.certChainPem.length > 1 ? material.certChainPem.slice(0, -1) : material.certChainPem;
  return { key: material.privateKeyPem, cert: chain.join(''), ca: [...material.trustBundlePem] };
}

const contexts = new WeakMap<IdentityMaterial, SecureContext>();

/**
 * The SecureContext of `material`, created on first use and cached for the lifetime of that
 * (immutable) material object, so every connection of one certificate generation shares it.
 */
export function identitySecureContext(material: IdentityMaterial): SecureContext {
  let context = contexts.get(material);
  if (context === undefined) {
    context = createSecureContext(identityTlsOptions(material));
    contexts.set(material, context);
  }
  return context;
}
