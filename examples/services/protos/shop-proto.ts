/**
 * Loads `shop.proto` with @grpc/proto-loader and returns the service constructors. Shared by the
 * example services; nothing here knows about Weft.
 */
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/** A grpc-js client constructor of one shop service. */
export type ShopServiceConstructor = grpc.ServiceClientConstructor;

/** The two gRPC services of the shop. */
export interface ShopProto {
  Catalog: ShopServiceConstructor;
  Inventory: ShopServiceConstructor;
}

/** Loads the proto once per call (the services call it at start-up). */
export function loadShopProto(): ShopProto {
  const definition = loadSync(fileURLToPath(new URL('./shop.proto', import.meta.url)), { keepCase: false, defaults: true });
  const pkg = grpc.loadPackageDefinition(definition)['shop'] as grpc.GrpcObject;
  return { Catalog: pkg['Catalog'] as ShopServiceConstructor, Inventory: pkg['Inventory'] as ShopServiceConstructor };
}

/** Promise wrapper of a unary call on a client made from {@link loadShopProto}. */
export function unary<Res>(client: grpc.Client, method: string, request: object, metadata = new grpc.Metadata(), deadlineMs = 3000): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
    if (typeof fn !== 'function') return reject(new Error(`no method ${method}`));
    fn.call(client, request, metadata, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)));
  });
}
