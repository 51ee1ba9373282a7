// The analysis result: one entry per instruction. This is the stable JSON of `layerlens analyze --json` and the
// data every editor feature (inlay hints, hovers, diagnostics) is drawn from.

export type CacheStatus = 'hit' | 'miss' | 'unknown';
export type SizeSource = 'context' | 'history' | 'previous-build' | 'none';
export type Builder = 'buildkit' | 'classic';

export interface StepSize {
  readonly bytes: number | null;
  readonly exact: boolean;
  readonly source: SizeSource;
}

export interface ChangedFiles {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
  readonly chmodded: readonly string[];
}

export interface StepReport {
  readonly line: number;
  readonly endLine: number;
  readonly stage: string;
  readonly instruction: string;
  readonly text: string;
  readonly createsLayer: boolean;
  readonly cache: CacheStatus;
  readonly reason: string;
  readonly size: StepSize;
  /** The stage is not needed for the requested target: the builder will skip it. */
  readonly skipped: boolean;
  /** Files behind a COPY/ADD miss, when known (capped lists). */
  readonly changedFiles?: ChangedFiles;
  /** The history entry this step was matched to, when there is one. */
  readonly history?: { readonly imageId: string; readonly createdBy: string; readonly created: number; readonly size: number };
  /** Largest files a COPY/ADD brings in (path, bytes), largest first. */
  readonly largestFiles?: readonly { readonly path: string; readonly bytes: number }[];
}

export interface DaemonReport {
  readonly reachable: boolean;
  readonly host: string;
  readonly version: string | null;
  readonly error: string | null;
}

export interface AnalysisReport {
  readonly dockerfile: string;
  readonly context: string;
  readonly builder: Builder;
  readonly target: string | null;
  readonly daemon: DaemonReport;
  readonly steps: readonly StepReport[];
  readonly totalBytes: number | null;
}

export const MAX_LISTED_FILES = 20;

export function capList(paths: readonly string[], max = MAX_LISTED_FILES): string[] {
  return paths.slice(0, max);
}

/** "`a`, `b` and 3 more" — for reasons shown in one line. */
export function describePaths(paths: readonly string[], max = 3): string {
  const shown = paths.slice(0, max).map((p) => `\`${p}\``);
  const more = paths.length - shown.length;
  if (more > 0) return `${shown.join(', ')} and ${more} more`;
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}
