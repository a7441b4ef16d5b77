import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeUrl } from '@weft/xds-client';
import { adsServiceDefinition, type DiscoveryResponse } from '@weft/xds-client';
import { sotwResourceField, sotwResponseHead, stringField, withNonce } from './wire.ts';

test('withNonce appends the nonce field to the head for every kind of nonce (ASCII, non-ASCII, long, empty)', () => {
  const head = sotwResponseHead('v1', [sotwResourceField({ type_url: TypeUrl.cluster, value: new Uint8Array([8, 1]) })], TypeUrl.cluster);
  const decode = adsServiceDefinition().StreamAggregatedResources?.responseDeserialize as (b: Buffer) => DiscoveryResponse;
  for (const nonce of ['c1-1', 'c123456-789012', 'nonce-ü-☃', 'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(300), '']) {
    const bytes = withNonce(head, nonce);
    assert.deepEqual(bytes, Buffer.concat([head, stringField(5, nonce)]), `nonce of ${nonce.length} characters`);
    const decoded = decode(bytes);
    assert.equal(decoded.nonce ?? '', nonce);
    assert.equal(decoded.version_info, 'v1');
    assert.equal(decoded.resources?.length, 1);
  }
});
