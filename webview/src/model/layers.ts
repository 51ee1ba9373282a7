// The layers table as rows: shares of the total, base-image layers grouped under their FROM, empty (metadata) entries
// dimmed or hidden, sorting by size, and the layer a Dockerfile line made. Pure (no DOM). The language server already
// made CREATED BY readable and summed the cumulative sizes (in history order, whatever the sort).
import type { ExplorerLayerRow, LayerSort } from '../messages';

export interface LayerRow {
  readonly kind: 'layer';
  readonly layer: ExplorerLayerRow;
  /** size / image total (0..1). */
  readonly share: number;
  /** Shown inside the base-image group (indented). */
  readonly inGroup: boolean;
}

export interface GroupRow {
  readonly kind: 'group';
  /** What the FROM names (`baseImage`), or "base image". */
  readonly label: string;
  readonly count: number;
  readonly size: number;
  readonly share: number;
  readonly expanded: boolean;
  /** 0-based Dockerfile line of the FROM, when tied. */
  readonly line: number | null;
  /** Index of the newest base layer: the group stands for it when selected. */
  readonly lastLayer: number;
}

export type TableRow = LayerRow | GroupRow;

export interface TableOptions {
  readonly sort: LayerSort;
  /** Show the base-image layers one by one under the group row. */
  readonly baseExpanded: boolean;
  /** Show metadata-only entries (dimmed). */
  readonly showEmpty: boolean;
}

export interface Totals {
  readonly bytes: number;
  readonly layers: number;
  readonly empty: number;
  readonly base: number;
  readonly baseBytes: number;
  readonly rebuilds: number;
}

export function totals(layers: readonly ExplorerLayerRow[]): Totals {
  let bytes = 0;
  let empty = 0;
  let base = 0;
  let baseBytes = 0;
  let rebuilds = 0;
  for (const l of layers) {
    bytes += l.size;
    if (l.empty) empty++;
    if (l.wouldRebuild === true) rebuilds++;
    if (l.base) {
      base++;
      baseBytes += l.size;
    }
  }
  return { bytes, layers: layers.length, empty, base, baseBytes, rebuilds };
}

/**
 * Rows of the table. In history order (oldest first, as the Dockerfile reads), the base-image layers sit under one
 * group row, collapsed unless `baseExpanded`. Sorted by size the list is flat: a group has no place in a size order.
 */
export function tableRows(layers: readonly ExplorerLayerRow[], opts: TableOptions): TableRow[] {
  const sorted = [...layers].sort((a, b) => a.index - b.index);
  const total = totals(sorted).bytes;
  const share = (n: number): number => (total > 0 ? n / total : 0);
  const rows: LayerRow[] = sorted.map((layer) => ({ kind: 'layer', layer, share: share(layer.size), inGroup: false }));
  const visible = rows.filter((r) => opts.showEmpty || !r.layer.empty);
  if (opts.sort !== 'history') {
    const dir = opts.sort === 'size-desc' ? -1 : 1;
    return visible.sort((a, b) => dir * (a.layer.size - b.layer.size) || a.layer.index - b.layer.index);
  }
  const baseRows = rows.filter((r) => r.layer.base);
  if (baseRows.length === 0) return visible;
  const baseSize = baseRows.reduce((n, r) => n + r.layer.size, 0);
  const group: GroupRow = {
    kind: 'group',
    label: baseRows.find((r) => r.layer.baseImage !== null)?.layer.baseImage ?? 'base image',
    count: baseRows.length,
    size: baseSize,
    share: share(baseSize),
    expanded: opts.baseExpanded,
    line: baseRows.find((r) => r.layer.source !== null)?.layer.source?.line ?? null,
    lastLayer: baseRows[baseRows.length - 1]!.layer.index,
  };
  const out: TableRow[] = [];
  let placed = false;
  for (const r of visible) {
    if (!r.layer.base) {
      out.push(r);
      continue;
    }
    if (!placed) {
      out.push(group);
      placed = true;
    }
    if (opts.baseExpanded) out.push({ ...r, inGroup: true });
  }
  // Every base entry may be hidden (all empty, empty ones hidden): the group still stands for the base image.
  if (!placed) out.unshift(group);
  return out;
}

/**
 * The layer the Dockerfile line `line` (0-based) made: among the layers whose instruction spans the line, one with
 * bytes before an empty one, then the newest (a FROM line spans every base layer). Null when none.
 */
export function layerAtLine(layers: readonly ExplorerLayerRow[], line: number): number | null {
  let best: ExplorerLayerRow | null = null;
  for (const l of layers) {
    if (l.source === null || line < l.source.line || line > l.source.endLine) continue;
    if (best === null || (best.empty && !l.empty) || (best.empty === l.empty && l.index > best.index)) best = l;
  }
  return best ? best.index : null;
}

/** Index of the row showing `layer` (the group row when it is a base layer inside a collapsed group), or -1. */
export function rowOfLayer(rows: readonly TableRow[], layer: number, layers: readonly ExplorerLayerRow[]): number {
  const i = rows.findIndex((r) => r.kind === 'layer' && r.layer.index === layer);
  if (i >= 0) return i;
  if (layers.find((l) => l.index === layer)?.base === true) return rows.findIndex((r) => r.kind === 'group');
  return -1;
}
