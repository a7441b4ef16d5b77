/**
 * The mesh view `/ui` in Debian's Chromium (playwright-core): a real `weft control-plane`
 * process, two workloads streaming real LRS reports over grpc-js, and a raw ADS client that
 * NACKs. Asserts that the graph shows the services and edges, that its numbers move between two
 * refreshes, that the NACK is listed (as text, not markup), and that the routing in force is
 * shown. Keeps a screenshot in `test-artifacts/ui.png`.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { TypeUrl, type DiscoveryRequest, type DiscoveryResponse } from '@weft/xds-client';
import { startControlPlane, type ControlPlaneProcess } from '../../packages/control-plane/src/demo/control-plane-process.ts';
import { rawAdsClient, testNode } from '../../packages/control-plane/src/xds/testing/raw-ads-client.ts';
import { clusterStats, openLrsStream, type LrsTestStream } from '../../packages/control-plane/src/lrs/testing/lrs-test-client.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const CATALOG = 'catalog.shop.svc.cluster.local';
const RATINGS = 'ratings.shop.svc.cluster.local';
const FRONTEND_NODE = 'sidecar~127.0.0.1~frontend-1.shop~shop.svc.cluster.local';
const XSS = '<img src=x onerror="window.__weftXss=1">';

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: catalog, namespace: shop }
spec:
  hosts: [${CATALOG}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 8080, name: http }]
  endpoints:
    - { address: 127.0.0.1, ports: { http: 9101 }, labels: { version: v1 } }
    - { address: 127.0.0.1, ports: { http: 9102 }, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ratings, namespace: shop }
spec:
  hosts: [${RATINGS}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 8080, name: http }]
  endpoints: [{ address: 127.0.0.1, ports: { http: 9103 } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: catalog, namespace: shop }
spec:
  host: catalog
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: catalog, namespace: shop }
spec:
  hosts: [catalog]
  http:
    - name: canary
      route:
        - { destination: { host: catalog, subset: v1 }, weight: 90 }
        - { destination: { host: catalog, subset: v2 }, weight: 10 }
      retries: { attempts: 2, perTryTimeout: 1s }
`;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Text of one cell of the edges table row for `edgeId`. */
async function cellText(page: Page, edgeId: string, cls: string): Promise<string | null> {
  const cell = page.locator(`#edges tbody tr[data-edge-id="${edgeId}"] td.${cls}`);
  return (await cell.count()) === 1 ? cell.textContent() : null;
}

/** Evaluates an expression in the page (the page's globals are not typed here). */
function inPage<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

// A fresh machine installs Debian's Chromium first (apt-get, minutes): outside the test's own timeout.
before(
  () => {
    const ensure = spawnSync(join(ROOT, 'scripts/ensure-chromium.sh'), { encoding: 'utf8', timeout: 900_000 });
    assert.equal(ensure.status, 0, `scripts/ensure-chromium.sh failed: ${ensure.stderr}`);
  },
  { timeout: 960_000 },
);

