/**
 * catalog — gRPC service (port 50051): `shop.Catalog/GetProduct` returns a product with this
 * instance's version (v1, v2 or v3, from `VERSION` or the `version` label in WEFT_LABELS), so
 * the canary split and header routing are visible to callers. It asks ratings for the stars
 * with a plain `fetch` of `http://ratings.shop.svc.cluster.local:9080/…`, which the HTTP register
 * hook routes through the mesh (subsets, retries, circuit breaking, outlier detection).
 */
import * as grpc from '@grpc/grpc-js';
import { loadShopProto } from '../protos/shop-proto.ts';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 50051);
const version = process.env.VERSION ?? /version=([^,]+)/.exec(process.env.WEFT_LABELS ?? '')?.[1] ?? 'v1';
const ratingsUrl = process.env.RATINGS_URL ?? 'http://ratings.shop.svc.cluster.local:9080';
const { Catalog } = loadShopProto();

async function stars(id: string): Promise<{ stars: number; ratingsVersion: string }> {
  try {
    const res = await fetch(`${ratingsUrl}/ratings/${encodeURIComponent(id)}`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return { stars: -1, ratingsVersion: '' };
    const body = (await res.json()) as { stars: number; version: string };
    return { stars: body.stars, ratingsVersion: body.version };
  } catch {
    return { stars: -1, ratingsVersion: '' };
  }
}

const server = new grpc.Server();
server.addService(Catalog.service, {
  GetProduct(call: grpc.ServerUnaryCall<{ id: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
    const id = call.request.id;
    // `?ratings=skip` style shortcut for callers that only want the version (metadata `skip-ratings: 1`).
    if (call.metadata.get('skip-ratings').length > 0) {
      callback(null, { id, name: `product ${id}`, version, stars: -1, ratingsVersion: '' });
      return;
    }
    stars(id).then((r) => callback(null, { id, name: `product ${id}`, version, ...r }));
  },
});
server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) throw err;
  console.log(`catalog ${version} listening on ${host}:${bound}`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
