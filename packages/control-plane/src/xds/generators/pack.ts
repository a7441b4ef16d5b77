/**
 * `packAny` with each message type looked up once per type URL: protobufjs lookups by name
 * dominated snapshot builds otherwise.
 */
import { messageType, type AnyMessage } from '@weft/xds-client';

const types = new Map<string, ReturnType<typeof messageType>>();

/** Encodes `message` as a protobuf `Any` of `typeUrl`; throws on a message the type rejects. */
export function packResource(typeUrl: string, message: object): AnyMessage {
  let type = types.get(typeUrl);
  if (!type) {
    type = messageType(typeUrl);
    types.set(typeUrl, type);
  }
  return { type_url: typeUrl, value: type.encode(type.fromObject(message)).finish() };
}
