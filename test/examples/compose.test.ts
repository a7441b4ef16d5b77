/**
 * Static checks of examples/docker-compose.yml (Docker is not needed): every build context,
 * Dockerfile and mounted file exists; every file a command runs exists; every WEFT_* variable is
 * one the SDK reads; served ports agree with the mesh's ServiceEntries and the services' code;
 * depends_on names exist; Prometheus scrapes exactly the workloads' admin ports and the control
 * plane's admin port. Envoy sidecars (`weft envoy-bootstrap` in an init service, `envoy` in
 * the app's network namespace) are checked the same way: the bootstrap's --service/--port agree
 * with the app, the bootstrap file reaches Envoy through a declared volume, the order of start
 * holds, and Prometheus scrapes the sidecar on 15090. A second test breaks a copy on purpose and
 * expects each check to fire.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
const SDK_PACKAGES = ['xds-client', 'core', 'http-adapter', 'grpc-adapter'];

interface ComposeService {
  image?: string;
  network_mode?: string;
  build?: { context?: string; dockerfile?: string } | string;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean>;
  volumes?: string[];
  depends_on?: Record<string, unknown> | string[];
  healthcheck?: { test?: string[] | string };
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** The sidecar's Prometheus port (istio-proxy's). */
const ENVOY_PROMETHEUS_PORT = 15090;

/** The words of a command, with a `sh -c` script split into its own words. */
function words(command: readonly string[]): string[] {
  const i = command.indexOf('-c');
  return command[0] === 'sh' && i >= 0 ? (command[i + 1] ?? '').split(/\s+/) : [...command];
}

/** Checks of the Envoy sidecars; returns the sidecar apps and their Prometheus ports. */
function checkEnvoySidecars(compose: Compose, problems: string[]): Map<string, number> {
  const scraped = new Map<string, number>();
  const services = compose.services;
  const declaredVolumes = new Set(Object.keys(compose.volumes ?? {}));
  for (const [name, svc] of Object.entries(services)) {
    const where = `service ${name}`;
    for (const v of svc.volumes ?? []) {
      const src = v.split(':')[0] ?? '';
      if (!src.startsWith('.') && !src.startsWith('/') && !declaredVolumes.has(src)) problems.push(`${where}: volume ${src} is not declared under volumes`);
    }
    const shared = svc.network_mode?.startsWith('service:') ? svc.network_mode.slice('service:'.length) : undefined;
    if (shared !== undefined && !services[shared]) problems.push(`${where}: network_mode names ${shared}, which is not a service`);
    const w = words(args(svc.command));
    if (!w.includes('envoy-bootstrap')) continue;
    const app = shared === undefined ? undefined : services[shared];
    if (!app || shared === undefined) {
      problems.push(`${where}: runs weft envoy-bootstrap outside an app's network namespace (network_mode: service:<app>)`);
      continue;
    }
    for (const required of ['--service', '--port', '--xds-address']) if (!flag(w, required)) problems.push(`${where}: weft envoy-bootstrap without ${required}`);
    const xdsHost = flag(w, '--xds-address')?.split(':')[0];
    if (xdsHost && !services[xdsHost]) problems.push(`${where}: --xds-address ${xdsHost} is not a service`);
    const appWords = args(app.command);
    const served = appWords.find((a) => /^\d+$/.test(a));
    if (served !== flag(w, '--port')) problems.push(`${where}: --port ${flag(w, '--port')} does not match the port ${shared} serves (${served ?? 'none'})`);
    if (app.environment?.['http_proxy'] !== 'http://127.0.0.1:15001') problems.push(`service ${shared}: http_proxy is not the sidecar's outbound listener http://127.0.0.1:15001`);
    const out = w[w.indexOf('>') + 1];
    const outVolume = (svc.volumes ?? []).find((v) => out?.startsWith(`${v.split(':')[1]}/`));
    const envoys = Object.entries(services).filter(([, s]) => s.network_mode === svc.network_mode && args(s.command)[0] === 'envoy');
    if (envoys.length !== 1) problems.push(`${where}: expected one envoy service in ${shared}'s network namespace, found ${envoys.length}`);
    for (const [envoyName, envoy] of envoys) {
      const config = flag(args(envoy.command), '-c');
      if (config !== out) problems.push(`service ${envoyName}: runs envoy -c ${config}, but ${name} writes ${out}`);
      const sameVolume = (envoy.volumes ?? []).some((v) => v.split(':')[0] === outVolume?.split(':')[0] && config?.startsWith(`${v.split(':')[1]}/`));
      if (!outVolume || !sameVolume) problems.push(`service ${envoyName}: does not mount the volume ${name} writes its bootstrap to`);
      const deps = Array.isArray(envoy.depends_on) ? envoy.depends_on : Object.keys(envoy.depends_on ?? {});
      if (!deps.includes(name)) problems.push(`service ${envoyName}: does not depend on ${name} (its bootstrap)`);
    }
    scraped.set(shared, ENVOY_PROMETHEUS_PORT);
  }
  return scraped;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

/** The WEFT_* names the SDK's sources mention as strings (what it can read). */
function sdkVariables(): Set<string> {
  const names = new Set<string>();
  for (const pkg of SDK_PACKAGES) {
    for (const file of sourceFiles(join(ROOT, 'packages', pkg, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bWEFT_[A-Z0-9_]+\b/g)) names.add(m[0]);
    }
  }
  return names;
}

/** ServiceEntry ports by short service name: `catalog` → { grpc: 50051 }. */
function meshPorts(): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const file of readdirSync(join(EXAMPLES, 'mesh')).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(EXAMPLES, 'mesh', file), 'utf8'))) {
      const o = doc.toJS() as { kind?: string; spec?: { hosts?: string[]; ports?: { number: number; name: string }[] } } | null;
      if (o?.kind !== 'ServiceEntry') continue;
      for (const host of o.spec?.hosts ?? []) out.set(host.split('.')[0] ?? host, new Map((o.spec?.ports ?? []).map((p) => [p.name, p.number])));
    }
  }
  return out;
}

