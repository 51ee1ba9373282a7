// Human output of `layerlens analyze`: the Dockerfile with an aligned annotation per instruction.

import { formatBytes, type AnalysisReport, type StepReport } from './engine/report';

const ANSI = { dim: '\x1b[2m', green: '\x1b[32m', yellow: '\x1b[33m', red: '\x1b[31m', bold: '\x1b[1m', reset: '\x1b[0m' };

export function sizeLabel(step: StepReport): string {
  if (step.size.bytes === null) return '?';
  if (!step.createsLayer && step.size.source === 'none') return '-';
  return `${step.size.exact ? '' : '~'}${formatBytes(step.size.bytes)}`;
}

export function cacheLabel(step: StepReport): string {
  if (step.skipped) return 'skipped';
  switch (step.cache) {
    case 'hit':
      return 'cached';
    case 'miss':
      return 'rebuilds';
    default:
      return '?';
  }
}

export function renderText(report: AnalysisReport, dockerfileText: string, color: boolean): string {
  const paint = (code: string, s: string): string => (color ? `${code}${s}${ANSI.reset}` : s);
  const lines = dockerfileText.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const byLine = new Map(report.steps.map((s) => [s.line, s]));
  const width = Math.min(72, Math.max(20, ...lines.map((l) => l.length)));
  const out: string[] = [];
  const d = report.daemon;
  out.push(
    paint(ANSI.bold, `${report.dockerfile}`) +
      paint(ANSI.dim, ` (context ${report.context}, ${report.builder}${report.target ? `, target ${report.target}` : ''})`),
  );
  out.push(
    d.reachable
      ? paint(ANSI.dim, `daemon: ${d.host} (Docker ${d.version ?? '?'})`)
      : paint(ANSI.yellow, `daemon unreachable: ${d.error ?? 'unknown reason'} — sizes from the context only, cache status unknown`),
  );
  lines.forEach((text, i) => {
    const step = byLine.get(i + 1);
    const shown = text.length > width ? text.slice(0, width - 1) + '…' : text;
    if (!step) {
      out.push(paint(ANSI.dim, shown));
      return;
    }
    const status = cacheLabel(step);
    const statusColor = step.skipped ? ANSI.dim : step.cache === 'hit' ? ANSI.green : step.cache === 'miss' ? ANSI.red : ANSI.yellow;
    const note = step.cache === 'miss' || step.cache === 'unknown' ? `  ${step.reason}` : '';
    out.push(`${shown.padEnd(width)}  ${sizeLabel(step).padStart(9)}  ${paint(statusColor, status.padEnd(8))}${paint(ANSI.dim, note)}`);
  });
  const total = report.totalBytes === null ? 'unknown' : formatBytes(report.totalBytes);
  const layered = report.steps.filter((s) => s.createsLayer && !s.skipped);
  const misses = layered.filter((s) => s.cache === 'miss').length;
  const unknown = layered.filter((s) => s.cache === 'unknown').length;
  out.push('');
  out.push(
    paint(ANSI.bold, `total ${total}`) +
      `  ${layered.length - misses - unknown} cached, ${misses} to rebuild${unknown ? `, ${unknown} unknown` : ''}`,
  );
  return out.join('\n') + '\n';
}
