/** Shapes shared by the per-type generators. */
import type { ClientCapabilities, Omission } from '../client-capabilities.ts';
import type { MeshIndex } from '../mesh-index.ts';

/** One generated resource: its xDS name and the plain object of its message (proto field names). */
export interface GeneratedResource {
  name: string;
  message: Record<string, unknown>;
}

/** What a generator reads: the indexed model, the client's capabilities, and a sink for omissions. */
export interface GeneratorContext {
  index: MeshIndex;
  caps: ClientCapabilities;
  /** Records a feature left out for this client kind (shown in `/debug/syncz`). */
  omit(omission: Omission): void;
}

export { toStruct, structToJson as fromStruct } from '@weft/xds-client';
