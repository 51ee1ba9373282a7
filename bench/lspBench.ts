// Language-server benchmark over the real stdio transport (`layerlens lsp --stdio`, a plain JSON-RPC client):
//  1. a 300-line Dockerfile with an analysed context: inlay-hint and hover latency (p50/p99 over ≥ 500 requests each);
//  2. keystrokes: re-analyses that must read no context file again (hash counters before/after);
//  3. server RSS after analysing a 20,000-file context.
// Run: `npx tsc -p . && node out/bench/lspBench.js` (uses the local daemon when there is one; works without).

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { BASE_IMAGE, checkDaemon, dockerBuild, ensureBaseImage, uniqueTag } from '../test/docker/harness';
import type { ServerStats } from '../server/src/protocol';
import { StdioClient, type Message } from '../test/server/stdioClient';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'out', 'server', 'src', 'cli.js');
const REQUESTS = Number(process.env['LSP_BENCH_REQUESTS'] ?? 1000);
const BIG_FILES = Number(process.env['LSP_BENCH_FILES'] ?? 20_000);

type Stats = ServerStats;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  return `p50 ${percentile(s, 50).toFixed(2)} ms · p99 ${percentile(s, 99).toFixed(2)} ms · max ${s[s.length - 1]!.toFixed(2)} ms (n=${s.length})`;
}

/**
 * 300 lines: a realistic mix of COPY, RUN (some multi-line), ENV, LABEL, comments and blank lines, in three builder
 * stages and a final one (one stage alone would pass overlay2's limit of 125 layers).
 */
function dockerfile300(base: string, files: number): string {
  const out: string[] = [];
  let i = 0;
  for (let stage = 0; stage < 3; stage++) {
    out.push(`FROM ${base} AS s${stage}`, 'WORKDIR /app', 'COPY package.json ./', 'RUN echo install && \\', '    echo done');
    while (out.length < 96 * (stage + 1)) {
      const k = i++ % 12;
      if (k === 0 || k === 6) out.push(`# step ${i}`);
      else if (k === 1 || k === 4 || k === 7 || k === 10) out.push(`COPY src/f${i % files}.txt /app/src/`);
      else if (k === 2) out.push(`RUN echo ${i} > /tmp/s${i}`);
      else if (k === 3 || k === 9) out.push(`ENV STEP_${i}=${i}`);
      else if (k === 5) out.push(`LABEL step${i}="${i}"`);
      else if (k === 8) out.push(`RUN echo multi ${i} \\`, `    && echo line ${i} > /tmp/m${i}`);
      else out.push('');
    }
  }
  out.push(`FROM ${base}`, 'WORKDIR /app');
  for (let stage = 0; stage < 3; stage++) out.push(`COPY --from=s${stage} /app/src /s${stage}/`);
  while (out.length < 295) out.push(`ENV FINAL_${out.length}=1`);
  out.push('COPY . .', 'RUN ls /app > /listing', 'CMD ["cat", "/listing"]', '# notes');
  return out.join('\n') + '\n';
}

