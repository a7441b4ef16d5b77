/**
 * Watching a directory tree for config changes without `fs.watch(…, { recursive: true })`.
 *
 * On Linux, Node's recursive watcher keeps a watch per *file*; a save that writes a temp file and
 * renames it over the original (what editors and `sed -i` do) replaces the file's inode, so that
 * watch goes stale and later edits or deletions of the file are never reported. Here each
 * directory gets one non-recursive watch (inotify reports creations, deletions, renames and
 * writes of a directory's entries, whatever their inode), and a `rename` event re-scans the
 * directory so new sub-directories are watched and removed ones released.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, sep } from 'node:path';

/** A live watch over a directory tree; {@link TreeWatcher.close} releases every OS watch. */
export interface TreeWatcher {
  /** Directories currently watched (for tests and diagnostics). */
  readonly directories: readonly string[];
  /** Stops every watch; idempotent. */
  close(): void;
}

/** Same bound as the config walk: symlink loops and absurd nesting stop here. */
const maxDepth = 32;

/**
 * Watches `root` and every non-hidden directory below it. `onChange` is called (synchronously
 * from the fs event, so callers debounce) for any event in any watched directory; `onError`
 * gets watch failures other than a watched directory disappearing. Resolves once the initial
 * watches are in place.
 */
export async function watchTree(root: string, onChange: () => void, onError: (err: Error) => void): Promise<TreeWatcher> {
  const watchers = new Map<string, FSWatcher>();
  let closed = false;

  const release = (dir: string): void => {
    for (const [d, w] of watchers) {
      if (d === dir || d.startsWith(dir + sep)) {
        w.close();
        watchers.delete(d);
      }
    }
  };

  const add = async (dir: string, depth: number): Promise<void> => {
    if (closed || depth > maxDepth || watchers.has(dir)) return;
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: false }, (event, filename) => {
        onChange();
        if (event === 'rename' && filename !== null) void entryChanged(dir, filename.toString(), depth);
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(err as Error);
      return;
    }
    w.on('error', (err) => {
      release(dir);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(err);
    });
    watchers.set(dir, w);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // gone again: its parent's rename event releases it
    }
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) await add(join(dir, e.name), depth + 1);
  };

  const entryChanged = async (dir: string, name: string, depth: number): Promise<void> => {
    if (name.startsWith('.') || name.includes(sep)) return;
    const full = join(dir, name);
    let isDir = false;
    try {
      isDir = (await lstat(full)).isDirectory();
    } catch {
      isDir = false;
    }
    if (closed) return;
    if (isDir) await add(full, depth + 1);
    else release(full);
  };

  await add(root, 0);
  return {
    get directories() {
      return [...watchers.keys()].sort();
    },
    close() {
      if (closed) return;
      closed = true;
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
