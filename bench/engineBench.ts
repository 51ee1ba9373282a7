// Benchmark (c): re-analysis inside a running engine. One Analyzer in this process, the context watched
// (watchContext); per round: edit one file, wait for the watcher's onChange (fall back to contextChanged when the
// platform does not report it within 3 s), then time analyze(); then time analyze() again with no change.
// bench.ts runs this as a child process (so the engine's RSS is its own); standalone:
//   node out/bench/engineBench.js --context DIR [--dockerfile FILE] [--rounds N] [--cache-dir DIR]
//        [--cpu-prof-rounds FILE.cpuprofile]   (CPU profile of the measured rounds only)
// Prints one line `ENGINE_BENCH_RESULT <json>` on stdout.

import * as fs from 'fs';
import { Session } from 'inspector';
import * as os from 'os';
import * as path from 'path';
import { Analyzer } from '../server/src/analyze';
import type { ContextIndex } from '../server/src/context/contextIndex';
import type { AnalysisReport } from '../server/src/engine/report';
import { MUTABLE_REL, MUTABLE_TEXT } from './benchContext';

export interface EngineRound {
  /** analyze() after one file changed (watcher already applied the change). */
  readonly changedMs: number;
  /** analyze() again, nothing changed. */
  readonly unchangedMs: number;
  /** From the write to the watcher's onChange (includes its 40 ms debounce); null when it did not fire. */
  readonly watcherMs: number | null;
  /** Context files read by the changed / unchanged analysis (null when the counters cannot be reached). */
  readonly filesReadChanged: number | null;
  readonly filesReadUnchanged: number | null;
  /** Cache status of each layer step in the changed analysis, e.g. "RUN:hit COPY:miss". */
  readonly changedSteps: string;
  readonly unchangedSteps: string;
}

export interface EngineBenchResult {
  readonly setupMs: number;
  readonly firstAnalyzeMs: number;
  /** Layer steps' cache status at the first analysis (before any edit): all hit when the build is cached. */
  readonly firstSteps: string;
  /**
   * The first edit after opening, not in the rounds: it can cost much more (e.g. reading an older build's layer from
   * the daemon once, which is then cached for the process).
   */
  readonly firstEditMs: number;
  readonly firstEditFilesRead: number | null;
  readonly rounds: EngineRound[];
  readonly watcherFired: number;
  readonly restoredSteps: string;
  readonly copyAllReasonAfterEdit: string | null;
  readonly maxRssKiB: number;
  readonly rssAfterKiB: number;
}

