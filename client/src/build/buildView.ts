// What the editor shows about a build: the text after each instruction line (live and after the build), the line
// of the progress notification, and the summary with the prediction check. Pure (no `vscode` import) so it is
// unit-tested directly; decorations.ts and buildCommand.ts apply the results.
import { formatBytes, type CacheStatus } from '../../../server/src/engine/report';
import type { BuildMismatch, BuildResult, BuildStepOutcome, BuildStepProgress, BuildStepResult, BuildStepState } from '../../../server/src/protocol';

/** Every look a line can have; decorations.ts has one decoration type (colour) per kind. */
export type LineKind = BuildStepState | 'not-run';
export const LINE_KINDS: readonly LineKind[] = ['waiting', 'running', 'cached', 'built', 'failed', 'config', 'not-run'];

/** Text after one line of the document. `line` is 0-based (a VS Code line number). */
export interface LineMark {
  readonly line: number;
  readonly kind: LineKind;
  readonly text: string;
  /** Hover text of the decoration (plain text). */
  readonly hover: string;
}

/** Every label starts with this, so it reads apart from the inlay hint (the prediction) on the same line. */
const LABEL = 'build';
/** BuildKit writes ENV, LABEL, CMD… into the image config without running a step: nothing cached or built. */
const CONFIG_WORD = 'config only';

