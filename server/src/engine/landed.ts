// Where the files of a COPY/ADD land in the image, and how that compares with a layer already built:
// the content-based comparison BuildKit's cache key amounts to (mode, size, type, link target, content; no mtime).

import { baseName } from '../context/goPath';
import type { SourceMatch } from '../context/types';
import type { LayerFileEntry } from '../docker/types';
import type { CopySpec } from './evaluate';
import type { ContextReader, LandedFile } from './inputs';
import type { ChangedFiles } from './report';

function joinImagePath(dir: string, rel: string): string {
  const base = dir.replace(/^\/+/, '').replace(/\/+$/, '');
  if (rel === '') return base;
  return base === '' ? rel : `${base}/${rel}`;
}

/** Files (and symlinks) a COPY lands, with image paths; directories are left out (they carry no bytes). */
/**
 * Whether nothing a COPY takes has changed since `sinceMs`: no entry (file, folder or link) of its sources, nor the
 * context folder for a whole-context source, had its status changed after it. ctime, not mtime: it also moves on
 * chmod and rename, and cannot be set back by tools that preserve times. A folder's ctime moves when an entry is
 * added, removed or renamed in it. Lets an unchanged source skip reading every file and the old layer.
 */
export function unchangedSince(ctx: ContextReader, matches: readonly SourceMatch[], sinceMs: number): boolean {
  const before = (rel: string): boolean => {
    const t = ctx.ctimeOf(rel);
    return t !== null && t <= sinceMs;
  };
  for (const m of matches) {
    for (const root of m.roots) {
      // The root folder and the folder holding a root: entries added, removed or renamed there move their ctime.
      const at = root.target ?? root.rel;
      if (!before(at) || !before(at.includes('/') ? at.slice(0, at.lastIndexOf('/')) : '')) return false;
      for (const sel of root.entries) {
        const t = sel.entry.ctimeMs;
        if (t === undefined || t > sinceMs) return false;
      }
    }
  }
  return true;
}

export async function landedFiles(ctx: ContextReader, copy: CopySpec, matches: readonly SourceMatch[]): Promise<LandedFile[]> {
  const roots = matches.flatMap((m) => m.roots);
  const destIsDir = copy.dest.endsWith('/') || copy.dest === '.' || roots.length > 1 || roots.some((r) => r.kind === 'dir');
  const hashes = await ctx.contentHashes(
    roots.flatMap((r) => r.entries.filter((s) => s.entry.kind === 'file').map((s) => s.entry.rel)),
  );
  const out: LandedFile[] = [];
  for (const root of roots) {
    for (const sel of root.entries) {
      const e = sel.entry;
      if (e.kind === 'dir' || e.kind === 'other') continue;
      let path: string;
      if (root.kind === 'dir') path = joinImagePath(copy.destAbs, sel.under);
      else path = destIsDir ? joinImagePath(copy.destAbs, baseName(root.rel)) : joinImagePath(copy.destAbs, '');
      const sha256 = e.kind === 'file' ? (hashes.get(e.rel) ?? '') : '';
      out.push({
        path,
        kind: e.kind,
        perm: e.mode & 0o7777,
        size: e.kind === 'symlink' ? 0 : e.size,
        sha256,
        linkTarget: e.linkTarget ?? '',
        from: e.rel,
        mtimeMs: e.mtimeMs,
      });
    }
  }
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return out;
}

/**
 * Compares what a COPY would land now with the files of the layer it made last time.
 * Returns null when identical; otherwise the context paths that differ.
 */
/** A layer's files by path, built once per listing (listings are immutable and memoised upstream). */
const byPath = new WeakMap<readonly LayerFileEntry[], ReadonlyMap<string, LayerFileEntry>>();

function filesByPath(layer: readonly LayerFileEntry[]): ReadonlyMap<string, LayerFileEntry> {
  let m = byPath.get(layer);
  if (!m) {
    const built = new Map<string, LayerFileEntry>();
    for (const f of layer) {
      if (f.whiteout !== 'none' || f.type === 'dir') continue;
      built.set(f.path.replace(/^\.?\/+/, '').replace(/\/+$/, ''), f);
    }
    byPath.set(layer, built);
    m = built;
  }
  return m;
}

export function compareWithLayer(
  landed: readonly LandedFile[],
  layer: readonly LayerFileEntry[],
  expectUidGid: number | null,
): ChangedFiles | null {
  const inLayer = filesByPath(layer);
  const added: string[] = [];
  const changed: string[] = [];
  const chmodded: string[] = [];
  let found = 0;
  for (const l of landed) {
    const old = inLayer.get(l.path);
    if (!old) {
      added.push(l.from);
      continue;
    }
    found++;
    const kindNow = l.kind === 'symlink' ? 'symlink' : 'file';
    const oldKind = old.type === 'hardlink' ? 'file' : old.type;
    if (oldKind !== kindNow) {
      changed.push(l.from);
      continue;
    }
    if (kindNow === 'symlink' ? old.linkname !== l.linkTarget : old.size !== l.size || (old.sha256 !== '' && old.sha256 !== l.sha256)) {
      changed.push(l.from);
      continue;
    }
    const uidChanged = expectUidGid !== null && (old.uid !== expectUidGid || old.gid !== expectUidGid);
    if (kindNow === 'file' && ((old.mode & 0o7777) !== l.perm || uidChanged)) chmodded.push(l.from);
  }
  // Landed paths are distinct: when every layer file was found, none was removed (no set of 20,000 paths needed).
  let removed: string[] = [];
  if (found < inLayer.size) {
    const now = new Set(landed.map((l) => l.path));
    removed = [...inLayer.keys()].filter((p) => !now.has(p)).map((p) => `/${p}`);
  }
  if (added.length + changed.length + chmodded.length + removed.length === 0) return null;
  return { added, changed, removed, chmodded };
}
