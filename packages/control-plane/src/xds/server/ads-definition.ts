/**
 * The ADS service definition the server registers: the shared one from `@weft/xds-client`
 * (same paths, same request decoding) with response serializers that pass pre-encoded
 * buffers (see `wire.ts`) through untouched and encode plain objects as before.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { adsServiceDefinition } from '@weft/xds-client';

let definition: ServiceDefinition | undefined;

/** See the module comment. Built once per process. */
export function serverAdsDefinition(): ServiceDefinition {
  if (definition) return definition;
  const base = adsServiceDefinition();
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(base)) {
    const encode = method.responseSerialize as (v: object) => Buffer;
    out[name] = { ...method, responseSerialize: (v: object) => (Buffer.isBuffer(v) ? v : encode(v)) };
  }
  definition = out as ServiceDefinition;
  return definition;
}
