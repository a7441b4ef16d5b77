/**
 * inventory — gRPC service (port 50051): `shop.Inventory/GetStock` answers how many items of a
 * product are in stock and which process answered.
 *
 * Weft is not imported. The gRPC register hook meshes grpc-js; the HTTP register hook is loaded
 * too because it is the one that registers a workload serving on WEFT_PORT (the gRPC hook does
 * not wrap servers yet, see docs/grpc.md).
 */
import * as grpc from '@grpc/grpc-js';
import { loadShopProto } from '../protos/shop-proto.ts';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 50051);
const instance = `inventory-${process.pid}`;
const { Inventory } = loadShopProto();

const server = new grpc.Server();
server.addService(Inventory.service, {
  GetStock(call: grpc.ServerUnaryCall<{ id: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
    const id = call.request.id;
    callback(null, { id, count: (id.length * 7) % 23, instance });
  },
});
server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) throw err;
  console.log(`inventory listening on ${host}:${bound}`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
