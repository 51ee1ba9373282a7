// The file tree of one layer for the explorer: "changes" (what the layer adds, modifies and removes) or the whole
// filesystem as of that layer, filtered, cut to a limit, in depth-first order with directory totals. Pure.

import { compareWalkOrder } from '../context/goPath';
import { EntryKind, FsEntry, MergedFs, walk } from './filesystem';

export type Change = 'added' | 'modified' | 'removed' | 'unchanged';

export interface TreeNode {
  readonly path: string;
  readonly depth: number;
  readonly kind: EntryKind;
  readonly size: number;
  readonly change: Change;
  readonly linkTarget?: string;
  readonly opaque?: boolean;
}

export interface TreeQuery {
  readonly view: 'changes' | 'filesystem';
  readonly filter: string;
  readonly under: string;
  readonly limit: number;
}

export interface TreeResult {
  readonly nodes: TreeNode[];
  readonly truncated: boolean;
  readonly matched: number;
  readonly counts: { added: number; modified: number; removed: number };
}

interface Item {
  path: string;
  kind: EntryKind;
  size: number;
  change: Change;
  linkTarget?: string;
  opaque?: boolean;
}

/** `layers` oldest first (non-empty layers only); `index` selects one of them. */
export function layerTree(layers: readonly (readonly FsEntry[])[], index: number, q: TreeQuery): TreeResult {
  const fs = new MergedFs();
  for (let i = 0; i < index; i++) fs.apply(i, layers[i]!);
  const delta = fs.apply(index, layers[index]!);

  const counts = { added: 0, modified: 0, removed: 0 };
  const opaque = new Set(delta.opaque);
  const items: Item[] = [];
  const changeOf = new Map<string, Change>();
  for (const { entry, existed } of delta.written) {
    const change: Change = existed ? 'modified' : 'added';
    changeOf.set(entry.path, change);
    if (entry.type !== 'dir') counts[change]++;
  }
  for (const r of delta.removed) counts.removed += r.files === 0 && r.kind === 'dir' ? 0 : Math.max(1, r.files);

  if (q.view === 'changes') {
    for (const { entry } of delta.written) items.push(itemOf(entry, changeOf.get(entry.path)!, opaque));
  } else {
    walk(fs.root, '', (path, n) => {
      if (n.version === null) return; // implied directories are added back as ancestors
      items.push(itemOf(n.version.entry, changeOf.get(path) ?? 'unchanged', opaque));
    });
  }
  for (const r of delta.removed) items.push({ path: r.path, kind: r.kind, size: r.bytes, change: 'removed' });
  for (const d of opaque) if (!changeOf.has(d)) items.push({ path: d, kind: 'dir', size: 0, change: 'modified', opaque: true });
  return shape(items, q, counts);
}

function itemOf(e: FsEntry, change: Change, opaque: ReadonlySet<string>): Item {
  const it: Item = { path: e.path, kind: e.type, size: e.type === 'dir' ? 0 : e.size, change };
  if (e.type === 'symlink' || e.type === 'hardlink') it.linkTarget = e.linkname;
  if (e.type === 'dir' && opaque.has(e.path)) it.opaque = true;
  return it;
}

/** Filter, add ancestors, total directories, sort depth-first, cut. */
function shape(items: readonly Item[], q: TreeQuery, counts: TreeResult['counts']): TreeResult {
  const under = q.under.replace(/^\/+|\/+$/g, '');
  const needle = q.filter.toLowerCase();
  const byPath = new Map<string, Item>();
  for (const it of items) {
    if (under !== '' && it.path !== under && !it.path.startsWith(`${under}/`)) continue;
    if (needle !== '' && !it.path.toLowerCase().includes(needle)) continue;
    const prev = byPath.get(it.path);
    // A path both removed (lower version) and written (this layer) shows as written.
    if (!prev || prev.change === 'removed') byPath.set(it.path, { ...it });
  }
  // Ancestors (the tree needs them) take their own entry when the view has one, else an unchanged directory.
  const all = new Map(items.map((it) => [it.path, it] as const));
  for (const path of [...byPath.keys()]) {
    for (let s = path.lastIndexOf('/'); s > 0; s = path.lastIndexOf('/', s - 1)) {
      const anc = path.slice(0, s);
      if (byPath.has(anc)) break;
      const own = all.get(anc);
      byPath.set(anc, own && own.kind === 'dir' ? { ...own, size: 0 } : { path: anc, kind: 'dir', size: 0, change: 'unchanged' });
    }
  }
  // Directory totals: every non-directory adds its size to each ancestor present.
  const dirTotals = new Map<string, number>();
  for (const it of byPath.values()) {
    if (it.kind === 'dir' && it.change !== 'removed') continue;
    for (let s = it.path.lastIndexOf('/'); s > 0; s = it.path.lastIndexOf('/', s - 1)) {
      const anc = it.path.slice(0, s);
      dirTotals.set(anc, (dirTotals.get(anc) ?? 0) + it.size);
    }
  }
  const sorted = [...byPath.values()];
  for (const it of sorted) if (it.kind === 'dir' && it.change !== 'removed') it.size = dirTotals.get(it.path) ?? 0;
  sorted.sort((a, b) => comparePaths(a.path, b.path));
  const limit = Math.max(0, q.limit);
  const nodes: TreeNode[] = sorted.slice(0, limit).map((it) => ({
    path: it.path,
    depth: depthOf(it.path),
    kind: it.kind,
    size: it.size,
    change: it.change,
    ...(it.linkTarget !== undefined ? { linkTarget: it.linkTarget } : {}),
    ...(it.opaque ? { opaque: true } : {}),
  }));
  return { nodes, truncated: sorted.length > limit, matched: sorted.length, counts };
}

/**
 * Depth-first order: a directory right before its contents ('/' sorts before every other character). This is the
 * order filepath.Walk (and so the layer tar) uses: the same comparison as the context walk's.
 */
export const comparePaths = compareWalkOrder;

function depthOf(path: string): number {
  let d = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) d++;
  return d;
}
