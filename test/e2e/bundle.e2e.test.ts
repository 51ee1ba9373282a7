// The packaged .vsix: what it contains, and that its language server runs on its own — extracted from the .vsix
// into an empty folder (no node_modules anywhere near it) and spoken to over stdio, as Neovim or Helix would.
// An ssh:// daemon host exercises dockerode's ssh2, whose native parts (cpu-features, sshcrypto.node) are not
// bundled: it must load its pure-JavaScript fallbacks and report the host unreachable, not crash.
import * as assert from 'assert';
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  createMessageConnection,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver/node';
import { BUILD_IMAGE_COMMAND, OPEN_EXPLORER_COMMAND, OPEN_EXPLORER_FOR_IMAGE_COMMAND, REFRESH_COMMAND, SHOW_LOG_COMMAND } from '../../client/src/commands';
import { DaemonStatusNotification, DEFAULT_SETTINGS, SETTINGS_SECTION, type DaemonStatusParams } from '../../server/src/protocol';
import { requireDaemon } from '../docker/harness';
import { REPO_ROOT } from './e2eEnv';
import { packagedVsix, zipEntries } from './vsix';

/** Everything the .vsix may hold: the bundles and the manifest files (no sources, maps, tests or node_modules). */
const ALLOWED = [
  /^\[Content_Types\]\.xml$/,
  /^extension\.vsixmanifest$/,
  /^extension\/package\.json$/,
  /^extension\/(readme|changelog)\.md$/i,
  /^extension\/LICENSE(\.txt)?$/,
  /^extension\/images\/icon\.png$/,
  /^extension\/dist\/(client|server|hashWorker)\.js$/,
  /^extension\/dist\/proto\/[^/]+\.proto$/,
  /^extension\/dist\/webview\/[^/]+\.(js|css)$/,
];

