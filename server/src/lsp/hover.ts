// Hover on an instruction: its size and where that number comes from, the cache verdict with its full reason and
// the changed files, the history entry it matched, the image size up to that line, the largest copied files.

import type { Hover, Position } from 'vscode-languageserver';
import { stageRef } from '../engine/dockerfileModel';
import { formatBytes, type AnalysisReport, type StepReport } from '../engine/report';
import type { Analysed, DocumentView } from './documentView';
import { cacheWord, isMetadataOnly, mdCode, sizeSource, sizeText } from './format';

export function hover(view: DocumentView, pos: Position): Hover | null {
  const report = view.analysed.report;
  const inst = view.current.model.instructions.find((i) => pos.line >= i.line - 1 && pos.line <= i.endLine - 1);
  if (!inst) return null;
  // Say why there is nothing to show rather than going quiet (a missing context folder, an unknown target…).
  if (!report) return view.analysed.error ? { contents: { kind: 'markdown', value: `**Layer Lens** could not analyse this Dockerfile: ${view.analysed.error}` } } : null;
  const line = view.toAnalysed.get(inst.line);
  const step = line === undefined ? undefined : report.steps.find((s) => s.line === line);
  if (!step) return null;
  return {
    contents: { kind: 'markdown', value: hoverMarkdown(view.analysed, step) },
    range: { start: { line: inst.line - 1, character: 0 }, end: { line: inst.endLine - 1, character: view.current.lines[inst.endLine - 1]!.length } },
  };
}

export function hoverMarkdown(analysed: Analysed, step: StepReport): string {
  const out: string[] = [];
  const size = sizeText(step.size);
  const from = step.instruction === 'FROM';
  const what = isMetadataOnly(step)
    ? 'metadata only, no layer'
    : from
      ? step.size.source === 'none' ? 'no base image bytes of its own' : `base image ${size ?? 'size unknown'}`
      : size === null ? 'size unknown' : `layer ${size}`;
  const source = size !== null && !isMetadataOnly(step) && !(from && step.size.source === 'none') ? ` (${sizeSource(step.size)})` : '';
  out.push(`**Layer Lens** · ${step.instruction} · ${what}${source}`);
  out.push(`**Cache:** ${cacheWord(step.cache) === '?' ? 'unknown' : cacheWord(step.cache)} — ${step.reason}`);
  const changed = step.changedFiles;
  if (changed) {
    const rows: string[] = [];
    const sizeOf = (p: string): string => {
      const b = analysed.fileSizes.get(p);
      return b === undefined ? '' : ` — ${formatBytes(b)}`;
    };
    for (const p of changed.changed) rows.push(`- changed ${mdCode(p)}${sizeOf(p)}`);
    for (const p of changed.added) rows.push(`- added ${mdCode(p)}${sizeOf(p)}`);
    for (const p of changed.removed) rows.push(`- removed ${mdCode(p)}`);
    for (const p of changed.chmodded) rows.push(`- mode changed ${mdCode(p)}${sizeOf(p)}`);
    if (rows.length > 0) out.push(`**Changed files:**\n\n${rows.join('\n')}`);
  }
  if (step.history) {
    const h = step.history;
    const created = Number.isFinite(h.created) && h.created > 0 ? new Date(h.created * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : 'unknown';
    out.push(`**Last build:** created ${created} · image ${mdCode(h.imageId.replace(/^sha256:/, '').slice(0, 12))} · ${formatBytes(h.size)}\n\n${mdCode(h.createdBy, 300)}`);
  }
  if (analysed.report && !step.skipped) {
    const total = cumulative(analysed, analysed.report, step.line, new Set());
    if (total) out.push(`**Image size up to here:** ${total.exact ? '' : total.partial ? 'at least ' : '~'}${formatBytes(total.bytes)}`);
  }
  if (step.largestFiles && step.largestFiles.length > 0) {
    const rows = step.largestFiles.slice(0, 10).map((f) => `| ${mdCode(f.path, 120).replace(/\|/g, '\\|')} | ${formatBytes(f.bytes)} |`);
    out.push(`**Largest files:**\n\n| File | Size |\n|---|---:|\n${rows.join('\n')}`);
  }
  return out.join('\n\n');
}

interface Total {
  readonly bytes: number;
  readonly exact: boolean;
  /** Some step's size is unknown: the number is a lower bound. */
  readonly partial: boolean;
}

/** Base image (or parent stage) plus every layer of the stage up to and including `line`. */
function cumulative(analysed: Analysed, report: AnalysisReport, line: number, seen: Set<number>): Total | null {
  const model = analysed.model;
  const inst = model.instructions.find((i) => i.line === line);
  if (!inst || inst.stageIndex < 0 || seen.has(inst.stageIndex)) return null;
  seen.add(inst.stageIndex);
  const stage = model.stages[inst.stageIndex]!;
  let bytes = 0;
  let exact = true;
  let partial = false;
  const fromRef = stage.from.args.split(/\s+/)[0] ?? '';
  const parent = stageRef(model, fromRef, stage.index);
  if (parent !== null) {
    const lastOfParent = model.stages[parent]!.body.at(-1)?.line ?? model.stages[parent]!.from.line;
    const t = cumulative(analysed, report, lastOfParent, seen);
    if (!t) return null;
    ({ bytes, exact, partial } = t);
  }
  for (const i of [stage.from, ...stage.body]) {
    if (i.line > line) break;
    if (i === stage.from && parent !== null) continue;
    const s = report.steps.find((x) => x.line === i.line);
    if (!s) continue;
    if (s.size.bytes === null) partial = true;
    else {
      bytes += s.size.bytes;
      exact &&= s.size.exact;
    }
  }
  return { bytes, exact: exact && !partial, partial };
}
