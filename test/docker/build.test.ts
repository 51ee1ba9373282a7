// Builds through Layer Lens's own runner (server/src/build/runBuild.ts) against the real daemon, on both builders:
// per-step outcomes, the prediction made just before each build, cancellation, failures mapped to their line, a
// daemon that goes away, and one cache shared with `docker build` from a terminal (/usr/bin/docker, CLI 20.10).
// Fails when the daemon is unreachable and CI or LAYERLENS_REQUIRE_DAEMON is set; skips otherwise.

import * as assert from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Analyzer } from '../../server/src/analyze';
import { runBuild, type BuildRequestOptions } from '../../server/src/build/runBuild';
import type { TarModeVariant } from '../../server/src/context/types';
import type { BuildResult, BuildStepProgress } from '../../server/src/protocol';
import { BASE_IMAGE, BUILDERS, DOCKER_CLI, describeDocker, dockerBuild, ensureBaseImage, imageIdOf, nonce, useDockerScope, type BuildContext, type Builder, type ContextFiles } from './harness';

/** Every Layer Lens build in this file, for the accuracy figure printed at the end. */
const tally = { builds: 0, compared: 0, correct: 0 };

async function build(analyzer: Analyzer, dir: string, tag: string, builder: Builder, extra: Partial<BuildRequestOptions> = {}, onStep?: (p: BuildStepProgress) => void, signal?: AbortSignal): Promise<BuildResult> {
  const r = await runBuild(analyzer, {
    buildId: nonce(), dockerfile: path.join(dir, 'Dockerfile'), contextDir: dir, tag, builder, buildArgs: {}, target: null, network: 'none',
    // /usr/bin/docker (20.10) writes the file-type bits in the tar mode field: share its classic cache.
    tarMode: 'full' as TarModeVariant, ...extra,
  }, { steps: (s) => s.forEach((p) => onStep?.(p)) }, signal);
  tally.builds++;
  tally.compared += r.prediction.compared;
  tally.correct += r.prediction.correct;
  return r;
}

/** [line, actual] of the steps the builder reports on (not `config`). */
function outcomes(r: BuildResult): Array<[number, string]> {
  return r.steps.filter((s) => s.actual !== 'config').map((s) => [s.line, s.actual]);
}

function assertPredicted(r: BuildResult): void {
  assert.ok(r.prediction.compared > 0, 'something was compared');
  assert.deepStrictEqual(r.prediction.mismatches, [], 'Layer Lens predicted every step right');
}

