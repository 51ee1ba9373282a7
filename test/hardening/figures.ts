// Shared by the hardening suites: bounded, seeded sizes (LAYERLENS_FUZZ_RUNS raises them locally), latency
// percentiles, resource counts (open file descriptors, sockets, child processes) and a figures file that the
// report and the README section are written from (test-artifacts/hardening/figures.json).

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Seed of every property run: fixed, so a failure reproduces; LAYERLENS_FUZZ_SEED overrides it. */
export const FUZZ_SEED = Number(process.env['LAYERLENS_FUZZ_SEED'] ?? 20261127);

/** `base` cases in CI; LAYERLENS_FUZZ_RUNS (a multiplier, e.g. 10) raises every count for a local run. */
export function runs(base: number): number {
  const k = Number(process.env['LAYERLENS_FUZZ_RUNS'] ?? 1);
  return Math.max(1, Math.round(base * (Number.isFinite(k) && k > 0 ? k : 1)));
}

const FIGURES_FILE = path.resolve(__dirname, '../../../test-artifacts/hardening/figures.json');

/** Adds (or replaces) one figure; the file accumulates over suites of one run. */
export function recordFigure(name: string, value: unknown): void {
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(fs.readFileSync(FIGURES_FILE, 'utf8')) as Record<string, unknown>;
  } catch {
    /* first figure of the run */
  }
  all[name] = value;
  fs.mkdirSync(path.dirname(FIGURES_FILE), { recursive: true });
  fs.writeFileSync(FIGURES_FILE, JSON.stringify(all, null, 2) + '\n');
}

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function latencySummary(samples: readonly number[]): { n: number; p50: number; p99: number; max: number } {
  const r = (x: number): number => Math.round(x * 100) / 100;
  return { n: samples.length, p50: r(percentile(samples, 50)), p99: r(percentile(samples, 99)), max: r(Math.max(...samples)) };
}

export interface ResourceCount {
  /** Open file descriptors of this process. */
  readonly fds: number;
  /** Of those, sockets. */
  readonly sockets: number;
  /** Live child processes of this process. */
  readonly children: number;
}

/** Counted from /proc (Linux): what a leak would raise. */
export function resourceCount(): ResourceCount {
  let fds = 0;
  let sockets = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target = '';
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the fd of readdir itself, closed by now
    }
    fds++;
    if (target.startsWith('socket:')) sockets++;
  }
  let children = 0;
  try {
    const tasks = fs.readdirSync('/proc/self/task');
    for (const t of tasks) {
      const c = fs.readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim();
      if (c) children += c.split(/\s+/).length;
    }
  } catch {
    /* no children file: counted as none */
  }
  return { fds, sockets, children };
}

/** Resolves once `pred` holds, polling every 20 ms; fails after `ms`. */
export async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ll-hard-${prefix}-`));
}

/** Least-squares slope of y over x (bytes per sample for memory). */
export function slope(ys: readonly number[]): number {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - mx) * (ys[i]! - my);
    den += (i - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