function args(v: string[] | string | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : v.split(/\s+/);
}

function flag(list: readonly string[], name: string): string | undefined {
  const i = list.indexOf(name);
  return i >= 0 ? list[i + 1] : undefined;
}

/** Every problem found in `compose` (with `prometheus` as the scrape config); empty when all hold. */
function checkCompose(compose: Compose, prometheus: { scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[] }): string[] {
  const problems: string[] = [];
  const known = sdkVariables();
  const ports = meshPorts();
  const names = new Set(Object.keys(compose.services));
  const adminTargets = checkEnvoySidecars(compose, problems);
  let controlPlaneAdmin: number | undefined;

  for (const [name, svc] of Object.entries(compose.services)) {
    const where = `service ${name}`;
    if (svc.build !== undefined) {
      const b = typeof svc.build === 'string' ? { context: svc.build } : svc.build;
      const context = resolve(EXAMPLES, b.context ?? '.');
      if (!existsSync(context)) problems.push(`${where}: build context ${b.context} does not exist`);
      const dockerfile = join(context, b.dockerfile ?? 'Dockerfile');
      if (!existsSync(dockerfile)) problems.push(`${where}: Dockerfile ${dockerfile} does not exist`);
      else {
        for (const line of readFileSync(dockerfile, 'utf8').split('\n')) {
          const copy = /^\s*COPY\s+(?!--from)(.+)$/i.exec(line)?.[1]?.trim().split(/\s+/);
          for (const source of copy?.slice(0, -1) ?? []) {
            if (!existsSync(join(context, source))) problems.push(`${where}: Dockerfile copies ${source}, which is not in the build context`);
          }
        }
      }
    }
    for (const v of svc.volumes ?? []) {
      const host = v.split(':')[0] ?? '';
      if ((host.startsWith('.') || host.startsWith('/')) && !existsSync(resolve(EXAMPLES, host))) problems.push(`${where}: mounted ${host} does not exist`);
    }
    const command = args(svc.command);
    const health = args(svc.healthcheck?.test);
    for (const a of [...words(command), ...health]) {
      if (/^(examples|packages)\/.*\.(ts|js|sh)$/.test(a) && !existsSync(join(ROOT, a))) problems.push(`${where}: runs ${a}, which does not exist`);
    }
    for (const dep of Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {})) {
      if (!names.has(dep)) problems.push(`${where}: depends_on ${dep}, which is not a service`);
    }
    const env = Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, String(v)]));
    for (const key of Object.keys(env).filter((k) => k.startsWith('WEFT_'))) {
      if (!known.has(key)) problems.push(`${where}: ${key} is not read by the SDK`);
    }
    if (command.includes('control-plane')) controlPlaneAdmin = Number(flag(command, '--admin-port') ?? 15014);
    if (env['WEFT_ADMIN_PORT']) adminTargets.set(name, Number(env['WEFT_ADMIN_PORT']));
    const service = env['WEFT_SERVICE'];
    if (!service) continue;
    const script = command.find((a) => a.endsWith('server.ts'));
    if (script && !script.includes(`/${service}/`)) problems.push(`${where}: WEFT_SERVICE=${service} but runs ${script}`);
    const declared = ports.get(service);
    if (!declared) problems.push(`${where}: no ServiceEntry in examples/mesh for ${service}`);
    for (const entry of (env['WEFT_PORT'] ?? '').split(',').filter(Boolean)) {
      const [portName, port] = entry.includes(':') ? entry.split(':') : ['http', entry];
      if (declared && declared.get(portName ?? '') !== Number(port)) problems.push(`${where}: WEFT_PORT ${entry} does not match the ServiceEntry ports of ${service} (${[...(declared ?? [])].map(([n, p]) => `${n}:${p}`).join(',')})`);
      if (env['PORT'] !== undefined && env['PORT'] !== port) problems.push(`${where}: serves PORT=${env['PORT']} but announces WEFT_PORT ${entry}`);
    }
    if (script && existsSync(join(ROOT, script))) {
      const code = readFileSync(join(ROOT, script), 'utf8');
      const fallback = /process\.env\.PORT \?\? (\d+)/.exec(code)?.[1];
      if (declared && fallback && ![...declared.values()].includes(Number(fallback))) problems.push(`${where}: ${script} defaults to port ${fallback}, not a port of ${service}`);
      for (const m of code.matchAll(/(\w+)\.shop\.svc\.cluster\.local:(\d+)/g)) {
        const target = ports.get(m[1] ?? '');
        if (!target || ![...target.values()].includes(Number(m[2]))) problems.push(`${where}: ${script} calls ${m[0]}, which no ServiceEntry declares`);
      }
    }
  }

  const scraped = new Map<string, number>();
  let scrapedControlPlane: number | undefined;
  for (const job of prometheus.scrape_configs) {
    for (const target of job.static_configs.flatMap((c) => c.targets)) {
      const [host = '', port] = target.split(':');
      if (!names.has(host)) problems.push(`prometheus job ${job.job_name}: target ${target} is not a compose service`);
      if (host === 'control-plane') {
        scrapedControlPlane = Number(port);
        if (job.metrics_path !== '/metrics') problems.push(`prometheus job ${job.job_name}: the control plane serves /metrics`);
      } else {
        scraped.set(host, Number(port));
        if (job.metrics_path !== '/stats/prometheus') problems.push(`prometheus job ${job.job_name}: workloads serve /stats/prometheus`);
      }
    }
  }
  for (const [name, port] of adminTargets) {
    if (scraped.get(name) !== port) problems.push(`prometheus does not scrape ${name}:${port} (its WEFT_ADMIN_PORT)`);
  }
  for (const [name, port] of scraped) {
    if (adminTargets.get(name) !== port) problems.push(`prometheus scrapes ${name}:${port}, which is not its WEFT_ADMIN_PORT`);
  }
  if (controlPlaneAdmin === undefined) problems.push('no control-plane service');
  else if (scrapedControlPlane !== controlPlaneAdmin) problems.push(`prometheus scrapes the control plane on ${scrapedControlPlane}, its admin port is ${controlPlaneAdmin}`);
  return problems;
}