function writeContext(dir: string, files: number, perDir: number): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"bench"}\n');
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, 'src', perDir > 0 ? `d${Math.floor(i / perDir)}` : '');
    if (i % (perDir || files) === 0) fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(perDir > 0 ? sub : path.join(dir, 'src'), `f${i}.txt`), `file ${i}\n`.repeat(1 + (i % 40)));
  }
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-lspbench-'));
  try {
    await run(work);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function run(work: string): Promise<void> {
  const small = path.join(work, 'small');
  const big = path.join(work, 'big');
  // With a daemon, both images are built first (BuildKit), so that analyses do the real work: match history,
  // hash COPY sources and compare them with the layers. Without one, predictions are offline ('?').
  const daemon = await checkDaemon();
  const base = daemon.ok ? (await ensureBaseImage(), BASE_IMAGE) : 'busybox:latest';
  writeContext(small, 60, 0);
  const text = dockerfile300(base, 60);
  fs.writeFileSync(path.join(small, 'Dockerfile'), text);
  let t0 = Date.now();
  writeContext(big, BIG_FILES, 500);
  fs.writeFileSync(path.join(big, 'Dockerfile'), `FROM ${base}\nWORKDIR /app\nCOPY package.json ./\nRUN echo install\nCOPY . .\nRUN ls -R > /l\n# notes\n`);
  console.log(`generated ${BIG_FILES} files in ${Date.now() - t0} ms`);
  if (daemon.ok) {
    t0 = Date.now();
    await dockerBuild({ dir: small, tag: uniqueTag('lspbench'), builder: 'buildkit' });
    await dockerBuild({ dir: big, tag: uniqueTag('lspbench'), builder: 'buildkit' });
    console.log(`built both images (BuildKit) in ${Date.now() - t0} ms`);
  } else {
    console.log(`no daemon (${daemon.reason}): predictions will be offline`);
  }

  const c = new StdioClient(process.execPath, [CLI, 'lsp', '--stdio'], { ...process.env, LAYERLENS_CACHE_DIR: path.join(work, 'cache') });
  const analysed = (uri: string, from: number, version?: number): Promise<Message> =>
    c.waitFor((m) => m.method === 'layerLens/analysisChanged' && (m.params as { uri: string; version: number }).uri === uri &&
      (version === undefined || (m.params as { version: number }).version === version), 600_000, from);
  try {
    await c.request('initialize', { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions: { layerLens: { builder: 'buildkit' } } });
    c.notify('initialized', {});
    const status = await c.waitFor((m) => m.method === 'layerLens/daemonStatus');
    const st = status.params as { state: string; host: string; version: string | null; builder: string };
    console.log(`daemon: ${st.state} ${st.host} ${st.version ?? ''}; predicting for ${st.builder}`);

    // 1. the 300-line Dockerfile
    const uri = pathToFileURL(path.join(small, 'Dockerfile')).toString();
    let from = c.received.length;
    let t = Date.now();
    c.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'dockerfile', version: 1, text } });
    await analysed(uri, from, 1);
    console.log(`300-line Dockerfile (${text.split('\n').length - 1} lines): first analysis ${Date.now() - t} ms`);
    const range = { start: { line: 0, character: 0 }, end: { line: 400, character: 0 } };
    const firstLines = text.split('\n').map((l, i) => [l, i] as const).filter(([l]) => /^(FROM|RUN|COPY|ENV|WORKDIR|CMD)/.test(l)).map(([, i]) => i);
    for (let i = 0; i < 50; i++) await c.request('textDocument/inlayHint', { textDocument: { uri }, range }); // warm-up
    const beforeLoops = await c.request<Stats>('layerLens/stats');
    const hintMs: number[] = [];
    let hintCount = 0;
    const words = (await c.request<{ label: string }[]>('textDocument/inlayHint', { textDocument: { uri }, range })).map((h) => /cached|rebuilds|\?|skipped/.exec(h.label)?.[0] ?? h.label);
    console.log(`  hints: ${['cached', 'rebuilds', '?'].map((w) => `${words.filter((x) => x === w).length} ${w}`).join(', ')}`);
    for (let i = 0; i < REQUESTS; i++) {
      const s = process.hrtime.bigint();
      const hints = await c.request<unknown[]>('textDocument/inlayHint', { textDocument: { uri }, range });
      hintMs.push(Number(process.hrtime.bigint() - s) / 1e6);
      hintCount = hints.length;
    }
    const hoverMs: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const line = firstLines[i % firstLines.length]!;
      const s = process.hrtime.bigint();
      await c.request('textDocument/hover', { textDocument: { uri }, position: { line, character: 1 } });
      hoverMs.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    const afterLoops = await c.request<Stats>('layerLens/stats');
    console.log(`inlay hints (whole file, ${hintCount} hints): ${summary(hintMs)}`);
    console.log(`hover:                          ${summary(hoverMs)}`);
    console.log(
      `  meanwhile: ${afterLoops.analyses - beforeLoops.analyses} background re-analyses caused by ` +
        `${afterLoops.daemonEvents - beforeLoops.daemonEvents} daemon events (other builds on this daemon)`,
    );

    // 2. keystrokes
    const before = await c.request<Stats>('layerLens/stats');
    from = c.received.length;
    let version = 1;
    t = Date.now();
    for (let i = 0; i < 30; i++) {
      version++;
      c.notify('textDocument/didChange', {
        textDocument: { uri, version },
        // Typing into a comment: the prediction must be recomputed, the context must not be re-read.
        contentChanges: [{ range: { start: { line: 298, character: 7 }, end: { line: 298, character: 7 } }, text: 'x' }],
      });
    }
    await analysed(uri, from, version);
    const after = await c.request<Stats>('layerLens/stats');
    console.log(
      `30 keystrokes: ${after.analyses - before.analyses} re-analysis(es) in ${Date.now() - t} ms; context files hashed during them: ` +
        `${after.contextFilesHashed - before.contextFilesHashed} (${before.contextFilesHashed} at the first analysis)`,
    );

    // 3. the 20,000-file context
    const bigUri = pathToFileURL(path.join(big, 'Dockerfile')).toString();
    const rssBefore = (await c.request<Stats>('layerLens/stats')).rssBytes;
    from = c.received.length;
    t = Date.now();
    c.notify('textDocument/didOpen', { textDocument: { uri: bigUri, languageId: 'dockerfile', version: 1, text: fs.readFileSync(path.join(big, 'Dockerfile'), 'utf8') } });
    await analysed(bigUri, from, 1);
    const bigStats = await c.request<Stats>('layerLens/stats');
    console.log(
      `${BIG_FILES}-file context: analysed in ${Date.now() - t} ms, ${bigStats.contextFilesHashed - after.contextFilesHashed} files hashed; ` +
        `server RSS ${(rssBefore / 1048576).toFixed(0)} MiB before, ${(bigStats.rssBytes / 1048576).toFixed(0)} MiB after`,
    );
    const bigHint = await c.request<{ label: string; position: { line: number } }[]>('textDocument/inlayHint', { textDocument: { uri: bigUri }, range });
    console.log(`  its COPY . . hint: ${bigHint.find((h) => h.position.line === 4)?.label ?? '(none)'}`);
    // Keystrokes in the big Dockerfile: the 20,000 hashes stay cached, the watcher keeps the index current.
    from = c.received.length;
    t = Date.now();
    let bigVersion = 1;
    for (let i = 0; i < 30; i++) {
      bigVersion++;
      c.notify('textDocument/didChange', {
        textDocument: { uri: bigUri, version: bigVersion },
        contentChanges: [{ range: { start: { line: 6, character: 7 }, end: { line: 6, character: 7 } }, text: 'x' }],
      });
    }
    await analysed(bigUri, from, bigVersion);
    const bigAfter = await c.request<Stats>('layerLens/stats');
    console.log(`  30 keystrokes in it: re-analysed in ${Date.now() - t} ms, context files hashed: ${bigAfter.contextFilesHashed - bigStats.contextFilesHashed}`);

    await c.request('shutdown');
    c.notify('exit');
    await c.exited;
    console.log(JSON.stringify({
      hints: { p50: percentile([...hintMs].sort((a, b) => a - b), 50), p99: percentile([...hintMs].sort((a, b) => a - b), 99) },
      hover: { p50: percentile([...hoverMs].sort((a, b) => a - b), 50), p99: percentile([...hoverMs].sort((a, b) => a - b), 99) },
      keystrokeFilesHashed: after.contextFilesHashed - before.contextFilesHashed,
      bigContextFilesHashed: bigStats.contextFilesHashed - after.contextFilesHashed,
      rssAfterBigContextMiB: Math.round(bigStats.rssBytes / 1048576),
    }));
  } finally {
    c.kill();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
