// Layer explorer speed (issue 4, "Speed"). On a generated image of ~1 GB in ~50,000 files (built once from the
// bench context with the local busybox base, tagged `layerlens-bench:explorer` and labelled so it is recognisable
// and reused across runs), each round measures, moments apart:
//  (s) `docker save IMAGE > /dev/null`: the floor — the daemon producing the export, nobody reading it;
//  (t) time to the first table (inspect + history) and (f) the complete file analysis (headers-only export read,
//      per-layer cache writes, waste report) in a fresh process with an empty cache; that process's peak RSS;
//  (w) the same process started again with the cache (t)/(f) left: a second open.
// Reported: medians, the ratio f/s per round and its median (target ≤ 1.3), peak RSS (target < 250 MB).
// Run: `npm run bench` or `node out/bench/explorerBench.js [--rounds N]`. Figures: stdout and
// bench/results/explorer-latest.json. Exit 0 whatever the targets say; 1 only when the bench could not run.

import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkDaemon, DOCKER_CLI, ensureBaseImage } from '../test/docker/harness';
import { BASE_IMAGE, ensureContext } from './benchContext';

const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const IMAGE_TAG = 'layerlens-bench:explorer';
const LABEL = 'layerlens.bench=explorer-v1';
const TARGETS = { ratio: 1.3, rssMb: 250 } as const;
const SPEC = { files: 50000, targetBytes: 1000 * 1000 * 1000 };
/** Three layers: the tree, a deletion of two folders (whiteouts), one folder copied back (overwrites nothing). */
const DOCKERFILE = `FROM ${BASE_IMAGE}\nLABEL ${LABEL}\nCOPY src/ /data/src/\nRUN rm -rf /data/src/docs /data/src/tests\nCOPY src/tests /data/src/tests\n`;

function log(s: string): void {
  process.stderr.write(s + '\n');
}

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function run(cmd: string, args: string[], opts: { stdout?: 'ignore' | 'pipe'; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; out: string; err: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'], env: opts.env ?? process.env });
    let out = '';
    let err = '';
    p.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
    p.stderr?.on('data', (c: Buffer) => { err += c.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, out, err, ms: performance.now() - t0 }));
  });
}

async function ensureImage(): Promise<void> {
  const have = await run(DOCKER_CLI, ['image', 'inspect', '--format', '{{index .Config.Labels "layerlens.bench"}}', IMAGE_TAG]);
  if (have.code === 0 && have.out.trim() === LABEL.split('=')[1]) {
    log(`reusing ${IMAGE_TAG}`);
    return;
  }
  await ensureBaseImage();
  const ctx = ensureContext(SPEC, undefined, log);
  const dockerfile = path.join(ctx.dir, 'Dockerfile.explorer');
  fs.writeFileSync(dockerfile, DOCKERFILE);
  log(`building ${IMAGE_TAG} from ${ctx.dir} (${ctx.manifest.files} files, ${(ctx.manifest.bytes / 1e6).toFixed(0)} MB) …`);
  const b = await run(DOCKER_CLI, ['build', '-q', '--network', 'none', '-f', dockerfile, '-t', IMAGE_TAG, ctx.dir], { env: { ...process.env, DOCKER_BUILDKIT: '1' } });
  if (b.code !== 0) throw new Error(`docker build failed: ${b.err.slice(-2000)}`);
  log(`built in ${(b.ms / 1000).toFixed(1)} s`);
}

interface Probe {
  tableMs: number;
  filesMs: number;
  wasteMs: number;
  analysisMs: number;
  treeMs: number;
  cachedAtOpen: boolean;
  exports: number;
  rows: number;
  files: number;
  removableBytes: number;
  efficiency: number;
  maxRssBytes: number;
}

