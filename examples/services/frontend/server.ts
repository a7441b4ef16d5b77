/**
 * frontend — HTTP service (port 8080), the shop's entry. It calls catalog and inventory over
 * gRPC with `xds:///` targets and ratings over HTTP with a plain `fetch`; Weft is not imported:
 * both register hooks are loaded on the command line (see README.md).
 *
 *   GET /product/:id    catalog + inventory + ratings, one JSON page
 *   GET /catalog/:id    only the catalog call: which version answered (`end-user` header forwarded)
 *   GET /inventory/:id  only the inventory call, with how long it took (`?failRate=` is passed on)
 *   GET /ratings/:id    only the ratings call (`?delayMs=` is passed on); status and Weft's
 *                       response flags as the caller saw them
 *   GET /healthz
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { loadShopProto, unary } from '../protos/shop-proto.ts';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);
const catalogTarget = process.env.CATALOG_TARGET ?? 'xds:///catalog.shop.svc.cluster.local:50051';
const inventoryTarget = process.env.INVENTORY_TARGET ?? 'xds:///inventory.shop.svc.cluster.local:50051';
const ratingsUrl = process.env.RATINGS_URL ?? 'http://ratings.shop.svc.cluster.local:9080';

const { Catalog, Inventory } = loadShopProto();
const catalog = new Catalog(catalogTarget, grpc.credentials.createInsecure());
const inventory = new Inventory(inventoryTarget, grpc.credentials.createInsecure());

interface Product { id: string; name: string; version: string; stars: number; ratingsVersion: string }
interface Stock { id: string; count: number; instance: string }

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** A failed gRPC call as JSON: the status name and Weft's code from the details. */
function grpcFailure(err: unknown): { error: string; details: string } {
  const e = err as grpc.ServiceError;
  return { error: grpc.status[e.code] ?? String(e.code), details: e.details ?? String(err) };
}

function metadataFrom(req: IncomingMessage, extra: Record<string, string> = {}): grpc.Metadata {
  const md = new grpc.Metadata();
  const user = req.headers['end-user'];
  if (typeof user === 'string') md.set('end-user', user);
  for (const [k, v] of Object.entries(extra)) md.set(k, v);
  return md;
}

async function ratings(id: string, delayMs: string | null): Promise<{ status: number; version: string; flags: string; body: unknown }> {
  const query = delayMs ? `?delayMs=${encodeURIComponent(delayMs)}` : '';
  const res = await fetch(`${ratingsUrl}/ratings/${encodeURIComponent(id)}${query}`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // a local reply may be plain text
  }
  return { status: res.status, version: res.headers.get('x-ratings-version') ?? '', flags: res.headers.get('x-weft-response-flags') ?? '', body };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://frontend');
  const [, kind, id = ''] = url.pathname.split('/');
  switch (kind) {
    case 'healthz':
      return send(res, 200, { ok: true });
    case 'catalog':
      try {
        const p = await unary<Product>(catalog, 'getProduct', { id }, metadataFrom(req, { 'skip-ratings': '1' }));
        return send(res, 200, { version: p.version });
      } catch (err) {
        return send(res, 502, grpcFailure(err));
      }
    case 'inventory': {
      const started = performance.now();
      try {
        // `?failRate=0.3` asks inventory to fail that share of calls with UNAVAILABLE (the retry demo).
        const failRate = url.searchParams.get('failRate');
        const s = await unary<Stock>(inventory, 'getStock', { id }, metadataFrom(req, failRate ? { 'x-fail-rate': failRate } : {}));
        return send(res, 200, { ...s, elapsedMs: Math.round(performance.now() - started) });
      } catch (err) {
        return send(res, 502, { ...grpcFailure(err), elapsedMs: Math.round(performance.now() - started) });
      }
    }
    case 'ratings': {
      const r = await ratings(id, url.searchParams.get('delayMs'));
      return send(res, r.status, r);
    }
    case 'product': {
      const [product, stock, rating] = await Promise.allSettled([
        unary<Product>(catalog, 'getProduct', { id }, metadataFrom(req)),
        unary<Stock>(inventory, 'getStock', { id }),
        ratings(id, null),
      ]);
      return send(res, product.status === 'fulfilled' ? 200 : 502, {
        product: product.status === 'fulfilled' ? product.value : grpcFailure(product.reason),
        stock: stock.status === 'fulfilled' ? stock.value : grpcFailure(stock.reason),
        rating: rating.status === 'fulfilled' ? rating.value : { error: String(rating.reason) },
      });
    }
    default:
      return send(res, 404, { error: 'not found' });
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => send(res, 500, { error: String(err) }));
});
server.listen(port, host, () => console.log(`frontend listening on ${host}:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
