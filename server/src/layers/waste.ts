// Waste of an image from its layers' tar headers: dive's efficiency score and wasted bytes (for comparison with
// `dive --ci`), and the correct figure — bytes of file versions a later layer hid, each counted once — with the
// paths responsible.
//
// dive (filetree/efficiency.go, image analysis): for every layer, every leaf of that layer's own tree (an entry
// with no entry below it in the same layer; whiteouts included, opaque markers ignored) adds its size to its path;
// a whiteout's size is the whole lower subtree when it deletes a directory and 0 when it deletes a file.
// score = Σ_path min(size seen) / Σ_path Σ sizes seen (1 when nothing); wasted = Σ over paths seen in 2+ layers of
// every size seen — the live copy included, which is what dive#684 reports as wrong.

import { FsEntry, HiddenVersion, HideHow, MergedFs, subtreeTotals } from './filesystem';

export interface Offender {
  readonly path: string;
  /** Bytes of the hidden versions of this path, each counted once. */
  readonly bytes: number;
  readonly versions: number;
  /** Layer (index into the layers given) that wrote the first hidden version. */
  readonly addedLayer: number;
  /** Layer that hid the last hidden version, and how. */
  readonly hiddenLayer: number;
  readonly how: HideHow;
}

export interface WasteReport {
  readonly efficiency: number;
  readonly diveWastedBytes: number;
  readonly removableBytes: number;
  readonly removableFiles: number;
  /** Largest first; ties by path. */
  readonly offenders: readonly Offender[];
}

interface DivePath {
  total: number;
  min: number;
  seen: number;
}

/** `layers[i]` = the entries of the i-th non-empty layer, oldest first. */
export function analyseWaste(layers: readonly (readonly FsEntry[])[], maxOffenders = 20): WasteReport {
  const byPath = new Map<string, { bytes: number; versions: number; addedLayer: number; hiddenLayer: number; how: HideHow }>();
  let removableBytes = 0;
  let removableFiles = 0;
  const fs = new MergedFs((h: HiddenVersion) => {
    removableBytes += h.bytes;
    removableFiles++;
    const o = byPath.get(h.path);
    if (o) {
      o.bytes += h.bytes;
      o.versions++;
      o.addedLayer = Math.min(o.addedLayer, h.addedLayer);
      if (h.hiddenLayer >= o.hiddenLayer) {
        o.hiddenLayer = h.hiddenLayer;
        o.how = h.how;
      }
    } else {
      byPath.set(h.path, { bytes: h.bytes, versions: 1, addedLayer: h.addedLayer, hiddenLayer: h.hiddenLayer, how: h.how });
    }
  });

  const dive = new Map<string, DivePath>();
  layers.forEach((entries, i) => {
    diveLeaves(entries, fs, dive);
    fs.apply(i, entries);
  });

  let minimum = 0;
  let discovered = 0;
  let wasted = 0;
  for (const d of dive.values()) {
    minimum += d.min;
    discovered += d.total;
    if (d.seen >= 2) wasted += d.total;
  }
  const offenders = [...byPath].map(([path, o]) => ({ path, ...o }))
    .filter((o) => o.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .slice(0, Math.max(0, maxOffenders));
  return {
    efficiency: discovered === 0 ? 1 : minimum / discovered,
    diveWastedBytes: wasted,
    removableBytes,
    removableFiles,
    offenders,
  };
}

/** Adds one layer's leaves to dive's per-path tallies; `lower` is the filesystem below the layer. */
function diveLeaves(entries: readonly FsEntry[], lower: MergedFs, tally: Map<string, DivePath>): void {
  const parents = new Set<string>();
  for (const e of entries) {
    if (e.whiteout === 'opaque') continue;
    let p = e.path;
    for (let s = p.lastIndexOf('/'); s > 0; s = p.lastIndexOf('/')) {
      p = p.slice(0, s);
      if (parents.has(p)) break;
      parents.add(p);
    }
  }
  for (const e of entries) {
    if (e.whiteout === 'opaque' || e.path === '' || parents.has(e.path)) continue;
    let size = e.size;
    if (e.whiteout === 'file') {
      const node = lower.lookup(e.path);
      size = node && node.isDir ? subtreeTotals(node).bytes : 0;
    }
    const t = tally.get(e.path);
    if (t) {
      t.total += size;
      t.seen++;
      if (size < t.min) t.min = size;
    } else {
      tally.set(e.path, { total: size, min: size, seen: 1 });
    }
  }
}
