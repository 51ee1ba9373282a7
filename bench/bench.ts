// Layer Lens speed benchmark (issue 2, "Speed"). One run measures, on a generated 20,000-file / ~500 MB context:
//  (a) `layerlens analyze --json` in a fresh process with an empty LAYERLENS_CACHE_DIR (page cache warm);
//  (b) the same with the cache directory a previous run left (persisted hash cache, nothing changed);
//  (c) analyze() inside a running engine after one file changed (watcher applied it), and with no change;
//  (d) a fully cached BuildKit build of the same context by the same daemon;
//  (e) a parallel sha256 pass over the same files (the hashing limit);
//  (a′) informational: like (a), but only what (a) learnt of the context is missing (its hash cache and verified
//       store; the layer file lists and image details it cached are kept) — separates "ask/export from the daemon"
//       from "hash the context";
//  (x) informational, after the rounds: `docker save` of the built image into /dev/null, three times — the export
//       (a) cannot avoid on a daemon without a per-layer API (Docker 20.10), i.e. a floor under (a).
// a, b, d and e are measured in rounds (d, e, a, b, a′ per round) so each ratio pairs figures taken moments apart on
// a noisy machine; medians of the per-round ratios are reported next to the ratio of medians. The daemon is shared:
// someone may prune BuildKit's cache mid-run, so each round starts with (d), which must be fully cached (else it is
// rebuilt and retried), and a round whose analyses did not predict all-hit is set aside and replaced.
// Run: `npm run bench` (= build + bundle + `node out/bench/bench.js`); (a) and (b) run the bundle dist/cli.js. Options:
//   --rounds N         rounds of d/e/a/b/a′ (≥ 5, default 5)
//   --engine-rounds N  edits in (c) (default 10)
//   --keep-ctimes      do not refresh ctimes: (a) may then take the engine's "nothing changed since the layer was
//                      made" shortcut and hash nothing (see refreshCtimes in benchContext.ts)
//   --profile          afterwards: one (a), one (b) and the engine's rounds under the CPU profiler and the wall-time
//                      probe (bench/phaseProbe.ts), summarised per function; profiles in bench/results/profiles/
//   --files N, --mb N  another context size (the targets are defined for the default 20,000 / 500)
// Figures: stdout (table) and bench/results/latest.json. The engine is run from a private copy of out/ taken at start.
// Exit 0 whatever the targets say; 1 only when the bench itself could not run.

import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BASE_IMAGE, checkDaemon, DOCKER_CLI, ensureBaseImage, parseBuildKitOutput } from '../test/docker/harness';
import { ensureContext, listContextFiles, refreshCtimes, restoreFixedFiles, type BenchContext } from './benchContext';
import { formatSummary } from './cpuProfile';
import type { EngineBenchResult } from './engineBench';
import { Sha256Pool } from './sha256Pass';

const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const IMAGE_TAG = 'layerlens-bench:ctx';
const TIME = '/usr/bin/time';

const TARGETS = { aOverE: 1.5, bOverD: 0.5, cMs: 50 } as const;

// ---------------------------------------------------------------------------------------------------------------
// small helpers

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function log(s: string): void {
  process.stderr.write(s + '\n');
}

interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
  readonly values: number[];
}

function stat(values: readonly number[]): Stat {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0, values: [] };
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length, values: [...values] };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function fmtMs(x: number): string {
  return Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : '—';
}

interface Proc {
  readonly ms: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** Newest mtime of the files under `dir` whose names end with `suffix`. */
function newestMtime(dir: string, suffix: string): number {
  let newest = 0;
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(suffix)) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  walk(dir);
  return newest;
}

interface Engine {
  /** What the (a)/(b) processes run: the snapshot's bin/layerlens.js (or LAYERLENS_BENCH_CLI). */
  readonly cli: string;
  /** The snapshot's out/ tree (engineBench.js, phaseProbe.js, server/src/cli.js). */
  readonly out: string;
  readonly note: string;
}

