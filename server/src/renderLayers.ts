// `layerlens layers IMAGE`: the layers table (like `docker history`, oldest first, with cumulative sizes and a bar
// of each layer's share), dive's efficiency, the removable bytes and the top offenders; and the JSON shape of
// `--json`. Every string in here came from the daemon and was sanitised by the explorer service.

import { formatBytes } from './engine/report';
import type { ExplorerImageInfo, ExplorerLayerRow, ExplorerWasteResult } from './protocol';

export interface LayersThresholds {
  readonly minEfficiency: number | null;
  readonly maxWastedBytes: number | null;
}

/** `layerlens layers --json`: one object. */
export interface LayersJson {
  readonly image: ExplorerImageInfo;
  /** Oldest first, as ExplorerLayerRow (source/wouldRebuild are null: no Dockerfile on the command line). */
  readonly layers: readonly ExplorerLayerRow[];
  readonly waste: Omit<ExplorerWasteResult, 'state' | 'error'>;
  readonly thresholds: LayersThresholds & { readonly passed: boolean; readonly failures: readonly string[] };
}

/** One sentence per failed threshold; [] when all pass (or none was given). */
export function thresholdFailures(w: Pick<ExplorerWasteResult, 'efficiency' | 'removableBytes'>, t: LayersThresholds): string[] {
  const out: string[] = [];
  if (t.minEfficiency !== null && w.efficiency < t.minEfficiency) {
    out.push(`efficiency ${pct(w.efficiency)} is below the minimum ${pct(t.minEfficiency)}`);
  }
  if (t.maxWastedBytes !== null && w.removableBytes > t.maxWastedBytes) {
    out.push(`${w.removableBytes} removable bytes (${formatBytes(w.removableBytes)}) exceed the maximum ${t.maxWastedBytes} (${formatBytes(t.maxWastedBytes)})`);
  }
  return out;
}

const ANSI = { dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', bold: '\x1b[1m', reset: '\x1b[0m' };
const BAR = 20;

export function renderLayers(image: ExplorerImageInfo, rows: readonly ExplorerLayerRow[], w: ExplorerWasteResult, t: LayersThresholds, color: boolean, now = Date.now()): string {
  const paint = (code: string, s: string): string => (color ? `${code}${s}${ANSI.reset}` : s);
  const total = Math.max(1, image.size);
  const out: string[] = [];
  const name = image.repoTags[0] ?? image.id.slice(7, 19);
  out.push(paint(ANSI.bold, `${name}  ${image.id.slice(7, 19)}  ${formatBytes(image.size)} in ${image.layerCount} layers (+${image.emptyLayerCount} empty)`));
  out.push('');
  const head = ['#', 'CREATED', 'SIZE', 'CUMULATIVE', 'SHARE', 'CREATED BY'];
  const table = rows.map((r) => [
    String(r.index),
    r.created ? relative(Date.parse(r.created), now) : '-',
    r.empty ? '-' : formatBytes(r.size),
    formatBytes(r.cumulativeSize),
    r.empty ? ' '.repeat(BAR) : bar(r.size / total),
    `${r.base ? `[${oneLine(r.baseImage ?? 'base', 40)}] ` : ''}${oneLine(r.createdBy, 100)}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((c) => c[i]!.length)));
  const fmt = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : i >= 2 && i <= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  out.push(paint(ANSI.bold, fmt(head)));
  rows.forEach((r, i) => out.push(r.empty ? paint(ANSI.dim, fmt(table[i]!)) : fmt(table[i]!)));
  out.push('');
  out.push(`Efficiency (dive):      ${pct(w.efficiency)}`);
  out.push(`Wasted bytes (dive):    ${formatBytes(w.diveWastedBytes)}  (counts the copy still in use too)`);
  out.push(`Removable bytes:        ${formatBytes(w.removableBytes)} in ${w.removableFiles} hidden file versions (${pct(w.removableBytes / total)} of the image)`);
  if (w.offenders.length > 0) {
    out.push('');
    out.push(paint(ANSI.bold, 'Top offenders (bytes a later layer hid):'));
    for (const o of w.offenders) {
      const versions = o.versions > 1 ? ` (${o.versions} versions)` : '';
      out.push(`  ${formatBytes(o.bytes).padStart(9)}  /${oneLine(o.path, 120)}${versions}`);
      out.push(paint(ANSI.dim, `             added by #${o.addedBy.layerIndex} ${oneLine(o.addedBy.createdBy, 70)}`));
      out.push(paint(ANSI.dim, `             ${o.how === 'deleted' ? 'deleted' : o.how === 'opaque-dir' ? 'hidden (opaque dir)' : 'overwritten'} by #${o.hiddenBy.layerIndex} ${oneLine(o.hiddenBy.createdBy, 70)}`));
    }
  }
  const failures = thresholdFailures(w, t);
  if (t.minEfficiency !== null || t.maxWastedBytes !== null) {
    out.push('');
    if (failures.length === 0) out.push(paint(ANSI.green, 'PASS: every threshold holds'));
    else for (const f of failures) out.push(paint(ANSI.red, `FAIL: ${f}`));
  }
  return out.join('\n') + '\n';
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

function bar(share: number): string {
  const n = Math.max(0, Math.min(BAR, Math.round(share * BAR)));
  return '█'.repeat(n) + '·'.repeat(BAR - n);
}

function oneLine(s: string, max: number): string {
  const t = s.replace(/\s+/g, ' ');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function relative(t: number, now: number): string {
  if (!Number.isFinite(t)) return '-';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} seconds ago`;
  const units: Array<[number, string]> = [[31536000, 'year'], [2592000, 'month'], [604800, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'minute']];
  for (const [n, u] of units) if (s >= n) { const v = Math.floor(s / n); return `${v} ${u}${v > 1 ? 's' : ''} ago`; }
  return `${s} seconds ago`;
}
