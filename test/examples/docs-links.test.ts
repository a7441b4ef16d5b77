/**
 * The README links every page in docs/, and the relative links of the README, the guides and
 * the examples' READMEs point at files that exist (anchors are not checked).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGES = [
  'README.md',
  'docs/getting-started.md',
  'docs/examples.md',
  'docs/migration.md',
  'docs/troubleshooting.md',
  'examples/services/README.md',
  'examples/programmatic/README.md',
];

/** Relative link targets in a markdown text (no scheme, anchor removed). */
function relativeLinks(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? '')
    .filter((href) => !/^[a-z]+:/i.test(href) && !href.startsWith('#'))
    .map((href) => href.split('#')[0] ?? '');
}

test('README links every docs page', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const missing = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md') && !readme.includes(`](docs/${f}`));
  assert.deepEqual(missing, []);
});

test('relative links of the README, guides and example READMEs resolve', () => {
  const broken: string[] = [];
  for (const page of PAGES) {
    const text = readFileSync(join(ROOT, page), 'utf8');
    for (const href of relativeLinks(text)) {
      if (!existsSync(join(ROOT, dirname(page), href))) broken.push(`${page} → ${href}`);
    }
  }
  assert.deepEqual(broken, []);
});