/**
 * A private copy of the engine, taken once: others rebuild out/ and dist/ while the bench runs, and every round must
 * measure the same code. (a) and (b) run what ships: the esbuild bundle dist/cli.js through bin/layerlens.js, in a
 * package folder of its own without out/ (bin/layerlens.js prefers out/ in a checkout), as `npm install -g` or the
 * .vsix would run it. `npm run bench` bundles first; a bundle older than the sources is refused rather than measured.
 * The compiled out/ tree is copied beside it for (c) and for the profiles (frames named by source file).
 */
function snapshotEngine(into: string): Engine {
  const compiled = path.join(ROOT, 'out', 'server', 'src', 'cli.js');
  if (!fs.existsSync(compiled)) throw new Error('out/server/src/cli.js missing: run `npm run build` first');
  const dist = path.join(ROOT, 'dist', 'cli.js');
  const sourcesAt = newestMtime(path.join(ROOT, 'server', 'src'), '.ts');
  if (!fs.existsSync(dist)) throw new Error('dist/cli.js missing: run `npm run bundle` first (`npm run bench` does)');
  if (fs.statSync(dist).mtimeMs + 1000 < sourcesAt) throw new Error('dist/cli.js is older than server/src: run `npm run bundle` first (`npm run bench` does)');
  const outServer = path.join(ROOT, 'out', 'server');
  const builtAt = newestMtime(outServer, '.js');
  fs.cpSync(outServer, path.join(into, 'out', 'server'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'out', 'bench'), path.join(into, 'out', 'bench'), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(into, 'node_modules'));
  const pkg = path.join(into, 'package');
  fs.cpSync(path.join(ROOT, 'bin'), path.join(pkg, 'bin'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  // The whole dist/ as a package ships it: the CLI bundle loads dist/hashWorker.js and dist/proto/ beside itself.
  fs.cpSync(path.join(ROOT, 'dist'), path.join(pkg, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') });
  const stamp = `bundle of ${new Date(fs.statSync(dist).mtimeMs).toISOString()}; out/ built ${new Date(builtAt).toISOString()}`;
  const override = process.env['LAYERLENS_BENCH_CLI'];
  if (override) return { cli: path.resolve(override), out: path.join(into, 'out'), note: `LAYERLENS_BENCH_CLI=${override}; ${stamp}` };
  return { cli: path.join(pkg, 'bin', 'layerlens.js'), out: path.join(into, 'out'), note: `bin/layerlens.js → dist/cli.js (bundle, no out/ beside it); ${stamp}` };
}

// ---------------------------------------------------------------------------------------------------------------
// the measured operations

interface AnalyzeRun {
  readonly ms: number;
  readonly maxRssKiB: number | null;
  readonly cpuMs: number | null;
  /** Layer steps' cache status, e.g. "FROM:hit RUN:hit ...". */
  readonly steps: string;
  readonly allHit: boolean;
  /** phaseProbe's table, when run under it. */
  readonly probe?: string;
}

function parseTimeV(text: string): { maxRssKiB: number | null; cpuMs: number | null } {
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
  const user = /User time \(seconds\): ([\d.]+)/.exec(text);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(text);
  return {
    maxRssKiB: rss ? Number(rss[1]) : null,
    cpuMs: user && sys ? Math.round((Number(user[1]) + Number(sys[1])) * 1000) : null,
  };
}

async function analyzeOnce(entry: string, ctx: BenchContext, cacheDir: string, work: string, nodeFlags: readonly string[] = []): Promise<AnalyzeRun> {
  const args = [...nodeFlags, entry, 'analyze', ctx.dockerfile, '--context', ctx.dir, '--builder', 'buildkit', '--json'];
  const env = { ...process.env, LAYERLENS_CACHE_DIR: cacheDir };
  const useTime = fs.existsSync(TIME);
  const timeFile = path.join(work, `time-${process.hrtime.bigint()}.txt`);
  const r = useTime ? await run(TIME, ['-v', '-o', timeFile, process.execPath, ...args], { env }) : await run(process.execPath, args, { env });
  if (r.code !== 0) throw new Error(`layerlens analyze exited ${r.code}: ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  const report = JSON.parse(r.stdout) as { daemon: { reachable: boolean; error: string | null }; steps: Array<{ instruction: string; cache: string; createsLayer: boolean; reason: string }> };
  if (!report.daemon.reachable) throw new Error(`analyze could not reach the daemon: ${report.daemon.error}`);
  const layer = report.steps.filter((s) => s.createsLayer || s.instruction === 'FROM');
  const tv = useTime ? parseTimeV(fs.readFileSync(timeFile, 'utf8')) : { maxRssKiB: null, cpuMs: null };
  if (useTime) fs.rmSync(timeFile, { force: true });
  return {
    ms: r.ms,
    ...tv,
    steps: layer.map((s) => `${s.instruction}:${s.cache}`).join(' '),
    allHit: layer.every((s) => s.cache === 'hit'),
    ...(r.stderr.includes('phaseProbe:') ? { probe: r.stderr.slice(r.stderr.indexOf('phaseProbe:')) } : {}),
  };
}

/** `docker save` of the bench image, discarded: what exporting the image costs the daemon and the socket alone. */
async function exportOnce(): Promise<number> {
  const r = await run('/bin/sh', ['-c', `"${DOCKER_CLI}" save ${IMAGE_TAG} > /dev/null`], { timeoutMs: 900_000 });
  if (r.code !== 0) throw new Error(`docker save exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r.ms;
}

interface BuildRun {
  readonly ms: number;
  readonly allCached: boolean;
  readonly summary: string;
}

async function dockerBuildOnce(ctx: BenchContext): Promise<BuildRun> {
  const env = { ...process.env, DOCKER_BUILDKIT: '1' };
  const r = await run(DOCKER_CLI, ['build', '--network', 'none', '-t', IMAGE_TAG, '.'], { cwd: ctx.dir, env, timeoutMs: 900_000 });
  if (r.code !== 0) throw new Error(`docker build exited ${r.code}: ${(r.stdout + r.stderr).trim().split('\n').slice(-8).join(' | ')}`);
  const steps = parseBuildKitOutput(r.stdout + '\n' + r.stderr).steps.filter((s) => !s.isFrom);
  return {
    ms: r.ms,
    allCached: steps.length > 0 && steps.every((s) => s.cached),
    summary: steps.map((s) => `${s.instruction}:${s.cached ? 'CACHED' : 'ran'}`).join(' '),
  };
}

/**
 * Build until BuildKit reports every step cached (a pruned cache is rebuilt first). After a real rebuild the layers
 * are newer than the context's ctimes again: refreshCtimes keeps (a) on the path that hashes (see benchContext.ts).
 */
async function ensureCachedBuild(ctx: BenchContext, label: string, keepCtimes: boolean): Promise<BuildRun> {
  let d = await dockerBuildOnce(ctx);
  for (let retry = 0; !d.allCached && retry < 3; retry++) {
    log(`  ${label}: the build was not fully cached (${d.summary}; someone pruned?); building again`);
    if (!keepCtimes) refreshCtimes(ctx.dir);
    d = await dockerBuildOnce(ctx);
  }
  return d;
}

async function engineRun(
  engine: Engine, ctx: BenchContext, rounds: number, cacheDir: string, nodeFlags: readonly string[] = [], extra: readonly string[] = [],
): Promise<EngineBenchResult & { probe?: string }> {
  const script = path.join(engine.out, 'bench', 'engineBench.js');
  const args = [...nodeFlags, script, '--context', ctx.dir, '--dockerfile', ctx.dockerfile, '--rounds', String(rounds), '--cache-dir', cacheDir, ...extra];
  const r = await run(process.execPath, args, { timeoutMs: 600_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('ENGINE_BENCH_RESULT '));
  if (r.code !== 0 || !line) throw new Error(`engineBench failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-8).join(' | ')}`);
  const res = JSON.parse(line.slice('ENGINE_BENCH_RESULT '.length)) as EngineBenchResult;
  return r.stderr.includes('phaseProbe:') ? { ...res, probe: r.stderr.slice(r.stderr.indexOf('phaseProbe:')) } : res;
}

// ---------------------------------------------------------------------------------------------------------------

interface Round {
  readonly e: number;
  readonly a: AnalyzeRun;
  readonly b: AnalyzeRun;
  readonly a2: AnalyzeRun;
  readonly d: BuildRun;
}

async function main(): Promise<void> {
  const rounds = Math.max(5, Number(argValue('--rounds') ?? process.env['BENCH_ROUNDS'] ?? 5));
  const engineRounds = Math.max(5, Number(argValue('--engine-rounds') ?? 10));
  const files = Number(argValue('--files') ?? 20_000);
  const targetBytes = Number(argValue('--mb') ?? 500) * 1e6;
  const profile = process.argv.includes('--profile');
  const keepCtimes = process.argv.includes('--keep-ctimes');
  const started = Date.now();

  const daemon = await checkDaemon();
  if (!daemon.ok) throw new Error(`${daemon.reason ?? 'no Docker daemon'} — (d) needs it; start it with: bash scripts/ensure-docker.sh`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-bench-run-'));
  const engine = snapshotEngine(path.join(work, 'engine'));
  const ctx = ensureContext({ files, targetBytes }, undefined, log);
  const m = ctx.manifest;
  log(`context: ${ctx.dir} (${m.files} files + 3, ${(m.bytes / 1e6).toFixed(1)} MB, ${m.dirs} folders, ${m.large} files ≥ 512 KiB, largest ${(m.largestBytes / 1e6).toFixed(1)} MB)${ctx.reused ? ', reused' : `, generated in ${(m.generateMs / 1000).toFixed(1)} s`}`);
  log(`analyze runs: node ${engine.cli} (${engine.note})`);
  await ensureBaseImage(BASE_IMAGE);
  const images = (await run(DOCKER_CLI, ['images', '-a', '-q'])).stdout.split('\n').filter(Boolean).length;

  let seq = 0;
  const freshCacheDir = (): string => {
    const d = path.join(work, `cache-${seq++}`);
    fs.mkdirSync(d);
    return d;
  };
  let pool: Sha256Pool | null = null;
  try {
    log(`first build of ${IMAGE_TAG} (not timed) …`);
    const first = await dockerBuildOnce(ctx);
    log(`  ${(first.ms / 1000).toFixed(1)} s: ${first.summary}`);
    if (!keepCtimes) log(`ctimes refreshed on ${refreshCtimes(ctx.dir)} entries (mtime/content/mode unchanged), so (a) hashes the context`);

    const list = listContextFiles(ctx.dir);
    pool = await Sha256Pool.start(list.files);
    log(`sha256 pass: ${list.files.length} files, ${(list.bytes / 1e6).toFixed(1)} MB, ${pool.threads} worker threads`);

    // Warm-up: page cache (e reads every file), the daemon's side of an export, the cached build path.
    log('warm-up …');
    await pool.pass();
    const wa = await analyzeOnce(engine.cli, ctx, freshCacheDir(), work);
    const wd = await ensureCachedBuild(ctx, 'warm-up', keepCtimes);
    log(`  e ${fmtMs((await pool.pass()).ms)} ms · a ${fmtMs(wa.ms)} ms [${wa.steps}] · d ${fmtMs(wd.ms)} ms [${wd.summary}]`);

    const results: Round[] = [];
    const setAside: Round[] = [];
    let lastCacheDir = '';
    for (let i = 0; results.length < rounds && i < rounds + 3; i++) {
      // d first: it proves the build cache is intact right before the analyses that predict it.
      const d = await ensureCachedBuild(ctx, `round ${i + 1}`, keepCtimes);
      const e = (await pool.pass()).ms;
      const dir = freshCacheDir();
      const a = await analyzeOnce(engine.cli, ctx, dir, work);
      const b = await analyzeOnce(engine.cli, ctx, dir, work);
      // a′: what a left in its cache dir (layer file lists, image details) except what it knows of the context: the
      // hash cache, and the verified store (which remembers that the context matched the layer, and would spare a′
      // every hash).
      const dir2 = freshCacheDir();
      fs.cpSync(dir, dir2, {
        recursive: true,
        filter: (src) => {
          const rel = path.relative(dir, src);
          return !/^context-.*\.bin$/.test(rel) && rel !== 'verified' && !rel.startsWith(`verified${path.sep}`);
        },
      });
      const a2 = await analyzeOnce(engine.cli, ctx, dir2, work);
      lastCacheDir = dir;
      const r: Round = { e, a, b, a2, d };
      const ok = d.allCached && a.allHit && b.allHit && a2.allHit;
      (ok ? results : setAside).push(r);
      log(`  round ${i + 1}: d ${fmtMs(d.ms)} · e ${fmtMs(e)} · a ${fmtMs(a.ms)} · b ${fmtMs(b.ms)} · a′ ${fmtMs(a2.ms)} ms` +
        (ok ? '' : ` — set aside (build ${d.summary}; predicted a [${a.steps}] b [${b.steps}] a′ [${a2.steps}])`));
    }
    if (results.length === 0) throw new Error('no round had a fully cached build predicted all-hit (is someone pruning the build cache continuously?)');
    await pool.close();
    pool = null;

    log('(x) docker save of the image, 3 times …');
    const exportMs: number[] = [];
    for (let i = 0; i < 3; i++) exportMs.push(await exportOnce());

    log(`(c) engine: ${engineRounds} edits …`);
    await ensureCachedBuild(ctx, '(c)', keepCtimes);
    restoreFixedFiles(ctx.dir);
    const c = await engineRun(engine, ctx, engineRounds, lastCacheDir);
    restoreFixedFiles(ctx.dir);

    // ---- figures
    const X = stat(exportMs);
    const E = stat(results.map((r) => r.e));
    const A = stat(results.map((r) => r.a.ms));
    const B = stat(results.map((r) => r.b.ms));
    const A2 = stat(results.map((r) => r.a2.ms));
    const D = stat(results.map((r) => r.d.ms));
    const aOverE = stat(results.map((r) => r.a.ms / r.e));
    const a2OverE = stat(results.map((r) => r.a2.ms / r.e));
    const bOverD = stat(results.map((r) => r.b.ms / r.d.ms));
    const C = stat(c.rounds.map((r) => r.changedMs));
    const C0 = stat(c.rounds.map((r) => r.unchangedMs));
    const W = stat(c.rounds.map((r) => r.watcherMs).filter((x): x is number => x !== null));
    const rssA = stat(results.map((r) => r.a.maxRssKiB ?? NaN).filter(Number.isFinite));
    const rssB = stat(results.map((r) => r.b.maxRssKiB ?? NaN).filter(Number.isFinite));
    const cpuA = stat(results.map((r) => r.a.cpuMs ?? NaN).filter(Number.isFinite));
    const cpuB = stat(results.map((r) => r.b.cpuMs ?? NaN).filter(Number.isFinite));
    const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
    const pass = { aOverE: aOverE.median <= TARGETS.aOverE, bOverD: bOverD.median <= TARGETS.bOverD, cMs: C.median <= TARGETS.cMs };

    const row = (label: string, s: Stat, extra = ''): string =>
      `  ${label.padEnd(46)}${fmtMs(s.median).padStart(9)}${fmtMs(s.min).padStart(9)}${fmtMs(s.max).padStart(9)}  ${extra}`;
    const mib = (k: number): string => (Number.isFinite(k) ? `${(k / 1024).toFixed(0)} MiB` : '—');
    const out: string[] = [
      '',
      `Layer Lens benchmark — ${m.files} files, ${(m.bytes / 1e6).toFixed(0)} MB; ${os.availableParallelism()} cores; ${results.length} rounds` +
        `${setAside.length ? ` (+${setAside.length} set aside: cache pruned meanwhile)` : ''}; ` +
        `daemon ${daemon.serverVersion} with ${images} images; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
      `  ${''.padEnd(46)}${'median'.padStart(9)}${'min'.padStart(9)}${'max'.padStart(9)}  (ms)`,
      row('(a) analyze, fresh process, empty cache dir', A, `peak RSS ${mib(rssA.median)}, CPU ${fmtMs(cpuA.median)} ms`),
      row('(b) analyze, fresh process, persisted cache', B, `peak RSS ${mib(rssB.median)}, CPU ${fmtMs(cpuB.median)} ms`),
      row('(a′) same, the context not known (layers are)', A2, `peak RSS ${mib(stat(results.map((r) => r.a2.maxRssKiB ?? NaN).filter(Number.isFinite)).median)} (informational)`),
      row('(c) engine re-analysis after 1 file changed', C, `files read: ${c.rounds.map((r) => r.filesReadChanged ?? '?').join(',')}`),
      row('    engine re-analysis, no change', C0, `files read: ${c.rounds.map((r) => r.filesReadUnchanged ?? '?').join(',')}`),
      row('    (watcher: write → onChange, not in c)', W, `fired ${c.watcherFired}/${c.rounds.length}`),
      `  ${'    first edit after opening (not in c)'.padEnd(46)}${fmtMs(c.firstEditMs).padStart(9)}${''.padStart(18)}  files read: ${c.firstEditFilesRead ?? '?'}`,
      row('(d) docker build, BuildKit, fully cached', D),
      row(`(e) parallel sha256, ${os.availableParallelism()} threads`, E, `${(m.bytes / 1e6 / (E.median / 1000)).toFixed(0)} MB/s`),
      row('(x) docker save of the image (a floor for a)', X, `x/e ${(X.median / E.median).toFixed(1)} (ratio of medians; after the rounds)`),
      '',
      `  a/e  ${aOverE.median.toFixed(2)} (per-round median; min ${aOverE.min.toFixed(2)}, max ${aOverE.max.toFixed(2)}; ratio of medians ${(A.median / E.median).toFixed(2)})  target ≤ ${TARGETS.aOverE}  ${verdict(pass.aOverE)}`,
      `  a′/e ${a2OverE.median.toFixed(2)} (per-round median; informational)`,
      `  b/d  ${bOverD.median.toFixed(2)} (per-round median; min ${bOverD.min.toFixed(2)}, max ${bOverD.max.toFixed(2)}; ratio of medians ${(B.median / D.median).toFixed(2)})  target ≤ ${TARGETS.bOverD}  ${verdict(pass.bOverD)}`,
      `  c    ${fmtMs(C.median)} ms  target ≤ ${TARGETS.cMs} ms  ${verdict(pass.cMs)}`,
      `  engine (c) process: peak RSS ${mib(c.maxRssKiB)}, RSS after ${mib(c.rssAfterKiB)}`,
      '',
      `  predictions (b, last round): ${results[results.length - 1]!.b.steps}; engine before the edits: ${c.firstSteps}; ` +
        `after an edit: ${c.rounds[0]?.changedSteps ?? '—'} — ${c.copyAllReasonAfterEdit ?? ''}`,
    ];
    process.stdout.write(out.join('\n') + '\n');
    if (!/^(\S+:hit ?)+$/.test(c.firstSteps)) {
      process.stdout.write('  NOTE: the engine did not start from an all-hit prediction (cache pruned during (c)?): c measured another path.\n');
    }

    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const json = {
      when: new Date().toISOString(),
      machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model ?? null, memGiB: round1(os.totalmem() / 2 ** 30), loadavg: os.loadavg(), node: process.version },
      daemon: { version: daemon.serverVersion ?? null, images },
      cli: engine.note,
      context: { dir: ctx.dir, ...m },
      rounds,
      roundsSetAside: setAside.length,
      ms: {
        a: A, b: B, aLayerListsCached: A2, d: D, e: E, exportFloor: X,
        c: C, cUnchanged: C0, watcher: W,
      },
      ratios: { aOverE, bOverD, aLayerListsCachedOverE: a2OverE, aOverEOfMedians: A.median / E.median, bOverDOfMedians: B.median / D.median },
      rssKiB: { a: rssA, b: rssB, engine: c.maxRssKiB },
      cpuMs: { a: cpuA, b: cpuB },
      ctimesRefreshed: !keepCtimes,
      targets: TARGETS,
      pass,
      perRound: results,
      setAside,
      engine: c,
      totalSeconds: Math.round((Date.now() - started) / 1000),
    };
    const file = path.join(RESULTS_DIR, 'latest.json');
    fs.writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
    process.stdout.write(`  figures: ${path.relative(process.cwd(), file)} (whole run ${json.totalSeconds} s)\n`);

    if (profile) await profileRuns(engine, ctx, freshCacheDir, engineRounds, work);
    else if (!pass.aOverE || !pass.bOverD || !pass.cMs) process.stdout.write('  (a target is missed: `node out/bench/bench.js --profile` adds CPU profiles of a, b and c)\n');
  } finally {
    if (pool) await pool.close();
    restoreFixedFiles(ctx.dir);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * One (a), one (b) and the engine run under --cpu-prof and the wall-time probe (bench/phaseProbe.ts); profiles kept
 * in bench/results/profiles/ (open them in Chrome DevTools, or `node out/bench/cpuProfile.js FILE [--callers FN]`).
 */
async function profileRuns(engine: Engine, ctx: BenchContext, freshCacheDir: () => string, engineRounds: number, work: string): Promise<void> {
  const dir = path.join(RESULTS_DIR, 'profiles');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const probe = path.join(engine.out, 'bench', 'phaseProbe.js');
  const flags = (name: string): string[] => ['-r', probe, '--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${name}.cpuprofile`, '--cpu-prof-interval', '500'];
  // The compiled sources (not a bundle) so that frames name server/src files.
  const use = path.join(engine.out, 'server', 'src', 'cli.js');
  await ensureCachedBuild(ctx, 'profile', false);
  const cache = freshCacheDir();
  const a = await analyzeOnce(use, ctx, cache, work, flags('a'));
  const b = await analyzeOnce(use, ctx, cache, work, flags('b'));
  await ensureCachedBuild(ctx, 'profile (c)', false);
  const cFile = path.join(dir, 'c.cpuprofile');
  const c = await engineRun(engine, ctx, engineRounds, cache, ['-r', probe], ['--cpu-prof-rounds', cFile]);
  restoreFixedFiles(ctx.dir);
  process.stdout.write(`\nProfiles (${path.relative(process.cwd(), dir)}); wall under the profiler: a ${fmtMs(a.ms)} ms [${a.steps}], b ${fmtMs(b.ms)} ms [${b.steps}], ` +
    `c ${c.rounds.map((r) => fmtMs(r.changedMs)).join('/')} ms [${c.rounds[0]?.changedSteps ?? ''}]\n`);
  for (const [n, text] of [['a', a.probe], ['b', b.probe], ['c (measured rounds only)', c.probe]] as const) {
    process.stdout.write(`\n(${n}) wall time per engine function:\n${text ?? '(no probe output)\n'}`);
  }
  const root = path.dirname(engine.out);
  for (const n of ['a', 'b']) process.stdout.write('\n' + formatSummary(`(${n}) CPU`, path.join(dir, `${n}.cpuprofile`), 18, root) + '\n');
  process.stdout.write('\n' + formatSummary(`(c) CPU, measured rounds only (${c.rounds.length} edits, ${2 * c.rounds.length} analyses)`, cFile, 18, root) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
