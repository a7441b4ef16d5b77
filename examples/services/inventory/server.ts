/**
 * inventory — gRPC service (port 50051): `shop.Inventory/GetStock` answers how many items of a
 * product are in stock and which process answered.
 *
 * A caller may send metadata `x-fail-rate: <0..1>`: that share of its calls fails with
 * UNAVAILABLE on purpose, which is what inventory's route retries (the demo's gRPC retry step).
 *
 * Weft is not imported: the gRPC register hook meshes grpc-js, registers this workload and serves
 * the server bound on WEFT_PORT with the mesh's inbound policy.
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
    const failRate = Number(call.metadata.get('x-fail-rate')[0] ?? 0);
    if (failRate > 0 && Math.random() < failRate) {
      callback({ code: grpc.status.UNAVAILABLE, details: `${instance} failing on purpose (x-fail-rate ${failRate})` });
      return;
    }
    callback(null, { id, count: (id.length * 7) % 23, instance });
  },
});
server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) throw err;
  console.log(`inventory listening on ${host}:${bound}`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