describe('packaged .vsix and its bundled language server', function () {
  this.timeout(240_000);
  let vsix = '';
  let serverJs = '';
  let dir = '';

  before(async function () {
    vsix = await packagedVsix();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-bundle-'));
    const server = zipEntries(vsix).find((e) => e.name === 'extension/dist/server.js');
    assert.ok(server, 'the .vsix has no extension/dist/server.js');
    serverJs = path.join(dir, 'server.js');
    fs.writeFileSync(serverJs, server.read());
  });

  after(function () {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('holds only the bundles and manifest files', function () {
    const names = zipEntries(vsix).map((e) => e.name);
    const unexpected = names.filter((n) => !ALLOWED.some((re) => re.test(n)));
    assert.deepStrictEqual(unexpected, [], `unexpected files in the .vsix: ${unexpected.join(', ')}`);
    for (const required of ['extension/package.json', 'extension/dist/client.js', 'extension/dist/server.js', 'extension/dist/hashWorker.js']) {
      assert.ok(names.includes(required), `${required} missing from the .vsix (${names.join(', ')})`);
    }
    const size = fs.statSync(vsix).size;
    console.log(`      .vsix: ${(size / 1024).toFixed(0)} KiB, ${names.length} entries`);
    // A guard against bundling something huge by accident (today: ~0.4 MiB).
    assert.ok(size < 3 * 1024 * 1024, `the .vsix is ${size} bytes`);
  });

  it('activates only on Dockerfiles, contributes its commands and settings, guards the daemon setting', function () {
    const manifestEntry = zipEntries(vsix).find((e) => e.name === 'extension/package.json');
    assert.ok(manifestEntry);
    const manifest = JSON.parse(manifestEntry.read().toString('utf8')) as Manifest;
    assert.strictEqual(manifest.main, './dist/client.js');
    // Opening a Dockerfile, restoring a Layer Explorer panel after a reload (its serializer), or running a contributed
    // command (VS Code ≥ 1.74 adds those events itself): nothing activates it merely because a workspace holds a Dockerfile.
    assert.deepStrictEqual(manifest.activationEvents, ['onLanguage:dockerfile', 'onWebviewPanel:layerLens.layerExplorer']);
    assert.deepStrictEqual(manifest.contributes.commands.map((c) => c.command).sort(), [REFRESH_COMMAND, SHOW_LOG_COMMAND, OPEN_EXPLORER_COMMAND, OPEN_EXPLORER_FOR_IMAGE_COMMAND, BUILD_IMAGE_COMMAND].sort());
    // One contributed setting per setting the server reads: a default with named fields (`inlayHints: { enabled }`) is
    // a group of dotted settings; a primitive or an empty map (`buildArgs: {}`) is one setting.
    const expected = Object.entries(DEFAULT_SETTINGS)
      .flatMap(([k, v]) => (typeof v === 'object' && Object.keys(v).length > 0 ? Object.keys(v).map((n) => `${k}.${n}`) : [k]))
      .map((k) => `${SETTINGS_SECTION}.${k}`)
      .sort();
    const props = manifest.contributes.configuration.properties;
    assert.deepStrictEqual(Object.keys(props).sort(), expected);
    // A workspace (a cloned repository) must not point the extension at another daemon.
    assert.strictEqual(props['layerLens.dockerHost']?.scope, 'machine');
    assert.ok(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('layerLens.dockerHost'));
  });

  it('carries no source maps, no TypeScript sources, no tests and no node_modules', function () {
    const names = zipEntries(vsix).map((e) => e.name);
    assert.deepStrictEqual(names.filter((n) => /\.map$/.test(n)), []);
    assert.deepStrictEqual(names.filter((n) => /\.tsx?$/.test(n)), []);
    assert.deepStrictEqual(names.filter((n) => /(^|\/)(test|tests|out|src)\//.test(n)), []);
    assert.deepStrictEqual(names.filter((n) => n.includes('node_modules')), []);
    // Nor does a bundle point at a map that is not there.
    for (const bundle of zipEntries(vsix).filter((e) => e.name.endsWith('.js'))) {
      assert.doesNotMatch(bundle.read().toString('utf8'), /\/\/# sourceMappingURL=/, bundle.name);
    }
  });

  it('has the Marketplace metadata: icon, banner, links, keywords, preview, and engines.vscode from the language client', function () {
    const entries = zipEntries(vsix);
    const manifest = JSON.parse(entries.find((e) => e.name === 'extension/package.json')!.read().toString('utf8')) as Manifest;
    const icon = entries.find((e) => e.name === `extension/${manifest.icon}`);
    assert.ok(icon, `icon ${manifest.icon} not in the .vsix`);
    const png = icon.read();
    assert.strictEqual(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.deepStrictEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [128, 128]);
    assert.ok(manifest.galleryBanner?.color && manifest.galleryBanner.theme);
    for (const url of [manifest.homepage, manifest.bugs?.url, manifest.repository?.url, manifest.qna]) assert.match(url ?? '', /^https:\/\//);
    assert.ok((manifest.keywords ?? []).includes('dockerfile'));
    assert.strictEqual(manifest.preview, true);
    // The oldest VS Code the bundled vscode-languageclient supports.
    const clientManifest = path.join(REPO_ROOT, 'node_modules', 'vscode-languageclient', 'package.json');
    const clientEngines = (JSON.parse(fs.readFileSync(clientManifest, 'utf8')) as { engines: { vscode: string } }).engines.vscode;
    assert.strictEqual(manifest.engines.vscode, clientEngines);
  });

  it('ships every schema file the bundle loads from its own folder (dockerode\'s BuildKit session and status protos)', function () {
    const entries = zipEntries(vsix);
    const names = new Set(entries.map((e) => e.name));
    const server = entries.find((e) => e.name === 'extension/dist/server.js')!.read().toString('utf8');
    // `path.resolve(__dirname, "proto", "auth.proto")` survives minification as these literals.
    const loaded = [...server.matchAll(/resolve\(__dirname,\s*"([\w-]+)",\s*"([\w.-]+\.proto)"\)/g)].map((m) => `${m[1]}/${m[2]}`);
    assert.deepStrictEqual([...new Set(loaded)].sort(), ['proto/auth.proto', 'proto/buildkit_status.proto']);
    for (const rel of loaded) {
      assert.ok(names.has(`extension/dist/${rel}`), `the bundle loads dist/${rel}, which the .vsix lacks`);
      // Complete and self-contained: protobufjs (what dockerode parses it with) reads it from the extracted folder.
      const file = path.join(dir, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, entries.find((e) => e.name === `extension/dist/${rel}`)!.read());
      const protobuf = require(require.resolve('protobufjs', { paths: [path.join(REPO_ROOT, 'node_modules', 'dockerode')] })) as { loadSync(f: string): { nestedArray: unknown[] } };
      assert.ok(protobuf.loadSync(file).nestedArray.length > 0, rel);
    }
  });

  it('serves over stdio from the extracted bundle and reports the local daemon', async function () {
    await requireDaemon(this);
    const status = await daemonStatusFrom(serverJs, '');
    assert.strictEqual(status.state, 'connected', JSON.stringify(status));
    assert.match(status.version ?? '', /^\d+\.\d+/);
  });

  it('reports an ssh:// host as unreachable (ssh2 runs without its native parts)', async function () {
    // Port 1 on the loopback refuses at once: the ssh2 client is created, connects and fails cleanly.
    const status = await daemonStatusFrom(serverJs, 'ssh://nobody@127.0.0.1:1');
    assert.strictEqual(status.state, 'unreachable', JSON.stringify(status));
    assert.strictEqual(status.host, 'ssh://nobody@127.0.0.1:1');
    assert.match(status.reason ?? '', /ECONNREFUSED|refused/i, JSON.stringify(status));
  });
});

describe('the CLI bundle as npm installs it (bin/layerlens.js beside dist/cli.js, no out/)', function () {
  this.timeout(240_000);
  let pkg = '';

  before(async function () {
    // The CLI bundle as `npm run bundle` makes it (the .vsix may come prebuilt from LAYERLENS_E2E_VSIX).
    const bundled = spawnSync(process.execPath, ['esbuild.mjs', '--production', '--only=cli'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.strictEqual(bundled.status, 0, bundled.stderr);
    pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-clipkg-'));
    fs.mkdirSync(path.join(pkg, 'bin'));
    fs.copyFileSync(path.join(REPO_ROOT, 'bin', 'layerlens.js'), path.join(pkg, 'bin', 'layerlens.js'));
    fs.cpSync(path.join(REPO_ROOT, 'dist'), path.join(pkg, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') });
    fs.mkdirSync(path.join(pkg, 'ctx'));
    fs.writeFileSync(path.join(pkg, 'ctx', 'Dockerfile'), 'FROM busybox\nCOPY app.txt /app/\nRUN true\n');
    fs.writeFileSync(path.join(pkg, 'ctx', 'app.txt'), 'hello\n');
  });

  after(function () {
    if (pkg) fs.rmSync(pkg, { recursive: true, force: true });
  });

  it('runs from the bundle through a V8 code cache it writes once, rejects a damaged one and rewrites it', function () {
    const cacheDir = path.join(pkg, 'cache');
    // A daemon that is not there: the analysis is the context's alone, quick and the same every time.
    const env = { ...process.env, LAYERLENS_CACHE_DIR: cacheDir, DOCKER_HOST: `unix://${path.join(pkg, 'no-daemon.sock')}`, DOCKER_CONTEXT: '' };
    const analyze = (): string => {
      const r = spawnSync(process.execPath, [path.join(pkg, 'bin', 'layerlens.js'), 'analyze', path.join(pkg, 'ctx', 'Dockerfile'), '--json'], { env, cwd: pkg, encoding: 'utf8', timeout: 60_000 });
      assert.strictEqual(r.status, 0, r.stderr);
      return r.stdout;
    };
    const codeCaches = (): string[] => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).filter((f) => /^cli-code-[0-9a-f]+\.v8$/.test(f)) : []);

    const first = analyze();
    const report = JSON.parse(first) as { daemon: { reachable: boolean }; steps: { instruction: string; size: { bytes: number | null } }[] };
    assert.strictEqual(report.daemon.reachable, false);
    assert.deepStrictEqual(report.steps.map((st) => st.instruction), ['FROM', 'COPY', 'RUN']);
    assert.strictEqual(report.steps[1]!.size.bytes, 6);
    const caches = codeCaches();
    assert.strictEqual(caches.length, 1, 'one code cache written by the first run');
    const file = path.join(cacheDir, caches[0]!);
    const written = fs.statSync(file);
    assert.ok(written.size > 10_000, `code cache of ${written.size} bytes`);

    assert.strictEqual(analyze(), first, 'the same report when loaded from the code cache');
    assert.strictEqual(fs.statSync(file).mtimeMs, written.mtimeMs, 'an accepted cache is not rewritten');

    fs.writeFileSync(file, Buffer.alloc(4096, 7));
    assert.strictEqual(analyze(), first, 'a damaged code cache is only a slower start');
    assert.ok(fs.statSync(file).size > 10_000, 'and is replaced by a good one');
  });

  it('ships a self-contained hashing thread (dist/hashWorker.js) that answers the pool\'s jobs', async function () {
    const file = path.join(pkg, 'ctx', 'app.txt');
    const { Worker } = await import('worker_threads');
    const worker = new Worker(path.join(pkg, 'dist', 'hashWorker.js'));
    try {
      const reply = await new Promise<Record<string, unknown>>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage({ id: 7, jobs: [{ abs: file, expectedSize: 6, headers: ['hdr'] }, { abs: `${file}.missing`, expectedSize: 1, headers: [] }] });
      });
      const sha = (s: string): string => crypto.createHash('sha256').update(s).digest('hex');
      const results = reply.results as Array<Record<string, unknown>>;
      assert.strictEqual(reply.id, 7);
      assert.deepStrictEqual(results[0], {
        sha256: sha('hello\n'),
        tars: [sha('hdrhello\n')],
        total: 6,
        after: { size: 6, mtimeMs: fs.statSync(file).mtimeMs, ino: fs.statSync(file).ino },
      });
      assert.strictEqual((results[1]!.error as { code: string }).code, 'ENOENT');
    } finally {
      await worker.terminate();
    }
  });
});

interface Manifest {
  main: string;
  icon: string;
  galleryBanner?: { color?: string; theme?: string };
  homepage?: string;
  bugs?: { url?: string };
  repository?: { url?: string };
  qna?: string;
  keywords?: string[];
  preview?: boolean;
  engines: { vscode: string };
  activationEvents: string[];
  contributes: { commands: { command: string }[]; configuration: { properties: Record<string, { scope?: string }> } };
  capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } };
}

/**
 * Starts `node server.js --stdio` with `layerLens.dockerHost` = host, resolves the first daemon status it sends,
 * then shuts it down and checks that the process exits by itself.
 */
async function daemonStatusFrom(serverJs: string, host: string): Promise<DaemonStatusParams> {
  const proc = spawn(process.execPath, [serverJs, '--stdio'], { cwd: path.dirname(serverJs), stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  conn.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => ({ dockerHost: host })));
  conn.onRequest('client/registerCapability', () => null);
  const status = new Promise<DaemonStatusParams>((resolve) => conn.onNotification(DaemonStatusNotification, resolve));
  conn.listen();
  try {
    await withDeadline(
      conn.sendRequest(InitializeRequest.type, {
        processId: process.pid,
        rootUri: null,
        workspaceFolders: null,
        capabilities: { workspace: { configuration: true } },
      }),
      30_000,
      'initialize',
      proc,
      () => stderr,
    );
    await conn.sendNotification(InitializedNotification.type, {});
    const s = await withDeadline(status, 30_000, 'the daemon status notification', proc, () => stderr);
    await withDeadline(conn.sendRequest(ShutdownRequest.type), 10_000, 'shutdown', proc, () => stderr);
    await conn.sendNotification(ExitNotification.type);
    const code = await withDeadline(exited, 10_000, 'the server to exit after `exit`', proc, () => stderr);
    assert.strictEqual(code, 0, `server exit code ${code}; stderr:\n${stderr}`);
    return s;
  } finally {
    conn.dispose();
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string, proc: ChildProcess, stderr: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms (server pid ${proc.pid}); stderr:\n${stderr()}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