async function probe(cacheDir: string): Promise<Probe> {
  const r = await run(process.execPath, [path.join(__dirname, 'explorerProbe.js'), IMAGE_TAG, cacheDir]);
  if (r.code !== 0) throw new Error(`probe failed: ${r.err}`);
  return JSON.parse(r.out) as Probe;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--rounds');
  const rounds = Math.max(1, i >= 0 ? Number(process.argv[i + 1]) : 3);
  const daemon = await checkDaemon();
  if (!daemon.ok) throw new Error(`no daemon: ${daemon.reason}`);
  await ensureImage();
  const image = JSON.parse((await run(DOCKER_CLI, ['image', 'inspect', IMAGE_TAG])).out)[0] as { Id: string; Size: number; RootFS: { Layers: string[] } };
  const save: number[] = [];
  const cold: Probe[] = [];
  const warm: Probe[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const s = await run(DOCKER_CLI, ['save', IMAGE_TAG], { stdout: 'ignore' });
    if (s.code !== 0) throw new Error(`docker save failed: ${s.err}`);
    save.push(s.ms);
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-explorer-bench-'));
    try {
      const c = await probe(cacheDir);
      if (c.cachedAtOpen || c.exports !== 1) throw new Error('the cold probe did not read the export');
      cold.push(c);
      const w = await probe(cacheDir);
      if (!w.cachedAtOpen || w.exports !== 0) throw new Error('the warm probe was not served from the cache');
      warm.push(w);
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
    ratios.push(cold[r]!.analysisMs / s.ms);
    log(`round ${r + 1}/${rounds}: save ${(s.ms / 1000).toFixed(2)} s; table ${cold[r]!.tableMs.toFixed(0)} ms; analysis ${(cold[r]!.analysisMs / 1000).toFixed(2)} s (ratio ${ratios[r]!.toFixed(2)}); peak RSS ${(cold[r]!.maxRssBytes / 2 ** 20).toFixed(0)} MiB; second open ${(warm[r]!.tableMs + warm[r]!.analysisMs).toFixed(0)} ms`);
  }
  const result = {
    image: { tag: IMAGE_TAG, id: image.Id, bytes: image.Size, layers: image.RootFS.Layers.length, files: cold[0]!.files, rows: cold[0]!.rows },
    rounds,
    saveMs: median(save),
    firstTableMs: median(cold.map((c) => c.tableMs)),
    analysisMs: median(cold.map((c) => c.analysisMs)),
    wasteMs: median(cold.map((c) => c.wasteMs)),
    treeMs: median(cold.map((c) => c.treeMs)),
    ratioMedian: median(ratios),
    ratioOfMedians: median(cold.map((c) => c.analysisMs)) / median(save),
    peakRssMb: Math.max(...cold.map((c) => c.maxRssBytes)) / 2 ** 20,
    secondOpenMs: median(warm.map((w) => w.tableMs + w.analysisMs)),
    warmPeakRssMb: Math.max(...warm.map((w) => w.maxRssBytes)) / 2 ** 20,
    removableBytes: cold[0]!.removableBytes,
    efficiency: cold[0]!.efficiency,
    targets: TARGETS,
    at: new Date().toISOString(),
    host: `${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(1)).join('/')}`,
  };
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, 'explorer-latest.json'), JSON.stringify(result, null, 2) + '\n');
  const mb = (b: number): string => `${(b / 1e6).toFixed(0)} MB`;
  process.stdout.write([
    `Layer explorer on ${IMAGE_TAG}: ${mb(result.image.bytes)}, ${result.image.layers} layers, ${result.image.files} files in the largest layer (${rounds} rounds, medians)`,
    `  first table (inspect + history)        ${result.firstTableMs.toFixed(0)} ms`,
    `  docker save > /dev/null (floor)        ${(result.saveMs / 1000).toFixed(2)} s`,
    `  complete file analysis (cold cache)    ${(result.analysisMs / 1000).toFixed(2)} s  (of which waste ${result.wasteMs.toFixed(0)} ms)`,
    `  ratio analysis / save                  ${result.ratioMedian.toFixed(2)} per-round median, ${result.ratioOfMedians.toFixed(2)} of medians  (target ≤ ${TARGETS.ratio})`,
    `  peak RSS of the analysing process      ${result.peakRssMb.toFixed(0)} MiB  (target < ${TARGETS.rssMb})`,
    `  second open (cache), table + analysis  ${result.secondOpenMs.toFixed(0)} ms, peak RSS ${result.warmPeakRssMb.toFixed(0)} MiB`,
    `  one layer tree (changes, 2000-node cut) ${result.treeMs.toFixed(0)} ms`,
    `  removable ${mb(result.removableBytes)}, dive efficiency ${(result.efficiency * 100).toFixed(2)} %`,
    '',
  ].join('\n'));
}

main().catch((e: unknown) => {
  process.stderr.write(`explorerBench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
