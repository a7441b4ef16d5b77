import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from 'undici';
import { ConnectionPool, type PooledRequest } from './connection-pool.ts';

let server: Server;
let origin: string;
let connections = 0;
let inFlight = 0;
let maxInFlight = 0;
/** While set, responses are held (in `held`) until the test ends them. */
let isHolding = false;
let held: ServerResponse[] = [];
/** Per request the server got: whether it carried the `x-intro` header. */
let intros: boolean[] = [];

before(async () => {
  server = createServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('finish', () => inFlight--);
    intros.push(req.headers['x-intro'] !== undefined);
    if (req.url === '/close') res.setHeader('connection', 'close');
    req.resume();
    if (isHolding) {
      held.push(res);
      return;
    }
    res.end('ok');
  });
  server.on('connection', () => connections++);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function reset(): void {
  connections = 0;
  maxInFlight = 0;
  isHolding = false;
  held = [];
  intros = [];
}

/** One GET through the pool with a handler that releases its connection when the request is over, as the endpoint stage does. */
function get(pool: ConnectionPool, path = '/', introduction?: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    let status = 0;
    const handler: PooledRequest & Record<string, unknown> = {
      connectionPool: undefined as ConnectionPool | undefined,
      connection: undefined as Client | undefined,
      introduction,
      onConnect() {},
      onHeaders(s: number) {
        if (handler.isIntroducing) handler.connectionPool?.introduced(handler.connection!);
        status = s;
        return true;
      },
      onData() {
        return true;
      },
      onComplete() {
        handler.connectionPool?.release(handler.connection!);
        resolve(status);
      },
      onError(err: Error) {
        handler.connectionPool?.release(handler.connection!);
        reject(err);
      },
    };
    pool.dispatch({ path, method: 'GET', headers: {} }, handler as never);
  });
}

test('callers that send their next request as soon as the last completes reuse the connections: never more than there are callers', async () => {
  reset();
  const pool = new ConnectionPool(origin, {}, 1024);
  const CALLERS = 16;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      for (let i = 0; i < 25; i++) assert.equal(await get(pool), 200);
    }),
  );
  assert.ok(connections <= CALLERS, `${connections} connections for ${CALLERS} callers`);
  assert.equal(pool.size, connections);
  await pool.close();
});

test('at the connection limit requests wait for a free connection, in order, and all complete', async () => {
  reset();
  const pool = new ConnectionPool(origin, {}, 2);
  isHolding = true; // both connections stay busy until released below
  const results = Promise.all(Array.from({ length: 6 }, () => get(pool)));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(held.length, 2, 'the server has two requests');
  assert.equal(pool.waiting, 4, 'four requests wait while both connections are busy');
  isHolding = false;
  for (const r of held.splice(0)) r.end('ok');
  assert.deepEqual(await results, [200, 200, 200, 200, 200, 200]);
  assert.equal(connections, 2);
  assert.equal(maxInFlight, 2);
  await pool.close();
});

test('destroy fails the waiting requests and later dispatches fail at once', async () => {
  reset();
  const pool = new ConnectionPool(origin, {}, 1);
  isHolding = true; // the one connection stays busy
  const busy = get(pool).then(() => undefined, (e: Error) => e);
  const waiting = get(pool).then(() => undefined, (e: Error) => e);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await pool.destroy(new Error('shutting down'));
  assert.match((await waiting)?.message ?? 'no error', /shutting down/);
  assert.ok((await busy) instanceof Error, 'the in-flight request fails');
  await assert.rejects(get(pool), (e: Error & { code?: string }) => e.code === 'UND_ERR_DESTROYED');
  isHolding = false;
  for (const r of held.splice(0)) r.destroy();
});

test('introduction headers go on a socket until one of its responses started: again on the socket that replaced a closed one, and on a hand-off from a completion', async () => {
  reset();
  const intro = { 'x-intro': 'me' };
  const pool = new ConnectionPool(origin, {}, 1);
  for (let i = 0; i < 3; i++) assert.equal(await get(pool, '/', intro), 200);
  assert.deepEqual(intros, [true, false, false]);
  // The server closes the connection after this response; the next request goes on a new socket.
  assert.equal(await get(pool, '/close', intro), 200);
  assert.equal(await get(pool, '/', intro), 200);
  assert.equal(await get(pool, '/', intro), 200);
  assert.deepEqual(intros.slice(3), [false, true, false]);
  assert.equal(connections, 2);
  // At the limit the waiting request gets the connection inside the completion: it introduces itself again.
  isHolding = true;
  const both = Promise.all([get(pool, '/', intro), get(pool, '/', intro)]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(pool.waiting, 1);
  isHolding = false;
  for (const r of held.splice(0)) r.end('ok');
  assert.deepEqual(await both, [200, 200]);
  assert.deepEqual(intros.slice(6), [false, true]);
  // A request without an introduction is sent as it is.
  assert.equal(await get(pool), 200);
  assert.deepEqual(intros.slice(8), [false]);
  await pool.close();
});
