// Human output of `layerlens build`: live one line per finished step (on a TTY), then a table of every instruction
// with what Layer Lens predicted and what the builder did, and the prediction score with any mismatch spelled out.

import { formatBytes } from './engine/report';
import type { BuildResult, BuildStepProgress, BuildStepResult } from './protocol';

const ANSI = { dim: '\x1b[2m', green: '\x1b[32m', yellow: '\x1b[33m', red: '\x1b[31m', bold: '\x1b[1m', reset: '\x1b[0m' };

function seconds(ms: number | null): string {
  if (ms === null) return '';
  return ms < 100 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** One live line when a step reaches a final state: "line 3  RUN  built in 4.2 s". */
export function renderLiveStep(p: BuildStepProgress, text: string): string {
  const what = p.state === 'built' ? `built in ${seconds(p.elapsedMs)}` : p.state;
  return `line ${String(p.line).padEnd(4)} ${what.padEnd(16)} ${text}\n`;
}

function actualLabel(s: BuildStepResult): string {
  switch (s.actual) {
    case 'built':
      return `built ${seconds(s.durationMs)}`;
    case 'failed':
      return 'FAILED';
    case 'config':
      return 'config only';
    default:
      return s.actual;
  }
}

function predictedLabel(s: BuildStepResult): string {
  return s.predicted === 'hit' ? 'cached' : s.predicted === 'miss' ? 'rebuilds' : '?';
}

export function renderBuildResult(r: BuildResult, color: boolean): string {
  const paint = (code: string, s: string): string => (color ? `${code}${s}${ANSI.reset}` : s);
  const out: string[] = [];
  const textWidth = Math.min(48, Math.max(10, ...r.steps.map((s) => s.text.length)));
  out.push(paint(ANSI.bold, `${'line'.padEnd(5)} ${'instruction'.padEnd(textWidth)}  ${'predicted'.padEnd(9)}  ${'actual'.padEnd(14)}  ${'size'.padStart(9)}  ok`));
  for (const s of r.steps) {
    const text = s.text.length > textWidth ? s.text.slice(0, textWidth - 1) + '…' : s.text.padEnd(textWidth);
    const ok = s.predictionCorrect === null ? '' : s.predictionCorrect ? paint(ANSI.green, 'yes') : paint(ANSI.red, 'NO');
    const size = s.sizeBytes === null ? '' : formatBytes(s.sizeBytes);
    const actual = actualLabel(s).padEnd(14);
    const paintedActual = s.actual === 'failed' ? paint(ANSI.red, actual) : s.actual === 'cached' ? paint(ANSI.green, actual) : s.actual === 'built' ? paint(ANSI.yellow, actual) : paint(ANSI.dim, actual);
    out.push(`${String(s.line).padEnd(5)} ${text}  ${predictedLabel(s).padEnd(9)}  ${paintedActual}  ${size.padStart(9)}  ${ok}`);
  }
  out.push('');
  const p = r.prediction;
  out.push(`${r.outcome === 'succeeded' ? paint(ANSI.green, 'Built') : paint(ANSI.red, `Build ${r.outcome}`)} ${r.tag} (${r.builder}) in ${seconds(r.durationMs)}${r.imageId ? `: ${r.imageId}` : ''}`);
  if (r.error) out.push(paint(ANSI.red, `${r.error.line !== null ? `line ${r.error.line}: ` : ''}${r.error.message}`));
  if (p.compared > 0) out.push(`Prediction: ${p.correct} of ${p.compared} steps right${p.mismatches.length > 0 ? ' — mismatches (Layer Lens bugs, please report):' : '.'}`);
  for (const m of p.mismatches) out.push(paint(ANSI.red, `  line ${m.line} ${m.text}: predicted ${m.predicted}, actual ${m.actual} (engine's reason: ${m.reason})`));
  return out.join('\n') + '\n';
}
