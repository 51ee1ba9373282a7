// The union filesystem of an image, replayed layer by layer from tar headers alone (no file bodies).
// Per the OCI image spec: a layer's whiteouts (`.wh.NAME`: NAME is deleted; `.wh..wh..opq`: the directory's lower
// contents are hidden) apply to the layers below it first, then its own entries are laid on top. A non-directory
// entry over a directory replaces the whole subtree; a path through a lower non-directory turns it into a directory.
//
// Every version of a regular file that a later layer hides (overwrites, deletes, or hides under an opaque
// directory) is reported once, when its bytes become unreachable: hardlinked names in the same layer share one set
// of bytes, which is only unreachable once every name is hidden. This is the "removable bytes" figure (each hidden
// version counted once — unlike dive's wasted bytes, which also counts the live copy: dive#684).

export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

/** One entry of a layer tar, as far as the analysis needs it. docker/ LayerFileEntry values fit this shape. */
export interface FsEntry {
  /** Normalised: no leading './' or '/', no trailing '/'. For whiteouts: the path deleted / made opaque. */
  readonly path: string;
  readonly type: EntryKind;
  readonly size: number;
  readonly linkname: string;
  readonly whiteout: 'none' | 'file' | 'opaque';
}

export type HideHow = 'overwritten' | 'deleted' | 'opaque-dir';

/** A file version whose bytes no longer appear in the image. */
export interface HiddenVersion {
  /** Path where the bytes were written (for hardlinked bytes: the first name). */
  readonly path: string;
  readonly bytes: number;
  readonly addedLayer: number;
  readonly hiddenLayer: number;
  readonly how: HideHow;
}

/** Something a layer removed from the filesystem below it (collapsed: a removed directory is one item). */
export interface RemovedItem {
  readonly path: string;
  readonly kind: EntryKind;
  /** Bytes of the entries the removal hid (whole subtree for a directory). */
  readonly bytes: number;
  /** Non-directory entries hidden. */
  readonly files: number;
  readonly how: 'deleted' | 'opaque-dir';
}

export interface LayerDelta {
  /** Entries of the layer (whiteouts excluded) with whether the path existed below. */
  readonly written: ReadonlyArray<{ readonly entry: FsEntry; readonly existed: boolean }>;
  readonly removed: readonly RemovedItem[];
  /** Directories this layer made opaque. */
  readonly opaque: readonly string[];
}

/** Bytes shared by the hardlinked names of one file in one layer. */
interface LinkGroup {
  readonly path: string;
  readonly bytes: number;
  readonly layer: number;
  alive: number;
}

export interface Version {
  readonly layer: number;
  readonly entry: FsEntry;
  readonly group: LinkGroup | null;
}

export class FsNode {
  children: Map<string, FsNode> | null = null;
  /** null: a directory only implied by deeper paths (no entry of its own). */
  version: Version | null = null;

  get isDir(): boolean {
    return this.version === null || this.version.entry.type === 'dir';
  }

  get kind(): EntryKind {
    return this.version === null ? 'dir' : this.version.entry.type;
  }
}

export class MergedFs {
  readonly root = new FsNode();
  private readonly onHidden: ((h: HiddenVersion) => void) | null;

  constructor(onHidden?: (h: HiddenVersion) => void) {
    this.onHidden = onHidden ?? null;
  }

  lookup(path: string): FsNode | null {
    if (path === '') return this.root;
    let node: FsNode = this.root;
    for (const seg of path.split('/')) {
      const next = node.children?.get(seg);
      if (!next) return null;
      node = next;
    }
    return node;
  }

  /** Applies layer `layer`; returns what it wrote and removed relative to the filesystem below it. */
  apply(layer: number, entries: readonly FsEntry[]): LayerDelta {
    const written: Array<{ entry: FsEntry; existed: boolean }> = [];
    for (const e of entries) if (e.whiteout === 'none') written.push({ entry: e, existed: this.lookup(e.path) !== null });

    const removed: RemovedItem[] = [];
    const opaque: string[] = [];
    const opaqueLower: Array<{ path: string; node: FsNode }> = [];
    for (const e of entries) {
      if (e.whiteout === 'file') {
        const { parent, name } = this.parentOf(e.path);
        const node = parent?.children?.get(name);
        if (!parent || !node) continue; // deletes something that is not there: nothing to hide
        parent.children!.delete(name);
        const { bytes, files } = subtreeTotals(node);
        removed.push({ path: e.path, kind: node.kind, bytes, files, how: 'deleted' });
        this.hideSubtree(node, e.path, layer, 'deleted');
      } else if (e.whiteout === 'opaque') {
        opaque.push(e.path);
        const dir = this.lookup(e.path);
        if (!dir || !dir.isDir || !dir.children) continue;
        for (const [name, child] of dir.children) {
          const p = e.path === '' ? name : `${e.path}/${name}`;
          opaqueLower.push({ path: p, node: child });
          this.hideSubtree(child, p, layer, 'opaque-dir');
        }
        dir.children = null;
      }
    }

    const layerFiles = new Map<string, Version>();
    for (const { entry } of written) this.add(layer, entry, layerFiles);

    // What the opaque directories hid and the layer did not write again, collapsed to the top-most paths.
    for (const { path, node } of opaqueLower) this.collectGone(node, path, removed);
    return { written, removed, opaque };
  }

