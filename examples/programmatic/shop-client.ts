/**
 * The programmatic API instead of the register hooks: one `Mesh` for the process, an undici
 * dispatcher that routes through it, and grpc-js channels on it — for applications that want
 * to choose which clients are meshed, or that cannot use `--import`.
 *
 *   WEFT_XDS_ADDRESS=127.0.0.1:15010 WEFT_NAMESPACE=shop node examples/programmatic/shop-client.ts
 *
 * It asks catalog (gRPC) and ratings (HTTP) 20 times each and prints which versions answered.
 * Nothing is global: only the clients given the dispatcher or the channel options are meshed.
 */
import * as grpc from '@grpc/grpc-js';
import { request } from 'undici';
import { Mesh } from '@weft/core';
import { createMeshDispatcher } from '@weft/http-adapter';
import { meshConfigSource, registerWeftGrpc, weftChannelOptions } from '@weft/grpc-adapter';
import { loadShopProto, unary } from '../services/protos/shop-proto.ts';

// One Mesh per process: bootstrap from GRPC_XDS_BOOTSTRAP(_CONFIG) or the WEFT_* variables.
const mesh = await Mesh.fromEnv();
const source = meshConfigSource(mesh);

// HTTP: a dispatcher for undici (or `fetch(url, { dispatcher })`).
const dispatcher = createMeshDispatcher({ mesh });

// gRPC: register only the `weft:` scheme (leaves `xds:` to grpc-js-xds if the app uses it) and
// give the channel the mesh as its config source.
registerWeftGrpc({ isXdsSchemeClaimed: false, source });
const { Catalog } = loadShopProto();
const catalog = new Catalog('weft:///catalog.shop.svc.cluster.local:50051', grpc.credentials.createInsecure(), weftChannelOptions({ source }));

// Weft's sockets and timers are unref'd so that they never keep a process alive. A script with
// no server of its own therefore holds a ref'd timer while it works; otherwise Node could exit
// while the first request to a host waits for that host's config.
const keepAlive = setInterval(() => {}, 60_000);

const catalogVersions = new Map<string, number>();
const ratingsVersions = new Map<string, number>();
for (let i = 0; i < 20; i++) {
  const product = await unary<{ version: string }>(catalog, 'getProduct', { id: String(i) }, new grpc.Metadata({}), 5000).catch((err: grpc.ServiceError) => ({ version: `error ${err.details}` }));
  catalogVersions.set(product.version, (catalogVersions.get(product.version) ?? 0) + 1);
  const res = await request(`http://ratings.shop.svc.cluster.local:9080/ratings/${i}`, { dispatcher });
  const version = res.statusCode === 200 ? ((await res.body.json()) as { version: string }).version : `HTTP ${res.statusCode}`;
  if (res.statusCode !== 200) await res.body.dump();
  ratingsVersions.set(version, (ratingsVersions.get(version) ?? 0) + 1);
}
console.log('catalog:', Object.fromEntries(catalogVersions));
console.log('ratings:', Object.fromEntries(ratingsVersions));

clearInterval(keepAlive);
catalog.close();
await dispatcher.close();
await mesh.close();
