/**
 * CIDR range matching for RBAC `direct_remote_ip`/`remote_ip`/`source_ip`/`destination_ip`,
 * compiled once per range on node's `net.BlockList` (no parsing per request). IPv4 addresses
 * written in their IPv6-mapped form (`::ffff:10.0.0.1`, what a dual-stack server reports) match
 * IPv4 ranges.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { ErrorCode, MeshError } from '@weft/xds-client';
import type { CidrRange } from '@weft/xds-client';

/** True when `ip` lies in the compiled range; `undefined` (unknown address) never matches. */
export type IpPredicate = (ip: string | undefined) => boolean;

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** Strips the IPv6-mapped prefix of an IPv4 address; other strings are returned as they are. */
export function normalizeIp(ip: string): string {
  const m = MAPPED_V4.exec(ip);
  return m === null ? ip : (m[1] as string);
}

/**
 * Compiles one range. Throws `WEFT_ERR_XDS_INVALID` naming `where` when the prefix is not an IP
 * address or the length is out of range for its family.
 */
export function compileCidr(range: CidrRange, where: string): IpPredicate {
  const prefix = normalizeIp(range.addressPrefix);
  const family = isIPv4(prefix) ? 'ipv4' : isIPv6(prefix) ? 'ipv6' : undefined;
  const max = family === 'ipv4' ? 32 : 128;
  if (family === undefined || !Number.isInteger(range.prefixLen) || range.prefixLen < 0 || range.prefixLen > max) {
    throw new MeshError(ErrorCode.xdsInvalid, `${where}: invalid CIDR range ${range.addressPrefix}/${range.prefixLen}`, { details: { field: where } });
  }
  const list = new BlockList();
  list.addSubnet(prefix, range.prefixLen, family);
  return (ip) => {
    if (ip === undefined || ip === '') return false;
    const addr = normalizeIp(ip);
    const addrFamily = isIPv4(addr) ? 'ipv4' : 'ipv6';
    return addrFamily === family && list.check(addr, addrFamily);
  };
}