  private parentOf(path: string): { parent: FsNode | null; name: string } {
    const slash = path.lastIndexOf('/');
    if (slash < 0) return { parent: this.root, name: path };
    return { parent: this.lookup(path.slice(0, slash)), name: path.slice(slash + 1) };
  }

  private add(layer: number, e: FsEntry, layerFiles: Map<string, Version>): void {
    if (e.path === '') return;
    const segs = e.path.split('/');
    let node = this.root;
    let at = '';
    for (let i = 0; i < segs.length - 1; i++) {
      const seg = segs[i]!;
      at = at === '' ? seg : `${at}/${seg}`;
      node.children ??= new Map();
      let next = node.children.get(seg);
      if (next && !next.isDir) {
        // A path through a lower file, symlink…: the builder replaced it with a directory.
        this.hideSubtree(next, at, layer, 'overwritten');
        next = undefined;
      }
      if (!next) {
        next = new FsNode();
        node.children.set(seg, next);
      }
      node = next;
    }
    const name = segs[segs.length - 1]!;
    node.children ??= new Map();
    const old = node.children.get(name);
    let group: LinkGroup | null = null;
    if (e.type === 'file') {
      group = { path: e.path, bytes: e.size, layer, alive: 1 };
    } else if (e.type === 'hardlink') {
      // Tar hardlinks point at an earlier entry of the same archive: the names share that entry's bytes.
      const target = layerFiles.get(normalise(e.linkname));
      if (target?.group) {
        group = target.group;
        group.alive++;
      }
    }
    const version: Version = { layer, entry: e, group };
    if (e.type === 'file') layerFiles.set(e.path, version);
    if (old && old.isDir && e.type === 'dir') {
      old.version = version; // same directory, new metadata: its contents stay
      return;
    }
    if (old) this.hideSubtree(old, e.path, layer, 'overwritten');
    const fresh = new FsNode();
    fresh.version = version;
    node.children.set(name, fresh);
  }

  private hideSubtree(node: FsNode, path: string, layer: number, how: HideHow): void {
    const v = node.version;
    if (v?.group) {
      v.group.alive--;
      if (v.group.alive === 0 && this.onHidden) {
        this.onHidden({ path: v.group.path, bytes: v.group.bytes, addedLayer: v.group.layer, hiddenLayer: layer, how });
      }
    }
    if (node.children) for (const [name, child] of node.children) this.hideSubtree(child, `${path}/${name}`, layer, how);
  }

  private collectGone(old: FsNode, path: string, out: RemovedItem[]): void {
    const now = this.lookup(path);
    if (!now) {
      const { bytes, files } = subtreeTotals(old);
      out.push({ path, kind: old.kind, bytes, files, how: 'opaque-dir' });
      return;
    }
    if (old.children) for (const [name, child] of old.children) this.collectGone(child, `${path}/${name}`, out);
  }
}

/** Sum of entry sizes (directories count their header size, normally 0) and count of non-directories below. */
export function subtreeTotals(node: FsNode): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  const stack: FsNode[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n.version) {
      bytes += n.version.entry.size;
      if (n.version.entry.type !== 'dir') files++;
    }
    if (n.children) for (const c of n.children.values()) stack.push(c);
  }
  return { bytes, files };
}

/** Visits every node below `node` (not `node` itself) with its path, parents before children. */
export function walk(node: FsNode, prefix: string, visit: (path: string, n: FsNode) => void): void {
  if (!node.children) return;
  for (const [name, child] of node.children) {
    const p = prefix === '' ? name : `${prefix}/${name}`;
    visit(p, child);
    walk(child, p, visit);
  }
}

function normalise(p: string): string {
  return p.split('/').filter((s) => s !== '' && s !== '.').join('/');
}