/**
 * `0.4 s`, `12.3 s` under a minute (one decimal: a cached step takes tenths), then `2 min 05 s`, `1 h 02 min`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  const m = Math.floor(s / 60);
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** Running time as it ticks: whole seconds, so the label changes once a second and not on every repaint. */
export function formatRunning(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0 s';
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s} s` : formatDuration(s * 1000);
}

/** The word for a prediction, as the inlay hints say it. */
export function predictedWord(p: CacheStatus): string {
  return p === 'hit' ? 'cached' : p === 'miss' ? 'rebuilds' : 'not predicted';
}

/** The word for what the builder did. */
export function outcomeWord(o: BuildStepOutcome): string {
  return o === 'not-run' ? 'not run' : o === 'config' ? CONFIG_WORD : o;
}

/**
 * The label of a step while the build runs. `elapsedMs` is the server's value plus the time since it arrived (the
 * client ticks the running step locally).
 */
export function progressLabel(step: Pick<BuildStepProgress, 'state' | 'sizeBytes'>, elapsedMs: number | null): string {
  switch (step.state) {
    case 'waiting':
      return `${LABEL} · waiting`;
    case 'running':
      return `${LABEL} · running ${formatRunning(elapsedMs ?? 0)}`;
    case 'cached':
      return withSize(`${LABEL} · cached`, step.sizeBytes);
    case 'built':
      return withSize(`${LABEL} · built${elapsedMs === null ? '' : ` in ${formatDuration(elapsedMs)}`}`, step.sizeBytes);
    case 'failed':
      return `${LABEL} · failed${elapsedMs === null ? '' : ` after ${formatDuration(elapsedMs)}`}`;
    case 'config':
      return `${LABEL} · ${CONFIG_WORD}`;
  }
}

/** The label of a step once the build has ended: what happened, time, size, and the prediction when it was wrong. */
export function resultLabel(step: BuildStepResult): string {
  const d = step.durationMs;
  let text: string;
  switch (step.actual) {
    case 'cached':
      text = withSize(`${LABEL} · cached`, step.sizeBytes);
      break;
    case 'built':
      text = withSize(`${LABEL} · built${d === null ? '' : ` in ${formatDuration(d)}`}`, step.sizeBytes);
      break;
    case 'failed':
      text = `${LABEL} · failed${d === null ? '' : ` after ${formatDuration(d)}`}`;
      break;
    case 'config':
      text = `${LABEL} · ${CONFIG_WORD}`;
      break;
    case 'not-run':
      text = `${LABEL} · not run`;
      break;
  }
  return step.predictionCorrect === false ? `${text} · predicted ${predictedWord(step.predicted)} ✗` : text;
}

function withSize(text: string, bytes: number | null): string {
  return bytes === null ? text : `${text} · ${formatBytes(bytes)}`;
}

/** Hover of a finished step: the prediction next to what happened. */
export function resultHover(step: BuildStepResult): string {
  const lines = [`Layer Lens build: ${outcomeWord(step.actual)}.`, `Predicted: ${predictedWord(step.predicted)}${step.predictionCorrect === false ? ' (wrong)' : step.predictionCorrect ? ' (right)' : ''}.`];
  if (step.durationMs !== null) lines.push(`Time: ${formatDuration(step.durationMs)}.`);
  if (step.sizeBytes !== null) {
    const predicted = step.predictedSizeBytes === null ? '' : ` (predicted ${formatBytes(step.predictedSizeBytes)})`;
    lines.push(`Layer: ${formatBytes(step.sizeBytes)}${predicted}.`);
  }
  lines.push('Shown until the Dockerfile is edited.');
  return lines.join('\n');
}

/**
 * The marks of a build in progress: one per instruction, on its first line. `steps` is the latest state of each
 * step; `elapsed(step)` gives its running time now.
 */
export function progressMarks(steps: Iterable<BuildStepProgress>, elapsed: (step: BuildStepProgress) => number | null): LineMark[] {
  const marks: LineMark[] = [];
  for (const s of steps) {
    marks.push({ line: s.line - 1, kind: s.state, text: progressLabel(s, elapsed(s)), hover: `Layer Lens build: ${s.state} (${s.instruction}, stage ${s.stage}).` });
  }
  return sortByLine(marks);
}

/** The marks of a finished build: every instruction with what it did. */
export function resultMarks(result: BuildResult): LineMark[] {
  return sortByLine(result.steps.map((s) => ({ line: s.line - 1, kind: s.actual, text: resultLabel(s), hover: resultHover(s) })));
}

function sortByLine(marks: LineMark[]): LineMark[] {
  return marks.sort((a, b) => a.line - b.line);
}

/** True when the step is still to be decided: the live timer keeps ticking while one runs. */
export function isRunning(step: Pick<BuildStepProgress, 'state'>): boolean {
  return step.state === 'running';
}

/** The fraction (0–1) of the build's steps that are decided (no longer waiting or running), for the progress bar. */
export function fractionDone(steps: Iterable<Pick<BuildStepProgress, 'state'>>): number {
  let total = 0;
  let done = 0;
  for (const s of steps) {
    total++;
    if (s.state !== 'waiting' && s.state !== 'running') done++;
  }
  return total === 0 ? 0 : done / total;
}

export type SummarySeverity = 'information' | 'warning' | 'error';

export interface BuildSummary {
  readonly severity: SummarySeverity;
  /** The notification text (one paragraph). */
  readonly message: string;
  /** What goes to the build log after the builder's own output: counts, every misprediction, the error. */
  readonly logLines: readonly string[];
}

/** "line 6 (COPY . .): predicted cached, was built" */
export function describeMismatch(m: Pick<BuildMismatch, 'line' | 'text' | 'predicted' | 'actual'>): string {
  return `line ${m.line} (${shorten(m.text, 60)}): predicted ${predictedWord(m.predicted)}, was ${outcomeWord(m.actual)}`;
}

/** The summary of a finished build: outcome, counts, and how the prediction did. */
export function buildSummary(r: BuildResult): BuildSummary {
  const cached = r.steps.filter((s) => s.actual === 'cached').length;
  const built = r.steps.filter((s) => s.actual === 'built').length;
  const counts = `${cached} cached, ${built} built`;
  const { compared, correct, mismatches } = r.prediction;
  const predictionLine =
    compared === 0 ? 'no step had a prediction to check' : `prediction right on ${correct} of ${compared} step${compared === 1 ? '' : 's'}`;
  const mismatchText = mismatches.length === 0 ? '' : `; wrong on ${mismatches.map(describeMismatch).join('; ')}`;
  const logLines = [
    `---- ${outcomeTitle(r)} after ${formatDuration(r.durationMs)} (builder ${r.builder}${r.target ? `, target ${r.target}` : ''})`,
    ...(r.imageId ? [`image: ${r.imageId}`] : []),
    `steps: ${counts}, ${r.steps.filter((s) => s.actual === 'not-run').length} not run`,
    `prediction: ${compared === 0 ? 'nothing to compare' : `${correct} of ${compared} right, ${mismatches.length} wrong`}`,
    ...mismatches.map((m) => `  MISPREDICTED ${describeMismatch(m)} — Layer Lens thought: ${m.reason}`),
    ...(r.error ? [`error${r.error.line === null ? '' : ` (line ${r.error.line})`}: ${r.error.message}`] : []),
  ];
  const tag = r.tag;
  switch (r.outcome) {
    case 'succeeded':
      return {
        severity: mismatches.length > 0 ? 'warning' : 'information',
        message: `Layer Lens: built ${tag} in ${formatDuration(r.durationMs)} — ${counts}; ${predictionLine}${mismatchText}.`,
        logLines,
      };
    case 'failed': {
      const where = r.error?.line ? ` at line ${r.error.line}` : '';
      return { severity: 'error', message: `Layer Lens: the build of ${tag} failed${where}: ${oneLine(r.error?.message ?? 'no message from the builder')}`, logLines };
    }
    case 'cancelled':
      return { severity: 'information', message: `Layer Lens: the build of ${tag} was cancelled after ${formatDuration(r.durationMs)} (${counts} before it stopped).`, logLines };
    case 'daemon-error':
      return { severity: 'error', message: `Layer Lens: the Docker daemon stopped answering during the build of ${tag}: ${oneLine(r.error?.message ?? 'no answer')}`, logLines };
    case 'invalid':
      return { severity: 'error', message: `Layer Lens: cannot build ${tag}: ${oneLine(r.error?.message ?? 'the request was refused')}`, logLines };
  }
}

function outcomeTitle(r: BuildResult): string {
  return r.outcome === 'succeeded' ? `built ${r.tag}` : `build of ${r.tag} ${r.outcome}`;
}

function oneLine(text: string): string {
  return shorten(text.replace(/\s*[\r\n]+\s*/g, ' ').trim(), 400);
}

function shorten(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** A builder output line as plain text for the log: colour codes and other control characters removed. */
export function buildLogText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').replace(/\s+$/, '');
}
