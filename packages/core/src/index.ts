export { MeshError, ErrorCode, isMeshError } from '@weft/xds-client';
export type { ErrorCodeValue, ResponseFlag, MeshErrorOptions } from '@weft/xds-client';