function load(): { compose: Compose; prometheus: Parameters<typeof checkCompose>[1] } {
  return {
    compose: parse(readFileSync(join(EXAMPLES, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose,
    prometheus: parse(readFileSync(join(EXAMPLES, 'prometheus', 'prometheus.yml'), 'utf8')) as Parameters<typeof checkCompose>[1],
  };
}

test('examples/docker-compose.yml: files, commands, WEFT_* variables, ports, depends_on and Prometheus targets agree', () => {
  const { compose, prometheus } = load();
  assert.ok(Object.keys(compose.services).length >= 10);
  assert.deepEqual(checkCompose(compose, prometheus), []);
});

test('the compose checks fail on a broken copy', () => {
  const { compose, prometheus } = load();
  const ratings = compose.services['ratings-v1'];
  const catalog = compose.services['catalog-v2'];
  assert.ok(ratings?.environment && catalog?.environment);
  ratings.environment['WEFT_SERVCE'] = 'ratings';
  ratings.environment['WEFT_PORT'] = 'http:9081';
  catalog.command = ['node', 'examples/services/catalog/missing.ts'];
  catalog.depends_on = { nowhere: {} };
  catalog.volumes = ['./no-such-dir:/x'];
  catalog.build = { context: 'mesh', dockerfile: '../Dockerfile' };
  prometheus.scrape_configs[0]?.static_configs[0]?.targets.pop();
  const bootstrap = compose.services['reviews-envoy-bootstrap'];
  const envoy = compose.services['reviews-envoy'];
  assert.ok(bootstrap && envoy);
  bootstrap.command = args(bootstrap.command).map((a) => a.replace('--port 8000', '--port 8001'));
  envoy.command = ['envoy', '-c', '/etc/envoy/other.json'];
  envoy.depends_on = {};
  for (const job of prometheus.scrape_configs) for (const c of job.static_configs) c.targets = c.targets.filter((t) => t !== 'reviews:15090');
  const problems = checkCompose(compose, prometheus).join('\n');
  assert.match(problems, /WEFT_SERVCE is not read by the SDK/);
  assert.match(problems, /WEFT_PORT http:9081 does not match the ServiceEntry ports of ratings/);
  assert.match(problems, /serves PORT=9080 but announces WEFT_PORT http:9081/);
  assert.match(problems, /runs examples\/services\/catalog\/missing\.ts, which does not exist/);
  assert.match(problems, /depends_on nowhere, which is not a service/);
  assert.match(problems, /mounted \.\/no-such-dir does not exist/);
  assert.match(problems, /prometheus does not scrape inventory:15020/);
  assert.match(problems, /Dockerfile copies package\.json, which is not in the build context/);
  assert.match(problems, /--port 8001 does not match the port reviews serves \(8000\)/);
  assert.match(problems, /runs envoy -c \/etc\/envoy\/other\.json, but reviews-envoy-bootstrap writes \/etc\/envoy\/envoy\.json/);
  assert.match(problems, /reviews-envoy: does not depend on reviews-envoy-bootstrap/);
  assert.match(problems, /prometheus does not scrape reviews:15090/);
});
