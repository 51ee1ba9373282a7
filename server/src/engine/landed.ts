// Where the files of a COPY/ADD land in the image, and how that compares with a layer already built:
// the content-based comparison BuildKit's cache key amounts to (mode, size, type, link target, content; no mtime).

import { baseName } from '../context/goPath';
import type { ContextEntry, SourceMatch } from '../context/types';
import type { LayerFileEntry } from '../docker/types';
import type { CopySpec } from './evaluate';
import type { ContextReader, LandedFile } from './inputs';
import type { ChangedFiles } from './report';

function joinImagePath(dir: string, rel: string): string {
  const base = dir.replace(/^\/+/, '').replace(/\/+$/, '');
  if (rel === '') return base;
  return base === '' ? rel : `${base}/${rel}`;
}

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

/** Files (and symlinks) a COPY lands, with image paths; directories are left out (they carry no bytes). */
export async function landedFiles(ctx: ContextReader, copy: CopySpec, matches: readonly SourceMatch[]): Promise<LandedFile[]> {
  const roots = matches.flatMap((m) => m.roots);
  const destIsDir = destIsDirectory(copy, roots);
  const hashes = await ctx.contentHashes(
    roots.flatMap((r) => r.entries.filter((s) => s.entry.kind === 'file').map((s) => s.entry.rel)),
  );
  const out: LandedFile[] = [];
  for (const root of roots) {
    for (const sel of root.entries) {
      const e = sel.entry;
      if (e.kind === 'dir' || e.kind === 'other') continue;
      const path = landingPath(copy, root, sel.under, destIsDir);
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

/** A layer's files by path, built once per listing (listings are immutable and memoised upstream). */
const byPath = new WeakMap<readonly LayerFileEntry[], ReadonlyMap<string, LayerFileEntry>>();

function filesByPath(layer: readonly LayerFileEntry[]): ReadonlyMap<string, LayerFileEntry> {
  let m = byPath.get(layer);
  if (!m) {
    const built = new Map<string, LayerFileEntry>();
    const clean = (p: string): string => p.replace(/^\.?\/+/, '').replace(/\/+$/, '');
    for (const f of layer) {
      if (f.whiteout !== 'none' || f.type === 'dir') continue;
      // A hardlink's header carries no size or content: it has its target's (listed before it in the tar). Files
      // that were hardlinked in the context stay linked in a layer BuildKit built from a file-sync session.
      const target = f.type === 'hardlink' ? built.get(clean(f.linkname)) : undefined;
      built.set(clean(f.path), target ? { ...f, size: target.size, sha256: target.sha256 } : f);
    }
    byPath.set(layer, built);
    m = built;
  }
  return m;
}

/** How one landed file compares with the layer: not there, different content or type, other mode/owner, same. */
const enum Verdict {
  Same,
  Added,
  Changed,
  Chmodded,
}

type Comparable = Pick<LandedFile, 'kind' | 'perm' | 'size' | 'sha256' | 'linkTarget'>;

function judge(l: Comparable, old: LayerFileEntry | undefined, expectUidGid: number | null): Verdict {
  if (!old) return Verdict.Added;
  const kindNow = l.kind === 'symlink' ? 'symlink' : 'file';
  const oldKind = old.type === 'hardlink' ? 'file' : old.type;
  if (oldKind !== kindNow) return Verdict.Changed;
  if (kindNow === 'symlink' ? old.linkname !== l.linkTarget : old.size !== l.size || (old.sha256 !== '' && old.sha256 !== l.sha256)) {
    return Verdict.Changed;
  }
  const uidChanged = expectUidGid !== null && (old.uid !== expectUidGid || old.gid !== expectUidGid);
  if (kindNow === 'file' && ((old.mode & 0o7777) !== l.perm || uidChanged)) return Verdict.Chmodded;
  return Verdict.Same;
}

interface Judged {
  /** Image path the file lands on. */
  readonly path: string;
  /** Context path it comes from. */
  readonly from: string;
  readonly verdict: Verdict;
}

/**
 * Lists of differences from judged files in landing-path order, and the layer files nothing landed on. Landed paths
 * are distinct: when every layer file was found, none was removed (no set of 20,000 paths needed).
 */
function summarise(judged: readonly Judged[], inLayer: ReadonlyMap<string, LayerFileEntry>): ChangedFiles | null {
  let found = 0;
  const differing: Judged[] = [];
  for (const j of judged) {
    if (j.verdict !== Verdict.Added) found++;
    if (j.verdict !== Verdict.Same) differing.push(j);
  }
  let removed: string[] = [];
  if (found < inLayer.size) {
    const now = new Set(judged.map((j) => j.path));
    removed = [...inLayer.keys()].filter((p) => !now.has(p)).map((p) => `/${p}`);
  }
  if (differing.length + removed.length === 0) return null;
  // Stable sort: files landing on the same path keep their source order, as landedFiles lists them.
  differing.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const pick = (v: Verdict): string[] => differing.filter((j) => j.verdict === v).map((j) => j.from);
  return { added: pick(Verdict.Added), changed: pick(Verdict.Changed), removed, chmodded: pick(Verdict.Chmodded) };
}

/**
 * Compares what a COPY would land now with the files of the layer it made last time.
 * Returns null when identical; otherwise the context paths that differ.
 */
export function compareWithLayer(
  landed: readonly LandedFile[],
  layer: readonly LayerFileEntry[],
  expectUidGid: number | null,
): ChangedFiles | null {
  const inLayer = filesByPath(layer);
  return summarise(landed.map((l) => ({ path: l.path, from: l.from, verdict: judge(l, inLayer.get(l.path), expectUidGid) })), inLayer);
}

/**
 * Verdicts remembered per layer (diff ID), per landing setup (destination, owner, source root), per context entry.
 * A diff ID names immutable layer contents. A ContextEntry object stands for one stat of one path (the context index
 * replaces the object when anything about the path changes, and content hashes are keyed by that stat), so the same
 * object under the same root lands on the same path with the same content: its verdict cannot change.
 */
const verdicts = new Map<string, Map<string, WeakMap<ContextEntry, Judged>>>();
const MAX_LAYERS_REMEMBERED = 8;

function verdictsFor(diffId: string, setup: string): WeakMap<ContextEntry, Judged> {
  let bySetup = verdicts.get(diffId);
  if (bySetup) verdicts.delete(diffId); // re-inserted below: most recently used last
  else bySetup = new Map();
  verdicts.set(diffId, bySetup);
  while (verdicts.size > MAX_LAYERS_REMEMBERED) verdicts.delete(verdicts.keys().next().value!);
  let m = bySetup.get(setup);
  if (!m) bySetup.set(setup, (m = new WeakMap()));
  return m;
}

/** A built layer: its diff ID now, its file listing when the daemon delivers it (null: it could not be read). */
export interface LayerToCompare {
  readonly diffId: string;
  readonly files: Promise<readonly LayerFileEntry[] | null>;
}

/**
 * compareWithLayer(await landedFiles(ctx, copy, matches), layer files, expectUidGid), incrementally: only entries
 * not judged before against this layer (new or changed since the last analysis) are hashed and looked up, and they
 * are hashed while the listing is still on its way (an image export takes seconds). Re-analysis after one edit in a
 * 20,000-file COPY costs one pass over the entries instead of 20,000 hash lookups, path joins and path lookups.
 * Resolves to undefined when the layer could not be read.
 */
export async function compareSourcesWithLayer(
  ctx: ContextReader,
  copy: CopySpec,
  matches: readonly SourceMatch[],
  layer: LayerToCompare,
  expectUidGid: number | null,
): Promise<ChangedFiles | null | undefined> {
  const roots = matches.flatMap((m) => m.roots);
  const destIsDir = destIsDirectory(copy, roots);
  const judged: Judged[] = [];
  const pending: Array<{ readonly at: number; readonly entry: ContextEntry; readonly path: string; readonly memo: WeakMap<ContextEntry, Judged> }> = [];
  for (const root of roots) {
    const memo = verdictsFor(layer.diffId, `${copy.destAbs}\0${expectUidGid}\0${destIsDir}\0${root.kind}\0${root.rel}\0${root.target ?? root.rel}`);
    for (const sel of root.entries) {
      const e = sel.entry;
      if (e.kind === 'dir' || e.kind === 'other') continue;
      const known = memo.get(e);
      if (known) {
        judged.push(known);
        continue;
      }
      pending.push({ at: judged.length, entry: e, path: landingPath(copy, root, sel.under, destIsDir), memo });
      judged.push(undefined as unknown as Judged); // filled below, keeping source order
    }
  }
  const rels = pending.filter((p) => p.entry.kind === 'file').map((p) => p.entry.rel);
  const [hashes, files] = await Promise.all([rels.length > 0 ? ctx.contentHashes(rels) : new Map<string, string>(), layer.files]);
  if (!files) return undefined;
  const inLayer = filesByPath(files);
  for (const { at, entry: e, path, memo } of pending) {
    const sha256 = e.kind === 'file' ? hashes.get(e.rel) : '';
    const now: Comparable = { kind: e.kind, perm: e.mode & 0o7777, size: e.kind === 'symlink' ? 0 : e.size, sha256: sha256 ?? '', linkTarget: e.linkTarget ?? '' };
    const j: Judged = { path, from: e.rel, verdict: judge(now, inLayer.get(path), expectUidGid) };
    judged[at] = j;
    // An unreadable file (no hash) is judged again next time: it may be readable then.
    if (sha256 !== undefined) memo.set(e, j);
  }
  return summarise(judged, inLayer);
}

function destIsDirectory(copy: CopySpec, roots: readonly SourceMatch['roots'][number][]): boolean {
  return copy.dest.endsWith('/') || copy.dest === '.' || roots.length > 1 || roots.some((r) => r.kind === 'dir');
}

/** Image path (no leading '/') where an entry selected under a source root lands. */
function landingPath(copy: CopySpec, root: SourceMatch['roots'][number], under: string, destIsDir: boolean): string {
  if (root.kind === 'dir') return joinImagePath(copy.destAbs, under);
  return destIsDir ? joinImagePath(copy.destAbs, baseName(root.rel)) : joinImagePath(copy.destAbs, '');
}
