// The hardening measurements too large for CI (issue 7.2): a build context of 1,000,000 tiny files and a 4 GB
// sparse file, through the same code the CLI and the language server run. Prints one JSON object with times and
// peak RSS. The bounded versions are tests in test/hardening/hostileContext.test.ts.
//
//   node out/bench/hardeningBench.js [--files 1000000] [--sparse-gib 4] [--keep]
// Output: one JSON object per line, each figure as soon as it is measured, with the load average.
//
// Why its first runs never finished: deleting the 1,000,000 generated files takes far longer than making or analysing
// them (on the CI machine's ext4, mounted with `discard`, about 1,100–1,700 unlinks a second: 10–15 minutes, more
// under load), and the sparse-file figure came only after that deletion. The sparse file is now measured first and
// the clean-up is timed on its own, after every figure is out.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Analyzer } from '../server/src/analyze';
import { ContextIndex } from '../server/src/context/contextIndex';
import { closeAllConnections } from '../server/src/docker/daemonClient';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

async function peakDuring<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; peakRssMiB: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  const t0 = performance.now();
  try {
    const value = await fn();
    return { value, ms: Math.round(performance.now() - t0), peakRssMiB: Math.round(Math.max(peak, process.memoryUsage().rss) / 1048576) };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  const files = arg('files', 1_000_000);
  const sparseGiB = arg('sparse-gib', 4);
  const keep = process.argv.includes('--keep');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'll-hardening-bench-'));
  const out: Record<string, unknown> = {};
  // One JSON line per figure as soon as it is measured: on a busy machine a partial run still says something.
  const put = (k: string, v: unknown): void => {
    out[k] = v;
    process.stdout.write(JSON.stringify({ [k]: v }) + '\n');
  };
  put('files', files);
  put('sparseGiB', sparseGiB);
  put('loadAverageAtStart', os.loadavg().map((l) => Math.round(l * 10) / 10));
  try {
    // A sparse file of several GB: its content hash reads every byte (zeros), with bounded memory. Measured first,
    // in a fresh process: the million-file index below leaves the heap (and RSS) large.
    const sparseDir = path.join(root, 'sparse');
    fs.mkdirSync(sparseDir);
    const fd = fs.openSync(path.join(sparseDir, 'disk.img'), 'w');
    fs.ftruncateSync(fd, sparseGiB * 1024 * 1024 * 1024);
    fs.closeSync(fd);
    fs.writeFileSync(path.join(sparseDir, 'Dockerfile'), 'FROM alpine\nCOPY disk.img /\n');
    const idx = await ContextIndex.open(sparseDir, path.join(sparseDir, 'Dockerfile'), { cacheDir: null });
    const rssBefore = Math.round(process.memoryUsage().rss / 1048576);
    const h = await peakDuring(() => idx.contentHash('disk.img'));
    idx.dispose();
    put('sparseHash', { ms: h.ms, rssBeforeMiB: rssBefore, peakRssMiB: h.peakRssMiB, mibPerS: Math.round((sparseGiB * 1024) / (h.ms / 1000)), bytesRead: idx.hashCache.stats.bytesRead });
    fs.rmSync(sparseDir, { recursive: true, force: true });

    // 1,000,000 tiny files in folders of 1,000.
    const many = path.join(root, 'many');
    const gen = performance.now();
    for (let d = 0; d < files / 1000; d++) {
      const dir = path.join(many, `d${d}`);
      fs.mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 1000; f++) fs.writeFileSync(path.join(dir, `f${f}`), String(f));
    }
    fs.writeFileSync(path.join(many, 'Dockerfile'), 'FROM alpine\nCOPY . /app\n');
    put('manyGenerateMs', Math.round(performance.now() - gen));
    const analyzer = new Analyzer({ env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/ll-bench.sock' }, cacheDir: null });
    const a = await peakDuring(() => analyzer.analyze({ dockerfile: path.join(many, 'Dockerfile') }));
    put('manyAnalyse', { ms: a.ms, peakRssMiB: a.peakRssMiB, usPerFile: Math.round((a.ms * 1000) / files), copyBytes: a.value.report.steps.find((s) => s.instruction === 'COPY')?.size?.bytes ?? null });
    await analyzer.dispose();
    const limited = await peakDuring(() => ContextIndex.open(many, path.join(many, 'Dockerfile'), { cacheDir: null, maxEntries: Math.floor(files / 2) }).then(() => 'no error', (e: unknown) => String(e)));
    put('manyLimit', { message: limited.value, ms: limited.ms });
    put('loadAverageAfterMeasuring', os.loadavg().map((l) => Math.round(l * 10) / 10));
  } finally {
    closeAllConnections();
    if (!keep) {
      // Not a product figure: how long the machine takes to delete what the bench made (see the top of this file).
      const t = performance.now();
      fs.rmSync(root, { recursive: true, force: true });
      put('cleanupMs', Math.round(performance.now() - t));
    }
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`hardeningBench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