test('/ui in Chromium: live graph from LRS, numbers update, NACKs and routing shown', { timeout: 120_000 }, async () => {

  const dir = mkdtempSync(join(tmpdir(), 'weft-ui-'));
  writeFileSync(join(dir, 'mesh.yaml'), CONFIG);
  let cp: ControlPlaneProcess | undefined;
  let browser: Browser | undefined;
  const streams: LrsTestStream[] = [];
  let timer: NodeJS.Timeout | undefined;
  let ads: ReturnType<typeof rawAdsClient> | undefined;
  try {
    cp = await startControlPlane({ configPaths: [dir], args: ['--lrs-interval', '200ms', '--debounce-ms', '20'] });
    const frontend = openLrsStream(cp.xdsAddress, testNode(FRONTEND_NODE, { NAMESPACE: 'shop', WEFT_SERVICE: 'frontend', WORKLOAD_NAME: 'frontend-1', LABELS: 'app=frontend,version=v1' }));
    const catalog = openLrsStream(cp.xdsAddress, testNode('sidecar~127.0.0.1~catalog-v1.shop~shop.svc.cluster.local', { NAMESPACE: 'shop', WEFT_SERVICE: 'catalog', WORKLOAD_NAME: 'catalog-v1', LABELS: 'app=catalog,version=v1' }));
    streams.push(frontend, catalog);
    const interval = await frontend.response;
    assert.equal(interval.send_all_clusters, true);
    await catalog.response;
    // Load that grows with every report, so the rates keep moving between two reads.
    let round = 0;
    const sendRound = () => {
      round++;
      frontend.report([
        clusterStats(`outbound|8080|v1|${CATALOG}`, { issued: 9 * round, ok: 9 * round, inProgress: round % 4, latencyMs: 20 }),
        clusterStats(`outbound|8080|v2|${CATALOG}`, { issued: round, ok: Math.max(0, round - 1), errors: 1, latencyMs: 35 }),
      ]);
      catalog.report([clusterStats(`outbound|8080||${RATINGS}`, { issued: 4 * round, ok: 4 * round })]);
    };
    sendRound();
    timer = setInterval(sendRound, 200);

    // A workload that NACKs its clusters (with markup in the message, which must stay text).
    ads = rawAdsClient(cp.xdsAddress);
    const bad = ads.sotw<DiscoveryRequest, DiscoveryResponse>();
    bad.send({ node: testNode('sidecar~127.0.0.1~bad-client.shop~shop.svc.cluster.local', { NAMESPACE: 'shop' }), type_url: TypeUrl.cluster });
    const cds = await bad.next(10_000);
    const frontendAds = ads.sotw<DiscoveryRequest, DiscoveryResponse>();
    frontendAds.send({ node: testNode(FRONTEND_NODE, { NAMESPACE: 'shop' }), type_url: TypeUrl.cluster });
    const frontendCds = await frontendAds.next(10_000);
    frontendAds.send({ type_url: TypeUrl.cluster, response_nonce: frontendCds.nonce, version_info: frontendCds.version_info });
    bad.send({ type_url: TypeUrl.cluster, response_nonce: cds.nonce, version_info: '', error_detail: { code: 3, message: `cluster rejected by test ${XSS}` } });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    const response = await page.goto(`${cp.adminUrl}/ui`);
    assert.equal(response?.status(), 200);
    assert.match(response?.headers()['content-type'] ?? '', /^text\/html/);

    // The graph: services from the config and from the reporters, three edges.
    const v1Edge = `frontend.shop.svc.cluster.local|${CATALOG}|8080|v1`;
    await until('three edges in the table', async () => ((await page.locator('#edges tbody tr').count()) >= 3 ? true : undefined));
    const graph = await inPage<{ nodes: string[]; edges: string[] }>(page, '({ nodes: window.weftUi.cy.nodes().map((n) => n.id()), edges: window.weftUi.cy.edges().map((e) => e.id()) })');
    for (const n of [CATALOG, RATINGS, 'frontend.shop.svc.cluster.local']) assert.ok(graph.nodes.includes(n), `graph node ${n} in ${graph.nodes.join(', ')}`);
    const catalogLabel = await inPage<string>(page, `window.weftUi.cy.getElementById(${JSON.stringify(CATALOG)}).data('label')`);
    assert.match(catalogLabel, /2\/2 healthy/);
    assert.ok(graph.edges.includes(v1Edge), `edge ${v1Edge}`);
    assert.equal(graph.edges.length, 3);
    assert.equal(await cellText(page, `frontend.shop.svc.cluster.local|${CATALOG}|8080|v2`, 'latency'), '35.0 ms');

    // Two reads a few refreshes apart show different numbers.
    const first = await cellText(page, v1Edge, 'rps');
    const refreshesBefore = await inPage<number>(page, 'window.weftUi.refreshes');
    await until('two more refreshes', async () => ((await inPage<number>(page, 'window.weftUi.refreshes')) >= refreshesBefore + 2 ? true : undefined));
    const second = await until('a changed rate', async () => {
      const now = await cellText(page, v1Edge, 'rps');
      return now !== null && now !== first ? now : undefined;
    });
    assert.ok(Number(second) > Number(first), `rps grows with the load: ${first} → ${second}`);

    // The NACK, shown as text.
    const nack = await until('the NACK in the list', async () => {
      const items = await page.locator('#nacks li').allTextContents();
      return items.find((t) => t.includes('bad-client'));
    });
    assert.ok(nack.includes('CDS'), nack);
    assert.ok(nack.includes(XSS), 'the message is shown verbatim');
    assert.equal(await inPage<number | undefined>(page, 'window.__weftXss'), undefined, 'markup in a NACK message never runs');
    assert.equal(await page.locator('#nacks img').count(), 0);

    // Sync status and routing.
    const syncRow = await until('bad-client in sync status', async () => {
      const rows = await page.locator('#sync tbody tr').allTextContents();
      return rows.find((t) => t.includes('bad-client'));
    });
    assert.match(syncRow, /NACKED/);
    const routing = await page.locator(`[data-service="${CATALOG}"]`).textContent();
    assert.match(routing ?? '', /VirtualService shop\/catalog/);
    assert.match(routing ?? '', /catalog\.shop v1 90%/);
    assert.match(routing ?? '', /catalog\.shop v2 10%/);
    assert.match(routing ?? '', /retries/);
    assert.match(routing ?? '', /DestinationRule shop\/catalog/);

    // The frontend holds its clusters over ADS too, so its edges know whether they use TLS.
    const mtls = await until('mTLS known for the frontend edge', async () => {
      const t = await cellText(page, v1Edge, 'mtls');
      return t && t !== 'unknown' ? t : undefined;
    });
    assert.match(mtls, /^(🔒 mTLS|plaintext)$/);

    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-artifacts/ui.png'), fullPage: true });

    // The NACK stays listed after the client is gone.
    bad.close();
    await until('the NACK kept after disconnect', async () => {
      const items = await page.locator('#nacks li').allTextContents();
      return items.find((t) => t.includes('bad-client') && t.includes('(disconnected)'));
    });

    assert.deepEqual(problems, [], 'no script errors or CSP violations on the page');
  } finally {
    if (timer) clearInterval(timer);
    for (const s of streams) s.close();
    ads?.close();
    await browser?.close();
    await cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