function steps(r: AnalysisReport): string {
  return r.steps.filter((s) => s.createsLayer || s.instruction === 'FROM').map((s) => `${s.instruction}:${s.cache}`).join(' ');
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The context indexes' read counters (private to Analyzer; null if its shape changed). */
async function filesRead(analyzer: Analyzer): Promise<number | null> {
  const contexts = (analyzer as unknown as { contexts?: Map<string, Promise<ContextIndex>> }).contexts;
  if (!(contexts instanceof Map)) return null;
  let n = 0;
  for (const p of contexts.values()) {
    const idx = await p;
    const s = idx?.hashCache?.stats;
    if (!s || typeof s.filesRead !== 'number') return null;
    n += s.filesRead;
  }
  return n;
}

/** CPU profile of the measured rounds only (node --cpu-prof would include start-up and the first analyses). */
function startProfiler(): { stop(file: string): Promise<void> } {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object): Promise<T> =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));
  const started = post('Profiler.enable').then(() => post('Profiler.setSamplingInterval', { interval: 200 })).then(() => post('Profiler.start'));
  return {
    stop: async (file) => {
      await started;
      const { profile } = await post<{ profile: unknown }>('Profiler.stop');
      fs.writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

export async function runEngineBench(opts: { context: string; dockerfile: string; rounds: number; cacheDir: string; cpuProfile?: string }): Promise<EngineBenchResult> {
  const t0 = process.hrtime.bigint();
  const analyzer = new Analyzer({ cacheDir: opts.cacheDir });
  const req = { dockerfile: opts.dockerfile, context: opts.context, builder: 'buildkit' as const };
  const mutable = path.join(opts.context, MUTABLE_REL);
  const rels: string[][] = [];
  let waiter: ((rels: string[]) => void) | null = null;
  const watch = await analyzer.watchContext(opts.context, opts.dockerfile, 'buildkit', (changed) => {
    rels.push(changed);
    waiter?.(changed);
  });
  const setupMs = ms(t0);
  const waitFor = (rel: string, timeoutMs: number): Promise<boolean> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiter = null;
        resolve(false);
      }, timeoutMs);
      waiter = (changed) => {
        if (!changed.includes(rel)) return;
        clearTimeout(timer);
        waiter = null;
        resolve(true);
      };
    });
  const edit = async (text: string): Promise<number | null> => {
    const seen = waitFor(MUTABLE_REL, 3000);
    const w0 = process.hrtime.bigint();
    fs.writeFileSync(mutable, text);
    if (await seen) return ms(w0);
    await analyzer.contextChanged(opts.context, [MUTABLE_REL]);
    return null;
  };

  try {
    let t = process.hrtime.bigint();
    const first = await analyzer.analyze(req);
    const firstAnalyzeMs = ms(t);
    await analyzer.analyze(req); // warm-up (JIT)
    // The first edit after opening (reported apart), then back to the built content: the rounds start warm.
    await edit(`${MUTABLE_TEXT}// first edit ${process.pid} ${Date.now()}\n`);
    const f0 = await filesRead(analyzer);
    t = process.hrtime.bigint();
    await analyzer.analyze(req);
    const firstEditMs = ms(t);
    const f1 = await filesRead(analyzer);
    await edit(MUTABLE_TEXT);
    await analyzer.analyze(req);
    // Under `-r out/bench/phaseProbe.js`: report only the measured rounds.
    (globalThis as { __phaseProbeReset?: () => void }).__phaseProbeReset?.();
    const profiler = opts.cpuProfile ? startProfiler() : null;
    const rounds: EngineRound[] = [];
    let watcherFired = 0;
    let copyAllReason: string | null = null;
    for (let i = 0; i < opts.rounds; i++) {
      // A different content (and size) each round: BuildKit would rebuild COPY . . and everything after it.
      const watcherMs = await edit(`${MUTABLE_TEXT}// round ${i} ${process.pid} ${Date.now()}\n`);
      if (watcherMs !== null) watcherFired++;
      const r0 = await filesRead(analyzer);
      t = process.hrtime.bigint();
      const changed = await analyzer.analyze(req);
      const changedMs = ms(t);
      const r1 = await filesRead(analyzer);
      t = process.hrtime.bigint();
      const unchanged = await analyzer.analyze(req);
      const unchangedMs = ms(t);
      const r2 = await filesRead(analyzer);
      copyAllReason ??= changed.report.steps.find((s) => s.text === 'COPY . .')?.reason ?? null;
      rounds.push({
        changedMs,
        unchangedMs,
        watcherMs,
        filesReadChanged: r0 !== null && r1 !== null ? r1 - r0 : null,
        filesReadUnchanged: r1 !== null && r2 !== null ? r2 - r1 : null,
        changedSteps: steps(changed.report),
        unchangedSteps: steps(unchanged.report),
      });
    }
    if (profiler && opts.cpuProfile) await profiler.stop(opts.cpuProfile);
    await edit(MUTABLE_TEXT);
    const restored = await analyzer.analyze(req);
    return {
      setupMs,
      firstAnalyzeMs,
      firstSteps: steps(first.report),
      firstEditMs,
      firstEditFilesRead: f0 !== null && f1 !== null ? f1 - f0 : null,
      rounds,
      watcherFired,
      restoredSteps: steps(restored.report),
      copyAllReasonAfterEdit: copyAllReason,
      maxRssKiB: process.resourceUsage().maxRSS,
      rssAfterKiB: Math.round(process.memoryUsage().rss / 1024),
    };
  } finally {
    fs.writeFileSync(mutable, MUTABLE_TEXT);
    watch.dispose();
    await analyzer.dispose();
  }
}

function arg(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const context = path.resolve(arg(argv, '--context') ?? '.');
  const dockerfile = path.resolve(arg(argv, '--dockerfile') ?? path.join(context, 'Dockerfile'));
  const rounds = Number(arg(argv, '--rounds') ?? 10);
  const cacheDir = arg(argv, '--cache-dir') ?? fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-enginebench-'));
  const cpuProfile = arg(argv, '--cpu-prof-rounds');
  runEngineBench({ context, dockerfile, rounds, cacheDir, ...(cpuProfile ? { cpuProfile } : {}) }).then(
    (r) => {
      process.stdout.write(`ENGINE_BENCH_RESULT ${JSON.stringify(r)}\n`);
    },
    (e: unknown) => {
      process.stderr.write(`engineBench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
