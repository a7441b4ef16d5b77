// The Weft mesh view: polls the admin JSON endpoints every 2 s and renders the service graph
// (cytoscape), the routing in force, per-workload sync status, NACKs and config findings.
import { compact, el, fill, fmtPercent, fmtRate, shortHost, toggleEmpty } from './render.js';

const REFRESH_MS = 2000;
const $ = (id) => document.getElementById(id);

const cy = window.cytoscape({
  container: $('graph'),
  wheelSensitivity: 0.2,
  style: [
    { selector: 'node', style: { label: 'data(label)', 'text-wrap': 'wrap', 'text-valign': 'center', 'font-size': 11, shape: 'round-rectangle', width: 'label', height: 'label', padding: 10, 'background-color': '#e8eefc', 'border-width': 1, 'border-color': '#2b5fd9' } },
    { selector: 'node[kind = "workload"]', style: { 'background-color': '#f1f1f1', 'border-color': '#6b7385', 'border-style': 'dashed' } },
    { selector: 'node[kind = "unknown"]', style: { 'background-color': '#fff4e5', 'border-color': '#8a5a00' } },
    { selector: 'node[?degraded]', style: { 'border-color': '#b3261e', 'border-width': 2 } },
    { selector: 'edge', style: { label: 'data(label)', 'font-size': 10, 'text-background-color': '#fff', 'text-background-opacity': 0.85, 'text-background-padding': 2, 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', width: 'data(width)', 'line-color': '#7a8bb0', 'target-arrow-color': '#7a8bb0' } },
    { selector: 'edge[?failing]', style: { 'line-color': '#b3261e', 'target-arrow-color': '#b3261e', color: '#b3261e' } },
  ],
});

const state = { refreshes: 0, lastGraph: undefined, cy };
window.weftUi = state;

async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

function edgeLabel(e) {
  const parts = [`${e.subset ? `${e.subset}: ` : ''}${fmtRate(e.rps)} rps`];
  if (e.errorRate > 0) parts.push(`${fmtPercent(e.errorRate)} err`);
  if (e.mtls) parts.push('🔒');
  return parts.join(' · ');
}

function renderGraph(graph) {
  $('window').textContent = String(Math.round(graph.windowMs / 1000));
  const wanted = new Set();
  let isShapeChanged = false;
  cy.batch(() => {
    for (const n of graph.nodes) {
      wanted.add(n.id);
      const lines = [n.label];
      if (n.versions.length) lines.push(n.versions.join(' · '));
      if (n.endpoints && n.endpoints.total > 0) lines.push(`${n.endpoints.healthy}/${n.endpoints.total} healthy`);
      const label = lines.join('\n');
      const isDegraded = n.endpoints !== null && n.endpoints.healthy < n.endpoints.total;
      const existing = cy.getElementById(n.id);
      if (existing.nonempty()) existing.data({ label, kind: n.kind, degraded: isDegraded });
      else {
        cy.add({ group: 'nodes', data: { id: n.id, label, kind: n.kind, degraded: isDegraded } });
        isShapeChanged = true;
      }
    }
    for (const e of graph.edges) {
      wanted.add(e.id);
      const data = { id: e.id, source: e.source, target: e.destination, label: edgeLabel(e), width: Math.min(8, 1 + Math.log10(1 + e.rps) * 2), failing: e.errorRate >= 0.05 };
      const existing = cy.getElementById(e.id);
      if (existing.nonempty()) existing.data(data);
      else {
        cy.add({ group: 'edges', data });
        isShapeChanged = true;
      }
    }
    cy.elements().forEach((x) => {
      if (!wanted.has(x.id())) {
        x.remove();
        isShapeChanged = true;
      }
    });
  });
  if (isShapeChanged) cy.layout({ name: 'breadthfirst', directed: true, padding: 20, spacingFactor: 1.1, animate: false }).run();

  const rows = graph.edges.map((e) => el('tr', { 'data-edge-id': e.id },
    el('td', { class: 'source' }, shortHost(e.source)),
    el('td', { class: 'destination' }, shortHost(e.destination)),
    el('td', { class: 'subset' }, e.subset || '—'),
    el('td', { class: 'num rps' }, fmtRate(e.rps)),
    el('td', { class: 'num errors' }, fmtPercent(e.errorRate)),
    el('td', { class: 'num in-flight' }, e.inProgress),
    el('td', { class: 'num latency' }, e.latencyMs === null ? '—' : `${e.latencyMs.toFixed(1)} ms`),
    el('td', { class: 'mtls', title: 'unknown until the reporting workload holds this cluster over ADS' }, e.mtls === null ? 'unknown' : e.mtls ? el('span', { class: 'lock', title: 'mTLS' }, '🔒 mTLS') : 'plaintext'),
  ));
  fill($('edges').tBodies[0], rows);
  toggleEmpty($('edges-empty'), rows.length);
}

function renderStatus(status) {
  $('generation').textContent = `generation ${status.generation} · ${status.version}`;
  const nacks = status.nacks.map((n) => el('li', { class: 'nack' },
    el('strong', {}, n.nodeId), n.isConnected ? '' : el('span', { class: 'muted' }, ' (disconnected)'), ' rejected ', el('code', {}, n.type.toUpperCase()), ` at ${new Date(n.at).toLocaleTimeString()} (still on version ${n.version || 'none'}): `,
    el('span', { class: 'message' }, n.message),
  ));
  fill($('nacks'), nacks);
  toggleEmpty($('nacks-empty'), nacks.length);
  const findings = [...status.rejected, ...status.findings].map((f) => el('li', { class: `finding level-${f.level}` },
    el('strong', {}, `${f.level} ${f.code}`), ' ',
    f.position ? el('code', {}, `${f.position.file}:${f.position.line}`) : null, f.position ? ' ' : null,
    f.resource ? `${f.resource}${f.field ? ` ${f.field}` : ''}: ` : '',
    f.message,
  ));
  if (status.rejected.length) findings.unshift(el('li', { class: 'level-error' }, `The last config change was rejected; generation ${status.generation} keeps serving.`));
  for (const s of status.snapshotFailures) findings.push(el('li', { class: 'level-error' }, `snapshot failure: ${compact(s)}`));
  fill($('config-errors'), findings);
  toggleEmpty($('config-empty'), findings.length);
}

function renderSync(sync) {
  const cell = (t) => (t ? el('td', { class: `state-${t.state.replace(' ', '-')}`, title: `sent ${t.sentVersion || '—'}, acked ${t.ackedVersion || '—'}, ${t.acks} ACKs, ${t.nacks} NACKs` }, `${t.state} ${t.ackedVersion ? t.ackedVersion.slice(0, 8) : ''}`) : el('td', { class: 'muted' }, '—'));
  const rows = sync.clients.map((c) => el('tr', { 'data-node-id': c.nodeId },
    el('td', { class: 'mono' }, c.nodeId), el('td', {}, `${c.kind} (${c.protocol})`),
    cell(c.types.cds), cell(c.types.eds), cell(c.types.lds), cell(c.types.rds),
  ));
  fill($('sync').tBodies[0], rows);
  toggleEmpty($('sync-empty'), rows.length);
}

function renderRouting(routing) {
  const cards = routing.services.map((s) => {
    const parts = [
      el('h3', {}, s.hostname, ' ', el('span', { class: 'muted' }, `${s.ports.map((p) => `${p.number}/${p.protocol}`).join(', ')} · ${s.endpoints.healthy}/${s.endpoints.total} endpoints healthy · ${s.origin}`)),
    ];
    if (s.virtualService) {
      parts.push(el('div', { class: 'muted' }, `VirtualService ${s.virtualService.id}`));
      for (const r of s.virtualService.routes) {
        parts.push(el('div', { class: 'route' },
          el('strong', {}, r.name), ' ', el('code', {}, r.match.length ? compact(r.match, 160) : 'any request'), ' → ',
          ...r.destinations.map((d) => el('span', { class: 'weight' }, `${shortHost(d.host)}${d.subset ? ` ${d.subset}` : ''}${d.port ? `:${d.port}` : ''} ${d.weight}%`)),
          ...Object.entries(r.policies).map(([k, v]) => el('div', { class: 'policy' }, el('code', {}, `${k}: ${compact(v)}`))),
        ));
      }
    } else parts.push(el('div', { class: 'muted' }, 'No VirtualService: default route to all endpoints.'));
    if (s.destinationRule) {
      const dr = s.destinationRule;
      parts.push(el('div', { class: 'muted' }, `DestinationRule ${dr.id}`));
      if (dr.trafficPolicy) parts.push(el('div', { class: 'policy' }, el('code', {}, `trafficPolicy: ${compact(dr.trafficPolicy)}`)));
      for (const sub of dr.subsets) {
        parts.push(el('div', { class: 'route subset' }, el('strong', {}, sub.name), ` ${compact(sub.labels, 120)} · ${sub.endpoints.healthy}/${sub.endpoints.total} healthy`,
          sub.trafficPolicy ? el('div', { class: 'policy' }, el('code', {}, `trafficPolicy: ${compact(sub.trafficPolicy)}`)) : null));
      }
    }
    return el('div', { class: 'service', 'data-service': s.hostname }, ...parts);
  });
  fill($('routing'), cards.length ? cards : [el('p', { class: 'muted' }, 'No services.')]);
}

async function refresh() {
  try {
    const [graph, status, sync, routing] = await Promise.all([getJson('/debug/graph'), getJson('/debug/config_status'), getJson('/debug/syncz'), getJson('/debug/routing')]);
    renderGraph(graph);
    renderStatus(status);
    renderSync(sync);
    renderRouting(routing);
    state.lastGraph = graph;
    $('fetch-error').hidden = true;
    $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    const box = $('fetch-error');
    box.textContent = `cannot refresh: ${err instanceof Error ? err.message : String(err)}`;
    box.hidden = false;
  } finally {
    state.refreshes++;
    setTimeout(refresh, REFRESH_MS);
  }
}

refresh();
