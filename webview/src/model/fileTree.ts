// A layer's file nodes (as the language server lists them: full paths, depth-first, possibly cut at a limit) as a
// tree with sizes, and the rows of that tree that are visible for a set of expanded folders and a filter. Pure (no
// DOM); the webview renders only the rows in view, so 50,000 nodes cost one pass here and a screenful of DOM.
import type { ExplorerFileNode } from '../messages';

export type FileChange = ExplorerFileNode['change'];
export type FileKind = ExplorerFileNode['kind'];

export interface TreeNode {
  readonly name: string;
  /** Path from the image root, no leading slash ('' for the root). */
  readonly path: string;
  kind: FileKind;
  /** What the layer did to this path; null for a folder only implied by its children's paths. */
  change: FileChange | null;
  /** The size the server gave (files: theirs; folders: the total below them in this view; removed: bytes hidden). */
  size: number | null;
  /** `size` when given, else the sum of the children (a folder only implied by the paths under it). */
  total: number;
  opaque: boolean;
  linkTarget: string | null;
  readonly children: TreeNode[];
}

export interface FileTree {
  readonly root: TreeNode;
  /** Nodes given (implied folders not counted). */
  readonly entries: number;
  /** Non-folder nodes per change, over the nodes given. */
  readonly counts: Readonly<Record<FileChange, number>>;
}

function node(name: string, path: string): TreeNode {
  return { name, path, kind: 'dir', change: null, size: null, total: 0, opaque: false, linkTarget: null, children: [] };
}

/** Splits a path from the daemon into its names: no empty, `.` or `..` parts (a tar may hold `./a//b`). */
export function pathParts(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.' && s !== '..');
}

/**
 * Builds the tree. A path given twice keeps its last entry (a later batch corrects an earlier one). Folders are
 * sorted before files, then by name (code-unit order, like `ls` in the C locale).
 */
export function buildTree(entries: readonly ExplorerFileNode[]): FileTree {
  const root = node('', '');
  const byPath = new Map<string, TreeNode>([['', root]]);
  const counts: Record<FileChange, number> = { added: 0, modified: 0, removed: 0, unchanged: 0 };
  const seen = new Map<string, FileChange | null>();
  for (const e of entries) {
    const parts = pathParts(e.path);
    if (parts.length === 0) continue;
    let parent = root;
    let path = '';
    for (const name of parts) {
      path = path === '' ? name : `${path}/${name}`;
      let n = byPath.get(path);
      if (!n) {
        n = node(name, path);
        byPath.set(path, n);
        parent.children.push(n);
      }
      parent = n;
    }
    const before = seen.get(path);
    if (before !== undefined && before !== null) counts[before]--;
    const counted = e.kind === 'dir' ? null : e.change;
    seen.set(path, counted);
    if (counted !== null) counts[counted]++;
    parent.kind = e.kind;
    parent.change = e.change;
    parent.size = e.size;
    parent.opaque = e.opaque === true;
    parent.linkTarget = e.linkTarget ?? null;
  }
  sumAndSort(root);
  return { root, entries: seen.size, counts };
}

function sumAndSort(root: TreeNode): void {
  // Iterative post-order: a 100,000-entry layer may be deep enough to worry a recursive walk.
  const order: TreeNode[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    order.push(n);
    for (const c of n.children) stack.push(c);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    n.total = n.size ?? n.children.reduce((s, c) => s + c.total, 0);
    n.children.sort(compareNodes);
  }
}

function compareNodes(a: TreeNode, b: TreeNode): number {
  const da = a.children.length > 0 || a.kind === 'dir' ? 0 : 1;
  const db = b.children.length > 0 || b.kind === 'dir' ? 0 : 1;
  if (da !== db) return da - db;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export interface TreeRow {
  readonly node: TreeNode;
  /** 1 for the children of the root (aria-level). */
  readonly depth: number;
  readonly expandable: boolean;
  readonly expanded: boolean;
  /** Position among its visible siblings (1-based) and their count: aria-posinset / aria-setsize. */
  readonly posInSet: number;
  readonly setSize: number;
}

/**
 * The visible rows, in display order. Without a filter: children of expanded folders. With a filter
 * (case-insensitive, on the whole path): the matching entries and the folders leading to them, opened.
 */
export function visibleRows(tree: FileTree, expanded: ReadonlySet<string>, filter = ''): TreeRow[] {
  const needle = filter.trim().toLowerCase();
  const keep = needle === '' ? null : matchingPaths(tree.root, needle);
  const rows: TreeRow[] = [];
  const walk = (parent: TreeNode, depth: number): void => {
    const kids = keep === null ? parent.children : parent.children.filter((c) => keep.has(c));
    kids.forEach((c, i) => {
      const expandable = c.children.length > 0;
      // Filtering opens every folder on the way to a match (but not a matching folder's own content).
      const open = expandable && (keep !== null ? c.children.some((k) => keep.has(k)) : expanded.has(c.path));
      rows.push({ node: c, depth, expandable, expanded: open, posInSet: i + 1, setSize: kids.length });
      if (open) walk(c, depth + 1);
    });
  };
  walk(tree.root, 1);
  return rows;
}

/** Nodes whose path matches, and their ancestors. */
function matchingPaths(root: TreeNode, needle: string): Set<TreeNode> {
  const keep = new Set<TreeNode>();
  const visit = (n: TreeNode, ancestors: TreeNode[]): void => {
    if (n !== root && n.path.toLowerCase().includes(needle)) {
      keep.add(n);
      for (const a of ancestors) keep.add(a);
    }
    if (n.children.length === 0) return;
    ancestors.push(n);
    for (const c of n.children) visit(c, ancestors);
    ancestors.pop();
  };
  // Depth is bounded by path length (PATH_MAX): recursion is fine here.
  visit(root, []);
  return keep;
}

/** The paths of `tree`'s folders down to `depth` (for "expand all" of the top levels). */
export function foldersToDepth(tree: FileTree, depth: number): string[] {
  const out: string[] = [];
  const walk = (n: TreeNode, d: number): void => {
    if (d > depth) return;
    for (const c of n.children) {
      if (c.children.length === 0) continue;
      out.push(c.path);
      walk(c, d + 1);
    }
  };
  walk(tree.root, 1);
  return out;
}