function running(pattern: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return ps.split('\n').filter((l) => l.includes(pattern) && !l.includes('ps -eo'));
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeDocker('build from the editor (runBuild) against the real daemon', function () {
  const scope = useDockerScope('llbuild');
  let analyzer: Analyzer;
  let cacheDir: string;

  before(async function () {
    await ensureBaseImage();
    // Own cache folder (image details persist between the builds of this file); a generous budget because the shared
    // daemon lists hundreds of images while other suites build.
    cacheDir = scope.tempDir('layerlens-buildcache-');
    analyzer = new Analyzer({ cacheDir, daemonTimeoutMs: 60_000 });
  });
  after(async function () {
    await analyzer?.dispose();
    console.log(`      prediction accuracy over ${tally.builds} builds: ${tally.correct}/${tally.compared} steps`);
  });

  for (const builder of BUILDERS) {
    it(`${builder}: from scratch all built, rebuild all cached, edits rebuild the right suffix — as predicted`, async function () {
      const n = nonce();
      const ctx = scope.context({
        Dockerfile: `FROM ${BASE_IMAGE}\nENV N=${n}\nRUN echo ${n} > /n && head -c 3000 /dev/zero > /z\nCOPY a.txt /a.txt\nWORKDIR /w\nRUN cat /a.txt > b\nCOPY b.txt /b.txt\n`,
        'a.txt': 'a',
        'b.txt': 'bb',
      });
      const tag = scope.tag();
      const layerLines = builder === 'classic' ? [2, 3, 4, 5, 6, 7] : [3, 4, 5, 6, 7]; // BuildKit runs nothing for ENV
      const r1 = await build(analyzer, ctx.dir, tag, builder);
      assert.strictEqual(r1.outcome, 'succeeded', JSON.stringify(r1.error));
      assert.strictEqual(r1.imageId, await imageIdOf(tag));
      assert.deepStrictEqual(outcomes(r1), [[1, 'cached'], ...layerLines.map((l): [number, string] => [l, 'built'])]);
      assert.strictEqual(r1.steps.find((s) => s.line === 3)!.sizeBytes, 3000 + n.length + 1, 'RUN: /z and /n');
      assert.strictEqual(r1.steps.find((s) => s.line === 4)!.sizeBytes, 1, 'COPY a.txt: 1 byte');
      assert.strictEqual(r1.steps.find((s) => s.line === 7)!.sizeBytes, 2, 'COPY b.txt: 2 bytes');
      assert.ok(r1.steps.filter((s) => s.actual === 'built').every((s) => s.durationMs !== null));
      assertPredicted(r1);

      const r2 = await build(analyzer, ctx.dir, tag, builder);
      assert.strictEqual(r2.outcome, 'succeeded');
      assert.deepStrictEqual(outcomes(r2), [[1, 'cached'], ...layerLines.map((l): [number, string] => [l, 'cached'])]);
      assertPredicted(r2);

      ctx.writeFile('b.txt', 'changed');
      const r3 = await build(analyzer, ctx.dir, tag, builder);
      assert.deepStrictEqual(outcomes(r3), [[1, 'cached'], ...layerLines.map((l): [number, string] => [l, l === 7 ? 'built' : 'cached'])]);
      assertPredicted(r3);

      ctx.writeFile('a.txt', 'A2');
      const r4 = await build(analyzer, ctx.dir, tag, builder);
      assert.deepStrictEqual(outcomes(r4), [[1, 'cached'], ...layerLines.map((l): [number, string] => [l, l >= 4 ? 'built' : 'cached'])]);
      assertPredicted(r4);
    });

    it(`${builder}: a failing RUN is reported on its line with the builder's message; later steps do not run`, async function () {
      const n = nonce();
      const ctx = scope.context({ Dockerfile: `FROM ${BASE_IMAGE}\nRUN echo ${n}\nRUN echo about to fail && \\\n    exit 3\nRUN echo never\n` });
      const r = await build(analyzer, ctx.dir, scope.tag(), builder);
      assert.strictEqual(r.outcome, 'failed');
      assert.deepStrictEqual({ line: r.error?.line, endLine: r.error?.endLine }, { line: 3, endLine: 4 });
      assert.match(r.error!.message, builder === 'classic' ? /returned a non-zero code: 3/ : /exit code: 3/);
      assert.deepStrictEqual(outcomes(r), [[1, 'cached'], [2, 'built'], [3, 'failed'], [5, 'not-run']]);
      assert.strictEqual(r.imageId, null);
    });

    it(`${builder}: a syntax error is placed on its line and nothing is built`, async function () {
      const ctx = scope.context({ Dockerfile: `FROM ${BASE_IMAGE}\nRUN true\nRUNX oops\n` });
      const r = await build(analyzer, ctx.dir, scope.tag(), builder);
      assert.strictEqual(r.outcome, 'failed');
      assert.strictEqual(r.error?.line, 3, JSON.stringify(r.error));
      assert.match(r.error!.message, /unknown instruction: RUNX/i);
      assert.ok(r.steps.every((s) => s.actual === 'not-run'), JSON.stringify(outcomes(r)));
    });

    it(`${builder}: cancel stops the build in the daemon (no process or container left, no image)`, async function () {
      const secs = 3000 + Math.floor(Math.random() * 900);
      const ctx = scope.context({ Dockerfile: `FROM ${BASE_IMAGE}\nRUN echo ${nonce()} && sleep ${secs}\n` });
      const tag = scope.tag();
      const ac = new AbortController();
      const started = build(analyzer, ctx.dir, tag, builder, {}, undefined, ac.signal);
      await until(() => running(`sleep ${secs}`).length > 0, 60_000, 'the RUN to start');
      const t0 = Date.now();
      ac.abort();
      const r = await started;
      assert.strictEqual(r.outcome, 'cancelled');
      assert.ok(Date.now() - t0 < 5000, 'the build resolved at once');
      await until(() => running(`sleep ${secs}`).length === 0, 20_000, 'the sleep to be killed');
      const containers = execFileSync(DOCKER_CLI, ['ps', '-a', '--no-trunc', '--format', '{{.Command}}'], { encoding: 'utf8' });
      await until(() => !execFileSync(DOCKER_CLI, ['ps', '-a', '--no-trunc', '--format', '{{.Command}}'], { encoding: 'utf8' }).includes(`sleep ${secs}`), 20_000, `no container left (${containers})`);
      assert.strictEqual(await imageIdOf(tag), null);
      assert.strictEqual(r.steps.find((s) => s.line === 2)!.actual, 'not-run');
    });

    // One cache with the terminal, both ways, for a `COPY .` of the whole context: BuildKit builds send the context
    // through a session as the CLI does (docker/buildSession.ts), classic builds a tar with the CLI's headers. The
    // context has what could make the two differ: a hardlink, a symlink, an executable, a setuid file, an empty
    // folder, a name that is not ASCII, and a .dockerignore with an exception.
    const sharedContext = (n: string): ContextFiles => ({
      Dockerfile: `FROM ${BASE_IMAGE}\nRUN echo ${n} > /n\nCOPY . /app/\nRUN ls -laR /app > /listing\nCOPY sub/ /sub/\n`,
      'a.txt': 'hello',
      'run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
      'suid.bin': { content: 'x', mode: 0o4755 },
      link: { symlink: 'a.txt' },
      'sub/deep/x.bin': Buffer.alloc(5000, 7),
      'sub/été.txt': 'non-ASCII name',
      '.dockerignore': 'ignored\nlogs/*\n!logs/keep.log\n',
      'ignored/big': 'never sent',
      'logs/a.log': 'left out',
      'logs/keep.log': 'sent',
    });
    const linkAndEmpty = (ctx: BuildContext): void => {
      fs.linkSync(ctx.path('a.txt'), ctx.path('sub/hard-a.txt'));
      fs.mkdirSync(ctx.path('empty'));
    };

    it(`${builder}: a terminal \`docker build\` first, then Layer Lens: every step hits the same cache`, async function () {
      const ctx = scope.context(sharedContext(nonce()));
      linkAndEmpty(ctx);
      const tag = scope.tag();
      const terminal = await dockerBuild({ dir: ctx.dir, tag, builder });
      assert.ok(terminal.ok);
      // No tar mode given: the classic build writes its headers the way the history shows the CLI wrote them.
      const r = await build(analyzer, ctx.dir, tag, builder, { tarMode: undefined });
      assert.strictEqual(r.outcome, 'succeeded', JSON.stringify(r.error));
      assert.deepStrictEqual(outcomes(r), [[1, 'cached'], [2, 'cached'], [3, 'cached'], [4, 'cached'], [5, 'cached']]);
      assert.strictEqual(r.imageId, terminal.imageId, 'the very same image');
      assertPredicted(r);
    });

    it(`${builder}: Layer Lens first, then a terminal \`docker build\`: the terminal hits every step`, async function () {
      const ctx = scope.context(sharedContext(nonce()));
      linkAndEmpty(ctx);
      const tag = scope.tag();
      const r = await build(analyzer, ctx.dir, tag, builder);
      assert.strictEqual(r.outcome, 'succeeded', JSON.stringify(r.error));
      assert.deepStrictEqual(outcomes(r), [[1, 'cached'], [2, 'built'], [3, 'built'], [4, 'built'], [5, 'built']]);
      const terminal = await dockerBuild({ dir: ctx.dir, tag: scope.tag(), builder });
      assert.ok(terminal.ok);
      assert.deepStrictEqual(terminal.steps.filter((st) => !st.isFrom).map((st) => st.cached), [true, true, true, true], terminal.output);
      assert.strictEqual(terminal.imageId, r.imageId, 'the very same image');
      // What the image holds is what the context says: the exception re-included, the ignored left out.
      const listing = execFileSync(DOCKER_CLI, ['run', '--rm', '--network', 'none', r.imageId!, 'cat', '/listing'], { encoding: 'utf8' });
      assert.match(listing, /keep\.log/);
      assert.doesNotMatch(listing, /a\.log|big/);
    });
  }

  it('CLI: `layerlens build --json` prints predicted vs actual per step; exit 0, then 1 for a failing build, 2 for a bad tag', async function () {
    const cli = path.resolve(__dirname, '../../server/src/cli.js');
    const ctx = scope.context({ Dockerfile: `FROM ${BASE_IMAGE}\nRUN echo ${nonce()} > /n\n` });
    const tag = scope.tag();
    const env = { ...process.env, LAYERLENS_CACHE_DIR: cacheDir };
    const run = (args: string[]): { code: number; stdout: string; stderr: string } => {
      const r = spawnSync(process.execPath, [cli, 'build', path.join(ctx.dir, 'Dockerfile'), ...args], { encoding: 'utf8', env, timeout: 600_000 });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    const ok = run(['-t', tag, '--network', 'none', '--builder', 'buildkit', '--json']);
    assert.strictEqual(ok.code, 0, ok.stderr);
    const result = JSON.parse(ok.stdout) as BuildResult;
    assert.strictEqual(result.outcome, 'succeeded');
    assert.deepStrictEqual(result.steps.map((st) => [st.line, st.predicted, st.actual]), [[1, 'hit', 'cached'], [2, 'miss', 'built']]);
    ctx.writeFile('Dockerfile', `FROM ${BASE_IMAGE}\nRUN exit 7\n`);
    const failed = run(['-t', tag, '--network', 'none', '--builder', 'classic']);
    assert.strictEqual(failed.code, 1, failed.stderr);
    assert.match(failed.stdout, /line 2: .*non-zero code: 7/);
    assert.match(failed.stdout, /Prediction: \d+ of \d+ steps right/);
    assert.strictEqual(run(['-t', 'Not:A:Tag']).code, 2);
  });

  it('a daemon that goes away mid-build: outcome daemon-error with a clear message, nothing left running', async function () {
    // A proxy socket in front of the shared daemon; closing it is the daemon "disappearing" for this client.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-proxy-'));
    const sock = path.join(dir, 'docker.sock');
    const conns = new Set<net.Socket>();
    const server = net.createServer((c) => {
      const up = net.connect('/var/run/docker.sock');
      conns.add(c).add(up);
      c.pipe(up).pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    await new Promise<void>((r) => server.listen(sock, r));
    const proxied = new Analyzer({ cacheDir, daemonTimeoutMs: 60_000, hostSetting: `unix://${sock}` });
    try {
      const secs = 3000 + Math.floor(Math.random() * 900);
      const ctx = scope.context({ Dockerfile: `FROM ${BASE_IMAGE}\nRUN echo ${nonce()} && sleep ${secs}\n` });
      const started = build(proxied, ctx.dir, scope.tag(), 'buildkit');
      // Image details are cached per daemon host: through the proxy the prediction first reads them all (slow).
      await until(() => running(`sleep ${secs}`).length > 0, 240_000, 'the RUN to start');
      server.close();
      for (const c of conns) c.destroy();
      const r = await started;
      assert.strictEqual(r.outcome, 'daemon-error');
      assert.match(r.error!.message, /went away|closed the connection|cannot connect/);
      await until(() => running(`sleep ${secs}`).length === 0, 20_000, 'the daemon to stop the orphaned build');
    } finally {
      server.close();
      await proxied.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
