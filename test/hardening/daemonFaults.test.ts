// Issue 7.3, daemon faults, through the language server (the status the status bar shows, the analyses) and the CLI:
// a daemon absent at start that appears later, one that stalls, one that is slow, malformed or truncated JSON, an
// old API version (a fake daemon on a unix socket), and a real dockerd of our own killed mid-analysis and restarted.
// Each: a clear state, no wait beyond the configured time-out, and no socket or process left behind (counted).

import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import type * as http from 'http';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { Analyzer } from '../../server/src/analyze';
import { runBuild } from '../../server/src/build/runBuild';
import { closeAllConnections } from '../../server/src/docker/daemonClient';
import {
  AnalysisRequest, DAEMON_STATUS_METHOD, EXPLORER_PROGRESS_METHOD, ExplorerLayerFilesRequest, ExplorerOpenRequest,
  type AnalysisResult, type BuildResult, type DaemonStatusParams, type ExplorerProgressParams,
} from '../../server/src/protocol';
import { BASE_IMAGE, daemonRequired } from '../docker/harness';
import { TestClient } from '../server/lspHarness';
import { recordFigure, resourceCount, tmpDir, type ResourceCount } from './figures';
import { copyImage, FaultProxy, OwnDockerd, processesMentioning } from './daemonProcs';
import { GeneratedDaemon } from './genDaemon';

const BIN = path.resolve(__dirname, '../../../bin/layerlens.js');
/** The Analyzer's default budget for one metadata call (DaemonClient timeoutMs). */
const DAEMON_TIMEOUT_MS = 5000;
const DOCKERFILE = 'FROM alpine\nCOPY . /app\nRUN echo hi\n';

interface Lsp {
  readonly c: TestClient;
  readonly uri: string;
  readonly dir: string;
  close(): Promise<void>;
}

