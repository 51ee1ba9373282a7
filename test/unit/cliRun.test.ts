// The CLI as other tools see it: a process, its exit code, stdout and stderr. The daemon is pointed at a socket
// that does not exist, so these run anywhere; the real-daemon behaviour is covered by test/docker/scenarios.

import * as assert from 'assert';
import { spawn, spawnSync } from 'child_process';
import { mkdtempSync, mkdirSync, writeFileSync, chmodSync } from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'layerlens.js');

function run(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/layerlens.sock', LAYERLENS_CACHE_DIR: path.join(cwd, '.cache'), NO_COLOR: '1', ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'layerlens-cli-'));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

const DOCKERFILE = [
  'ARG BASE=busybox',
  'FROM ${BASE} AS deps',
  'COPY requirements.txt /req/',
  'RUN cat /req/requirements.txt',
  '',
  'FROM busybox AS unused',
  'RUN echo never',
  '',
  'FROM busybox AS final',
  'WORKDIR /app',
  'COPY --from=deps /req /req',
  'COPY src/ ./src/',
  'RUN echo one \\',
  '    && echo two',
  '',
].join('\n');

describe('layerlens analyze (process)', function () {
  this.timeout(60_000);
  const dir = project({
    Dockerfile: DOCKERFILE,
    '.dockerignore': 'Dockerfile\n*.log\n',
    'requirements.txt': 'flask\n',
    'src/app.py': 'print(1)\n',
    'src/big.bin': 'x'.repeat(10_000),
    'debug.log': 'ignored',
  });

  it('prints exactly one JSON object with the documented fields, daemon unreachable → exit 0, cache unknown', () => {
    const r = run(['analyze', '--json'], dir);
    assert.strictEqual(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, any>;
    assert.deepStrictEqual(Object.keys(j), ['dockerfile', 'context', 'builder', 'target', 'daemon', 'steps', 'totalBytes']);
    assert.strictEqual(j.dockerfile, path.join(dir, 'Dockerfile'));
    assert.strictEqual(j.context, dir);
    assert.strictEqual(j.builder, 'buildkit');
    assert.strictEqual(j.target, null);
    assert.strictEqual(j.daemon.reachable, false);
    assert.match(j.daemon.error, /nonexistent\/layerlens\.sock/);
    const copy = j.steps.find((s: any) => s.text === 'COPY src/ ./src/');
    assert.deepStrictEqual(
      { line: copy.line, endLine: copy.endLine, stage: copy.stage, instruction: copy.instruction, createsLayer: copy.createsLayer, cache: copy.cache },
      { line: 12, endLine: 12, stage: 'final', instruction: 'COPY', createsLayer: true, cache: 'unknown' },
    );
    assert.deepStrictEqual(copy.size, { bytes: 10_009, exact: true, source: 'context' });
    const run2 = j.steps.find((s: any) => s.line === 13);
    assert.strictEqual(run2.text, 'RUN echo one && echo two');
    assert.strictEqual(run2.endLine, 14);
    assert.strictEqual(j.steps.find((s: any) => s.line === 1).stage, 'global');
    assert.strictEqual(j.totalBytes, null);
  });

  it('reports stages the target does not need as skipped', () => {
    const r = run(['analyze', '--json', '--target', 'final'], dir);
    assert.strictEqual(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { steps: { line: number; skipped: boolean; reason: string }[]; target: string };
    assert.strictEqual(j.target, 'final');
    const unused = j.steps.filter((s) => s.line === 6 || s.line === 7);
    assert.ok(unused.every((s) => s.skipped && /not needed/.test(s.reason)));
    assert.ok(j.steps.filter((s) => s.line >= 2 && s.line <= 4).every((s) => !s.skipped), 'deps is needed through COPY --from');
    const deps = run(['analyze', '--json', '--target', 'deps'], dir);
    const jd = JSON.parse(deps.stdout) as { steps: { line: number; skipped: boolean }[] };
    assert.ok(jd.steps.filter((s) => s.line >= 9).every((s) => s.skipped));
  });

  it('DOCKER_BUILDKIT=0 selects the classic builder', () => {
    const r = run(['analyze', '--json'], dir, { DOCKER_BUILDKIT: '0' });
    assert.strictEqual((JSON.parse(r.stdout) as { builder: string }).builder, 'classic');
  });

  it('prints the Dockerfile with aligned annotations and a total', () => {
    const r = run(['analyze'], dir);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.match(r.stdout, /daemon unreachable: .*nonexistent/);
    assert.match(r.stdout, /COPY src\/ \.\/src\/\s+9\.8 KiB\s+\?/);
    assert.match(r.stdout, /^total /m);
    assert.ok(!/\x1b\[/.test(r.stdout), 'no colour when not a TTY');
  });

  const bad: [string, string[], RegExp][] = [
    ['a missing Dockerfile', ['analyze', 'nope/Dockerfile'], /no such file/],
    ['an unknown target', ['analyze', '--target', 'ghost'], /target stage "ghost" not found/],
    ['a malformed --build-arg', ['analyze', '--build-arg', 'X'], /malformed --build-arg/],
    ['a context that is not a directory', ['analyze', '--context', 'requirements.txt'], /not a directory/],
    ['an unknown builder', ['analyze', '--builder', 'kaniko'], /buildkit or classic/],
  ];
  for (const [what, args, re] of bad) {
    it(`exits 2 with one line on ${what}`, () => {
      const r = run(args, dir);
      assert.strictEqual(r.code, 2, r.stdout + r.stderr);
      assert.strictEqual(r.stdout, '');
      assert.strictEqual(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, re);
    });
  }

  it('exits 2 on an unreadable context, and on a Dockerfile without FROM', function () {
    if (process.getuid?.() === 0) {
      // root reads everything: make the context unreadable by removing it instead.
      const r = run(['analyze', '--context', path.join(dir, 'gone')], dir);
      assert.strictEqual(r.code, 2);
      assert.match(r.stderr, /cannot read the build context/);
    } else {
      const locked = project({ Dockerfile: 'FROM x\n' });
      chmodSync(locked, 0o000);
      const r = run(['analyze', path.join(locked, 'Dockerfile')], dir);
      chmodSync(locked, 0o755);
      assert.strictEqual(r.code, 2);
    }
    const noFrom = project({ Dockerfile: 'RUN echo hi\n' });
    const r2 = run(['analyze'], noFrom);
    assert.strictEqual(r2.code, 2);
    assert.match(r2.stderr, /no FROM/);
  });
});

describe('layerlens analyze against a misbehaving daemon', function () {
  this.timeout(60_000);
  const dir = project({ Dockerfile: 'FROM busybox\nCOPY a.txt /a.txt\nRUN true\n', 'a.txt': 'abc' });

  async function withFakeDaemon(handler: http.RequestListener, fn: (sock: string) => Promise<void>): Promise<void> {
    const sock = path.join(mkdtempSync(path.join(os.tmpdir(), 'layerlens-fake-')), 'docker.sock');
    const server = http.createServer(handler);
    const sockets = new Set<import('net').Socket>();
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      await fn(sock);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  function runAsync(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
    const started = Date.now();
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: dir,
        env: { ...process.env, LAYERLENS_CACHE_DIR: path.join(dir, '.cache'), ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
    });
  }

  it('a daemon that never answers: unknown with the reason, within the time-out', async () => {
    await withFakeDaemon(
      () => undefined, // accepts the connection, never responds
      async (sock) => {
        const r = await runAsync(['analyze', '--json'], { DOCKER_HOST: `unix://${sock}` });
        assert.strictEqual(r.code, 0, r.stderr);
        const j = JSON.parse(r.stdout) as { daemon: { reachable: boolean; error: string }; steps: { cache: string; reason: string }[] };
        assert.strictEqual(j.daemon.reachable, false);
        assert.match(j.daemon.error, /time|did not answer/i);
        assert.ok(j.steps.every((s) => s.cache === 'unknown' && /unreachable/.test(s.reason)));
        assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
      },
    );
  });

  it('a daemon that answers garbage: unknown with the reason, no crash', async () => {
    await withFakeDaemon(
      (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"this is": not json');
      },
      async (sock) => {
        const r = await runAsync(['analyze', '--json'], { DOCKER_HOST: `unix://${sock}` });
        assert.strictEqual(r.code, 0, r.stderr);
        const j = JSON.parse(r.stdout) as { daemon: { reachable: boolean; error: string }; steps: { cache: string }[] };
        assert.strictEqual(j.daemon.reachable, false);
        assert.match(j.daemon.error, /malformed|unexpected/i);
        assert.ok(j.steps.every((s) => s.cache === 'unknown'));
      },
    );
  });
});
