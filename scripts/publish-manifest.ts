/**
 * Inside the repository every package points `exports` and `bin` at its TypeScript sources,
 * which Node 24 runs directly. A published package must point at the compiled `dist/` instead.
 * `npm pack`/`npm publish` run this from the package folder: `pack` builds and rewrites
 * package.json (keeping the original beside it), `restore` puts the original back.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const mode = process.argv[2];
const manifest = 'package.json';
const backup = 'package.json.source';

function toDist(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/^\.\/src\/(.*)\.ts$/, './dist/$1.js');
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toDist(v)]));
  }
  return value;
}

if (mode === 'pack') {
  execFileSync(process.execPath, [require_tsc(), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
  writeFileSync(backup, JSON.stringify(pkg, null, 2) + '\n');
  const exportsField = pkg['exports'] as Record<string, string>;
  pkg['exports'] = Object.fromEntries(
    Object.entries(exportsField).map(([k, v]) => [k, { types: String(toDist(v)).replace(/\.js$/, '.d.ts'), default: toDist(v) }]),
  );
  if (pkg['bin']) pkg['bin'] = toDist(pkg['bin']);
  pkg['files'] = ['dist'];
  writeFileSync(manifest, JSON.stringify(pkg, null, 2) + '\n');
} else if (mode === 'restore') {
  if (existsSync(backup)) renameSync(backup, manifest);
} else {
  process.stderr.write('usage: publish-manifest.ts pack|restore\n');
  process.exitCode = 2;
}

function require_tsc(): string {
  return new URL('../node_modules/typescript/bin/tsc', import.meta.url).pathname;
}
