/**
 * End to end: the upstream protocol comes from the control plane. A `node:http2` h2c server
 * declared by a ServiceEntry port with `protocol: HTTP2` is reached by a Weft HTTP client over
 * HTTP/2; an HTTP port stays HTTP/1 unless its DestinationRule says `h2UpgradePolicy: UPGRADE`.
 * The servers record the HTTP version of every request they see. `weft validate` accepts the
 * config without a warning.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createH2cServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MeshDispatcher } from '@weft/http-adapter';
import { startMeshedHttpClient, type MeshedHttpClient, WEFT_CLI } from '../support/meshed-http-client.ts';
import { serviceEntryYaml, yamlDocuments } from '../support/istio-yaml.ts';

/** A loopback server that answers its name and records each request's `httpVersion`. */
interface VersionServer {
  port: number;
  versions: string[];
  close(): Promise<void>;
}

async function listen(server: HttpServer | Http2Server, name: string, versions: string[]): Promise<VersionServer> {
  server.on('request', (req: { httpVersion: string }, res: { end(body: string): void }) => {
    versions.push(req.httpVersion);
    res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    versions,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let dir: string;
let h2: VersionServer;
let upgraded: VersionServer;
let h1: VersionServer;
let client: MeshedHttpClient | undefined;
let dispatcher: MeshDispatcher;

before(async () => {
  h2 = await listen(createH2cServer(), 'details', []);
  upgraded = await listen(createH2cServer(), 'ratings', []);
  h1 = await listen(createHttpServer(), 'reviews', []);
  dir = mkdtempSync(join(tmpdir(), 'weft-h2-'));
  writeFileSync(
    join(dir, 'mesh.yaml'),
    yamlDocuments(
      serviceEntryYaml({ name: 'details', namespace: 'shop', port: 9080, protocol: 'HTTP2', portName: 'web', endpoints: [{ port: h2.port }] }),
      serviceEntryYaml({ name: 'ratings', namespace: 'shop', port: 9080, protocol: 'HTTP', endpoints: [{ port: upgraded.port }] }),
      `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings, namespace: shop }
spec:
  host: ratings
  trafficPolicy: { connectionPool: { http: { h2UpgradePolicy: UPGRADE } } }
`,
      serviceEntryYaml({ name: 'reviews', namespace: 'shop', port: 9080, protocol: 'HTTP', endpoints: [{ port: h1.port }] }),
      `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: shop }
spec:
  host: reviews
  trafficPolicy: { connectionPool: { http: { h2UpgradePolicy: DO_NOT_UPGRADE, useClientProtocol: false } } }
`,
    ),
  );
  client = await startMeshedHttpClient(dir, { namespace: 'shop', workloadName: 'h2-e2e' });
  dispatcher = client.dispatcher;
});

after(async () => {
  await client?.close();
  await h2?.close();
  await upgraded?.close();
  await h1?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function get(url: string): Promise<string> {
  const res = await fetch(url, { dispatcher } as RequestInit);
  assert.equal(res.status, 200, url);
  return res.text();
}

test('a ServiceEntry port with protocol HTTP2: the h2c server sees HTTP/2 from the Weft client', async () => {
  for (let i = 0; i < 3; i++) assert.equal(await get('http://details:9080/details/1'), 'details');
  assert.deepEqual(h2.versions, ['2.0', '2.0', '2.0']);
});

test('an HTTP port is HTTP/1 by default (DO_NOT_UPGRADE) and HTTP/2 under h2UpgradePolicy UPGRADE', async () => {
  assert.equal(await get('http://reviews:9080/reviews/1'), 'reviews');
  assert.deepEqual(h1.versions, ['1.1']);
  assert.equal(await get('http://ratings:9080/ratings/1'), 'ratings');
  assert.deepEqual(upgraded.versions, ['2.0']);
});

test('weft validate accepts h2UpgradePolicy and useClientProtocol without a warning', () => {
  const out = execFileSync(process.execPath, [WEFT_CLI, 'validate', dir], { encoding: 'utf8' });
  assert.doesNotMatch(out, /WEFT0104|h2UpgradePolicy|useClientProtocol/, out);
});