async function lspOn(host: string, name: string): Promise<Lsp> {
  const dir = tmpDir(name);
  fs.writeFileSync(path.join(dir, 'Dockerfile'), DOCKERFILE);
  const c = new TestClient({ env: { ...process.env, DOCKER_HOST: '', LAYERLENS_CACHE_DIR: path.join(dir, '.cache') }, editDebounceMs: 0, daemonDebounceMs: 100 }, { dockerHost: host });
  await c.initialize(undefined, pathToFileURL(dir).toString());
  const uri = pathToFileURL(path.join(dir, 'Dockerfile')).toString();
  return {
    c, uri, dir,
    close: async () => {
      await c.shutdown();
      closeAllConnections();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const status = (l: Lsp, pred: (s: DaemonStatusParams) => boolean, timeoutMs: number, from = 0): Promise<DaemonStatusParams> =>
  l.c.waitFor<DaemonStatusParams>(DAEMON_STATUS_METHOD, pred, { timeoutMs, from });

async function analysis(l: Lsp): Promise<AnalysisResult> {
  const r = await l.c.client.sendRequest(AnalysisRequest, { uri: l.uri });
  assert.ok(r, 'analysed');
  return r;
}

/** Runs `layerlens analyze --json` on the Dockerfile in `dir` against `host`; resolves with its exit code, output and wall time. */
function cli(host: string, dir: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return cliWith(host, ['analyze', path.join(dir, 'Dockerfile'), '--json'], path.join(dir, '.cache-cli'));
}

function cliWith(host: string, args: readonly string[], cacheDir: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, DOCKER_HOST: host, LAYERLENS_CACHE_DIR: cacheDir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

const counted: { what: string; before: ResourceCount; after: ResourceCount }[] = [];

function sameResources(before: ResourceCount, after: ResourceCount, what: string): void {
  counted.push({ what, before, after });
  assert.ok(after.sockets <= before.sockets, `${what}: ${after.sockets - before.sockets} sockets leaked (${JSON.stringify({ before, after })})`);
  assert.ok(after.children <= before.children, `${what}: ${after.children - before.children} child processes left`);
}

describe('hardening 7.3: daemon faults', function () {
  this.timeout(300_000);
  const figures: Record<string, unknown> = {};
  let faults = 0;
  after(() => recordFigure('daemonFaults', { ...figures, faultsSurvived: faults, resourcesCounted: counted }));

  describe('fake daemon on a unix socket', () => {
    let base: ResourceCount;
    beforeEach(() => {
      base = resourceCount();
    });
    afterEach(async function () {
      closeAllConnections();
      await new Promise((r) => setTimeout(r, 50)); // let destroyed sockets close
      sameResources(base, resourceCount(), this.currentTest?.title.split(':')[0] ?? 'a scenario');
    });

    it('absent at start: unreachable with the reason; when it appears, connects and re-analyses by itself', async () => {
      const sockDir = tmpDir('absent');
      const sock = path.join(sockDir, 'docker.sock');
      const l = await lspOn(`unix://${sock}`, 'absent-lsp');
      let daemon: GeneratedDaemon | null = null;
      try {
        await l.c.open(l.uri, DOCKERFILE);
        const down = await status(l, (s) => s.state === 'unreachable', 10_000);
        assert.match(down.reason ?? '', new RegExp(`cannot connect to unix://${sock}: ENOENT \\(is dockerd running\\?\\)`));
        await l.c.analysed(l.uri, { timeoutMs: 10_000 });
        const first = await analysis(l);
        assert.strictEqual(first.report?.daemon.reachable, false);
        const c0 = await cli(`unix://${sock}`, l.dir);
        assert.strictEqual(c0.code, 0, c0.stderr);
        assert.match((JSON.parse(c0.stdout) as { daemon: { error: string } }).daemon.error, /ENOENT \(is dockerd running\?\)/);

        const mark = l.c.mark();
        daemon = new GeneratedDaemon({ images: 5, buildCacheRecords: 5 });
        const appeared = performance.now();
        await startFakeAt(daemon, sock);
        const up = await status(l, (s) => s.state === 'connected', 30_000, mark);
        const reanalysed = await l.c.analysed(l.uri, { from: mark, cause: 'daemon', timeoutMs: 30_000 });
        const reconnectMs = performance.now() - appeared;
        assert.ok(reanalysed.ok);
        assert.strictEqual((await analysis(l)).report?.daemon.reachable, true, 'the document was re-analysed against the daemon');
        assert.strictEqual(up.version, '20.10.24');
        figures['absentThenAppearsReconnectMs'] = Math.round(reconnectMs);
        figures['cliDaemonAbsentMs'] = Math.round(c0.ms);
        faults++;
      } finally {
        await l.close();
        if (daemon) await daemon.stop();
        fs.rmSync(sockDir, { recursive: true, force: true });
      }
    });

    const faultCases: [string, (d: GeneratedDaemon) => void, (s: DaemonStatusParams, r: AnalysisResult, cliOut: { daemon: { reachable: boolean; error: string | null } }) => void][] = [
      ['stalls (accepts, never answers)', (d) => d.on('GET /_ping', () => undefined).on('GET /version', () => undefined), (s, r, c) => {
        assert.strictEqual(s.state, 'unreachable');
        assert.match(s.reason ?? '', /did not answer GET \/(_ping|version) within 5 s/);
        assert.strictEqual(r.report?.daemon.reachable, false);
        assert.match(c.daemon.error ?? '', /within 5 s/);
      }],
      ['answers malformed JSON', (d) => d.raw('GET /images/json', '[{"Id": "sha256:ab", <html>'), (s, r, c) => {
        assert.strictEqual(s.state, 'connected');
        assert.match(r.report?.daemon.error ?? '', /GET \/images\/json\?all=1 on unix:\/\/.* returned malformed JSON/);
        assert.match(c.daemon.error ?? '', /returned malformed JSON/);
      }],
      ['truncates its answer mid-body', (d) => d.on('GET /version', (_q: http.IncomingMessage, res: http.ServerResponse) => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '200' });
        res.write('{"Version": "20.10.24", "ApiVer');
        setTimeout(() => res.destroy(), 50);
      }), (s, r, c) => {
        assert.strictEqual(s.state, 'unreachable');
        assert.match(s.reason ?? '', /closed the connection during GET \/version/);
        assert.strictEqual(r.report?.daemon.reachable, false);
        assert.match(c.daemon.error ?? '', /closed the connection/);
      }],
      ['speaks an old API (Docker 1.13, API 1.26, no build cache endpoint)', (d) => {
        d.json('GET /version', { Version: '1.13.1', ApiVersion: '1.26', Os: 'linux', Arch: 'amd64' });
        d.json('GET /system/df', { message: 'page not found' }, true, 404);
      }, (s, r, c) => {
        assert.strictEqual(s.state, 'connected');
        assert.strictEqual(s.version, '1.13.1');
        assert.strictEqual(s.builder, 'classic', 'Docker < 23 builds classic by default');
        assert.ok(r.report, r.error ?? '');
        assert.match(r.report.daemon.error ?? '', /build cache unavailable: .*HTTP 404/);
        assert.strictEqual(c.daemon.reachable, true);
      }],
    ];

    for (const [name, breakIt, check] of faultCases) {
      it(`a daemon that ${name}: a clear state within the time-out, in the status and the CLI`, async () => {
        const daemon = await new GeneratedDaemon({ images: 20, buildCacheRecords: 20 }).start();
        breakIt(daemon);
        const l = await lspOn(`unix://${daemon.socketPath}`, 'fault');
        try {
          const t0 = performance.now();
          await l.c.open(l.uri, DOCKERFILE);
          await l.c.analysed(l.uri, { timeoutMs: 4 * DAEMON_TIMEOUT_MS });
          const ms = performance.now() - t0;
          // One time-out at most: the status check's ping + version is reused by the analysis' daemon snapshot
          // (a stalled daemon used to cost two budgets in a row: 10.8 s).
          assert.ok(ms < DAEMON_TIMEOUT_MS + 2000, `the analysis took ${Math.round(ms)} ms`);
          // Once ping + version said unreachable, the snapshot asks nothing more (each request would wait too).
          if (name.startsWith('stalls')) assert.strictEqual(daemon.count('GET /images/json'), 0, daemon.requests.join(', '));
          const s = await status(l, () => true, 4 * DAEMON_TIMEOUT_MS);
          const c = await cli(`unix://${daemon.socketPath}`, l.dir);
          assert.strictEqual(c.code, 0, c.stderr);
          assert.ok(c.ms < 2 * DAEMON_TIMEOUT_MS + 5000, `the CLI took ${Math.round(c.ms)} ms`);
          check(s, await analysis(l), JSON.parse(c.stdout) as { daemon: { reachable: boolean; error: string | null } });
          figures[`fake_${name.split(' ')[0]}_${name.split(' ')[1]}`] = { lspAnalysisMs: Math.round(ms), cliMs: Math.round(c.ms), state: s.state, reason: s.reason };
          faults++;
        } finally {
          await l.close();
          await daemon.stop();
        }
      });
    }
  });

  describe('our own dockerd, killed and restarted', () => {
    let root: string;
    let dockerd: OwnDockerd;
    let proxy: FaultProxy;
    let base: ResourceCount;

    before(async function () {
      if (!fs.existsSync('/usr/sbin/dockerd') && !fs.existsSync('/usr/bin/dockerd')) {
        if (daemonRequired()) assert.fail('dockerd is required (CI=1 or LAYERLENS_REQUIRE_DAEMON)');
        this.skip();
      }
      base = resourceCount();
      root = tmpDir('dockerd');
      dockerd = new OwnDockerd(root);
      const t0 = performance.now();
      await dockerd.start();
      figures['ownDockerdStartMs'] = Math.round(performance.now() - t0);
      proxy = await new FaultProxy(path.join(root, 'proxy.sock'), dockerd.socketPath).start();
    });

    after(async () => {
      await proxy?.stop();
      await dockerd?.stop();
      closeAllConnections();
      await new Promise((r) => setTimeout(r, 100));
      const left = root ? processesMentioning(root) : [];
      figures['ownDockerdProcessesLeft'] = left.length;
      if (root && !process.env['LAYERLENS_KEEP_DOCKERD_LOGS']) fs.rmSync(root, { recursive: true, force: true });
      assert.deepStrictEqual(left, [], 'dockerd or containerd left running');
      if (base) sameResources(base, resourceCount(), 'after the dockerd scenarios');
    });

    it('killed mid-analysis: unreachable within the time-out; restarted: reconnects and re-analyses by itself', async () => {
      const l = await lspOn(`unix://${proxy.socketPath}`, 'kill');
      try {
        await l.c.open(l.uri, DOCKERFILE);
        await status(l, (s) => s.state === 'connected' && s.eventsConnected, 20_000);
        await l.c.analysed(l.uri, { timeoutMs: 20_000 });

        // Slow every answer down, start an analysis (an edit), and kill dockerd while its requests are in flight.
        proxy.mode = { kind: 'delay', ms: 400 };
        const mark = l.c.mark();
        const v = await l.c.change(l.uri, [{ text: DOCKERFILE + '# edit\n' }]);
        await new Promise((r) => setTimeout(r, 150));
        const killedAt = performance.now();
        await dockerd.kill();
        proxy.mode = { kind: 'pass' };
        const done = await l.c.analysed(l.uri, { from: mark, version: v, timeoutMs: 4 * DAEMON_TIMEOUT_MS });
        const afterKillMs = performance.now() - killedAt;
        assert.ok(afterKillMs < 2 * DAEMON_TIMEOUT_MS + 2000, `the analysis finished ${Math.round(afterKillMs)} ms after the kill`);
        assert.ok(done);
        const down = await status(l, (s) => s.state === 'unreachable', 4 * DAEMON_TIMEOUT_MS, mark);
        assert.match(down.reason ?? '', /cannot connect to unix:\/\/.*proxy\.sock|closed the connection|ECONNREFUSED|ENOENT/);
        const c = await cli(`unix://${proxy.socketPath}`, l.dir);
        assert.strictEqual(c.code, 0, c.stderr);
        assert.strictEqual((JSON.parse(c.stdout) as { daemon: { reachable: boolean } }).daemon.reachable, false);
        faults++;

        const mark2 = l.c.mark();
        const t0 = performance.now();
        await dockerd.start();
        await status(l, (s) => s.state === 'connected', 30_000, mark2);
        await l.c.analysed(l.uri, { from: mark2, cause: 'daemon', timeoutMs: 30_000 });
        const back = performance.now() - t0;
        assert.strictEqual((await analysis(l)).report?.daemon.reachable, true);
        figures['ownDockerd'] = { analysisDoneAfterKillMs: Math.round(afterKillMs), reconnectAndReanalyseAfterRestartMs: Math.round(back), cliWhileDownMs: Math.round(c.ms) };
        faults++;
      } finally {
        await l.close();
      }
    });

    it('killed mid-explorer-stream: the explorer says daemon-unreachable at once, nothing leaks; restarted: opening again reads the files', async () => {
      await copyImage(BASE_IMAGE, dockerd.socketPath);
      const before = resourceCount();
      const l = await lspOn(`unix://${proxy.socketPath}`, 'explorer-kill');
      try {
        // Slow the export down (every chunk from the daemon waits), open the image, kill dockerd once bytes flow.
        proxy.mode = { kind: 'delay', ms: 300 };
        const mark = l.c.mark();
        const opened = await l.c.client.sendRequest(ExplorerOpenRequest, { image: BASE_IMAGE });
        assert.strictEqual(opened.error, null);
        assert.strictEqual(opened.files, 'streaming');
        const id = opened.image!.id;
        const layerIndex = opened.layers.find((r) => !r.empty)!.index;
        const flowing = await l.c.waitFor<ExplorerProgressParams>(EXPLORER_PROGRESS_METHOD, (p) => p.imageId === id && p.bytesRead > 0 && !p.done, { from: mark, timeoutMs: 60_000 });
        const killedAt = performance.now();
        await dockerd.kill();
        proxy.mode = { kind: 'pass' };
        const end = await l.c.waitFor<ExplorerProgressParams>(EXPLORER_PROGRESS_METHOD, (p) => p.imageId === id && p.done, { from: mark, timeoutMs: 4 * DAEMON_TIMEOUT_MS });
        const failMs = performance.now() - killedAt;
        assert.ok(end.bytesRead < flowing.bytesTotal, 'the export was cut mid-stream');
        assert.strictEqual(end.error?.kind, 'daemon-unreachable', JSON.stringify(end));
        assert.match(end.error.message, /closed the connection during GET \/images\/sha256:[0-9a-f]{64}\/get/);
        assert.ok(failMs < DAEMON_TIMEOUT_MS, `the error came ${Math.round(failMs)} ms after the kill`);
        const files = await l.c.client.sendRequest(ExplorerLayerFilesRequest, { imageId: id, layerIndex, view: 'changes' });
        assert.deepStrictEqual([files.state, files.error?.kind], ['ready', 'daemon-unreachable'], 'the panel shows the error, not an endless "pending"');
        faults++;

        // Back: opening the image again (the panel's reload) reads its files.
        const t0 = performance.now();
        await dockerd.start();
        const mark2 = l.c.mark();
        const again = await l.c.client.sendRequest(ExplorerOpenRequest, { image: BASE_IMAGE });
        assert.deepStrictEqual([again.error, again.files], [null, 'streaming']);
        const ok = await l.c.waitFor<ExplorerProgressParams>(EXPLORER_PROGRESS_METHOD, (p) => p.imageId === id && p.done, { from: mark2, timeoutMs: 60_000 });
        assert.strictEqual(ok.error, null);
        const read = await l.c.client.sendRequest(ExplorerLayerFilesRequest, { imageId: id, layerIndex, view: 'filesystem' });
        assert.strictEqual(read.state, 'ready');
        assert.ok(read.nodes.some((n) => n.path.replace(/\/$/, '') === 'bin'), JSON.stringify(read.nodes.slice(0, 5)));
        figures['ownDockerdExplorer'] = { errorAfterKillMs: Math.round(failMs), bytesReadBeforeKill: end.bytesRead, bytesTotal: end.bytesTotal, restartAndReadMs: Math.round(performance.now() - t0) };
        faults++;
      } finally {
        proxy.mode = { kind: 'pass' };
        await l.close();
      }
      await new Promise((r) => setTimeout(r, 100));
      sameResources(before, resourceCount(), 'explorer killed mid-stream');
    });

    it('connection cut mid-export under `layerlens layers`: exit 2 with the reason, at once', async () => {
      const cache = tmpDir('layers-cut');
      try {
        proxy.mode = { kind: 'delay', ms: 300 };
        const start = proxy.bytesBack;
        const run = cliWith(`unix://${proxy.socketPath}`, ['layers', BASE_IMAGE], cache);
        // inspect + history are a few KiB: past 64 KiB back, the export is streaming.
        const deadline = Date.now() + 60_000;
        while (proxy.bytesBack - start < 64 * 1024 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.ok(proxy.bytesBack - start >= 64 * 1024, 'the export started');
        const cutAt = performance.now();
        proxy.cut();
        proxy.mode = { kind: 'pass' };
        const r = await run;
        const ms = performance.now() - cutAt;
        assert.strictEqual(r.code, 2, r.stderr);
        assert.match(r.stderr, /^layerlens: cannot read the layers of layerlens-test\/busybox:1: the daemon at unix:\/\/.*proxy\.sock closed the connection during GET \/images\/sha256:[0-9a-f]{64}\/get/);
        assert.strictEqual(r.stdout, '');
        assert.ok(ms < DAEMON_TIMEOUT_MS, `exited ${Math.round(ms)} ms after the cut`);
        figures['layersCliCutExitMs'] = Math.round(ms);
        faults++;
        // And with the connection back, the same command reads the image.
        const again = await cliWith(`unix://${proxy.socketPath}`, ['layers', BASE_IMAGE, '--json'], cache);
        assert.strictEqual(again.code, 0, again.stderr);
        assert.strictEqual((JSON.parse(again.stdout) as { image: { repoTags: string[] } }).image.repoTags[0], BASE_IMAGE);
      } finally {
        proxy.mode = { kind: 'pass' };
        fs.rmSync(cache, { recursive: true, force: true });
      }
    });

    it('killed mid-build: outcome daemon-error with the reason, at once; restarted: it builds', async () => {
      // The RUN sleeps (no network: our dockerd has no bridge); a random length names its process.
      const secs = 40 + Math.floor(Math.random() * 900);
      const dir = tmpDir('midbuild');
      fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${BASE_IMAGE}\nRUN sleep ${secs}\n`);
      const analyzer = new Analyzer({ cacheDir: null, hostSetting: `unix://${proxy.socketPath}` });
      const request = (tag: string, text: string): Promise<BuildResult> => {
        fs.writeFileSync(path.join(dir, 'Dockerfile'), text);
        return runBuild(analyzer, { buildId: `ll-harden-${tag}`, dockerfile: path.join(dir, 'Dockerfile'), contextDir: dir, tag: `ll-harden-${tag}:1`, builder: 'buildkit', buildArgs: {}, target: null, network: 'none' }, {});
      };
      // Scaffolding, outside the counted window (its docker CLI children and their pipes are the test's, not ours).
      await copyImage(BASE_IMAGE, dockerd.socketPath);
      const before = resourceCount();
      try {
        const started = request('midbuild', `FROM ${BASE_IMAGE}\nRUN sleep ${secs}\n`);
        const deadline = Date.now() + 60_000;
        while (processesMentioning(`sleep ${secs}`).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.ok(processesMentioning(`sleep ${secs}`).length > 0, 'the RUN started');
        const killedAt = performance.now();
        await dockerd.kill();
        const r = await started;
        const ms = performance.now() - killedAt;
        assert.strictEqual(r.outcome, 'daemon-error', JSON.stringify(r.error));
        assert.match(r.error!.message, /went away|closed the connection|cannot connect/);
        assert.ok(ms < DAEMON_TIMEOUT_MS, `the build ended ${Math.round(ms)} ms after the kill`);
        // The RUN's process belonged to the killed dockerd (its runc container lives on without it): ours to end.
        for (const pid of processesMentioning(`sleep ${secs}`)) process.kill(pid, 'SIGKILL');
        faults++;

        const t0 = performance.now();
        await dockerd.start();
        const again = await request('afterbuild', `FROM ${BASE_IMAGE}\nRUN echo ${secs} > /n\n`);
        assert.strictEqual(again.outcome, 'succeeded', JSON.stringify(again.error));
        figures['ownDockerdMidBuild'] = { buildEndedAfterKillMs: Math.round(ms), restartAndBuildMs: Math.round(performance.now() - t0) };
        faults++;
      } finally {
        await analyzer.dispose();
        closeAllConnections();
        fs.rmSync(dir, { recursive: true, force: true });
      }
      // Run after the other dockerd scenarios (not alone), one socket in this process closes 3–4 s after the
      // build ended; not tracked down yet (see the branch report). Counted once it settles, within a bound, and the
      // wait is kept as a figure.
      const t1 = Date.now();
      while (resourceCount().sockets > before.sockets && Date.now() - t1 < 10_000) await new Promise((r) => setTimeout(r, 100));
      figures['ownDockerdMidBuildSocketsSettledMs'] = Date.now() - t1;
      sameResources(before, resourceCount(), 'killed mid-build');
    });

    it('stalled behind a proxy (connection accepted, no byte back): unreachable within the time-out', async () => {
      const l = await lspOn(`unix://${proxy.socketPath}`, 'stall');
      try {
        proxy.mode = { kind: 'stall' };
        const t0 = performance.now();
        await l.c.open(l.uri, DOCKERFILE);
        await l.c.analysed(l.uri, { timeoutMs: 4 * DAEMON_TIMEOUT_MS });
        const ms = performance.now() - t0;
        const s = await status(l, (x) => x.state === 'unreachable', 4 * DAEMON_TIMEOUT_MS);
        assert.match(s.reason ?? '', /did not answer GET \/(_ping|version) within 5 s/);
        assert.ok(ms < DAEMON_TIMEOUT_MS + 2000, `took ${Math.round(ms)} ms (one time-out is the budget)`);
        figures['ownDockerdStallMs'] = Math.round(ms);
        faults++;
      } finally {
        proxy.mode = { kind: 'pass' };
        await l.close();
      }
    });
  });
});

/** Serves a fake daemon on a given socket path (the "daemon appears later" case needs a path known in advance). */
async function startFakeAt(d: GeneratedDaemon, sock: string): Promise<void> {
  Object.defineProperty(d, 'socketPath', { value: sock });
  await d.start();
}
