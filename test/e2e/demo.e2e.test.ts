// The demo path end to end: `scripts/start.sh` (what `npm start` runs) packages the .vsix, builds and edits a copy of
// sample/, starts code-server with Layer Lens installed and prints its URL; Chromium opens exactly that URL, and the
// editor must show the hints, the miss with its reason, a diagnostic with its quick fix, and (no other Dockerfile
// extension being installed) the base language features: instruction docs in the hover and completion.
//
// A second suite installs a stand-in extension with the id `docker.docker` (Docker DX) next to Layer Lens: the base
// features must then stay off while Layer Lens's own hover remains.
//
// Needs what test/e2e/extension.e2e.test.ts needs (scripts/ensure-code-server.sh, a daemon); skips without them
// unless CI or LAYERLENS_REQUIRE_DAEMON is set.
import * as assert from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ensureBaseImage, nonce, requireDaemon, trackTag, useDockerScope, type ContextFiles } from '../docker/harness';
import { CodeServerSandbox, QUIET_USER_SETTINGS, runToEnd, sandboxProcesses } from './codeServer';
import { ARTIFACTS_DIR, REPO_ROOT, requireTools, type E2ETools } from './e2eEnv';
import { packagedVsix } from './vsix';
import { waitUntil } from './wait';
import { UI_DEADLINE_MS, WORKBENCH_DEADLINE_MS, Workbench } from './workbench';

const SIZE = /~?\d+(\.\d+)? (B|KiB|MiB|GiB)/;
/** First sentence of dockerfile-language-service's COPY documentation. */
const COPY_DOCS = /Copy files or folders from/;
const READY = /^Layer Lens is ready: (http:\/\/127\.0\.0\.1:\d+\/\?folder=\S+)$/m;

describe('npm start: the demo in a real VS Code (scripts/start.sh + code-server)', function () {
  // Packaging, the sample build, code-server start and the first analysis.
  this.timeout(900_000);
  let tools: E2ETools;
  let demoDir = '';
  let script: ChildProcess | null = null;
  let scriptOut = '';
  let wb: Workbench | null = null;
  let sampleDir = '';

  before(async function () {
    tools = requireTools(this);
    await requireDaemon(this);
    demoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-demo-e2e-'));
    const tag = trackTag(`layerlens-test/demo-sample:${nonce()}`);
    const proc = spawn('bash', [path.join(REPO_ROOT, 'scripts', 'start.sh')], {
      cwd: REPO_ROOT,
      env: { ...process.env, LAYERLENS_DEMO_DIR: demoDir, LAYERLENS_DEMO_TAG: tag, LAYERLENS_PORT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    script = proc;
    proc.stdout!.on('data', (d: Buffer) => (scriptOut += d.toString('utf8')));
    proc.stderr!.on('data', (d: Buffer) => (scriptOut += d.toString('utf8')));
    const printed = await waitUntil(
      'start.sh to print its URL',
      () => (proc.exitCode !== null ? 'exited' : (READY.exec(scriptOut)?.[1] ?? null)),
      (v) => v !== null,
      600_000,
      250,
    ).catch((e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- start.sh output ---\n${scriptOut}`);
    });
    if (printed === 'exited' || printed === null) throw new Error(`start.sh exited (${proc.exitCode}) before it was ready:\n${scriptOut}`);
    const url = new URL(printed);
    sampleDir = url.searchParams.get('folder') ?? '';
    assert.strictEqual(sampleDir, path.join(demoDir, 'sample'), printed);
    wb = await Workbench.open({
      url: url.origin,
      folder: sampleDir,
      chromiumPath: tools.chromium,
      profileDir: fs.mkdtempSync(path.join(demoDir, 'chromium-')),
      env: { ...process.env, HOME: demoDir },
      artifactsDir: ARTIFACTS_DIR,
    });
    await wb.openFile('Dockerfile');
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) {
      await wb.screenshot(`demo-failed-${(this.currentTest.title || 'test').replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`).catch(() => undefined);
    }
  });

  after(async function () {
    this.timeout(120_000);
    await wb?.close().catch(() => undefined);
    wb = null;
    const proc = script;
    script = null;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      // Ctrl-C's way out: the script stops the code-server it started and exits 0.
      const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      proc.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
      if (code === 'timeout') proc.kill('SIGKILL');
      assert.strictEqual(code, 0, `start.sh did not stop cleanly:\n${scriptOut}`);
    }
    if (demoDir) {
      const left = await waitUntil('the demo code-server processes to end', () => sandboxProcesses(path.join(demoDir, 'code-server')), (ps) => ps.length === 0, 20_000).catch(
        () => sandboxProcesses(path.join(demoDir, 'code-server')),
      );
      for (const p of left) process.kill(p.pid, 'SIGKILL');
      fs.rmSync(demoDir, { recursive: true, force: true });
      assert.deepStrictEqual(left.map((p) => p.cmdline), [], 'processes started by start.sh still running after it stopped');
    }
  });

  it('shows sizes and cache words as inlay hints on the edited sample', async function () {
    const lines = await wb!.waitForLines(
      'hints: FROM and the tool COPY cached, COPY . . and the install rebuilding',
      (ls) => {
        const from = ls.find((l) => l.startsWith('FROM '));
        const tool = ls.find((l) => l.startsWith('COPY tools/pip'));
        const broad = ls.find((l) => l.startsWith('COPY . .'));
        const install = ls.find((l) => l.startsWith('RUN pip install'));
        return [from, tool].every((l) => !!l && /cached/.test(l) && SIZE.test(l)) && [broad, install].every((l) => !!l && /rebuilds/.test(l) && SIZE.test(l));
      },
      WORKBENCH_DEADLINE_MS,
    );
    assert.ok(lines.length > 0);
    await wb!.screenshot('demo-hints');
  });

  it('explains the miss in one hover with the COPY documentation', async function () {
    const text = await wb!.hoverLine('COPY . .', /src\/app\.py/);
    assert.match(text, /Cache:\s*rebuilds/, text);
    assert.match(text, /src\/app\.py/, text);
    assert.match(text, /changed since the last build/, text);
    assert.match(text, COPY_DOCS, 'no other Dockerfile extension is installed: the base hover docs are on');
    await wb!.screenshot('demo-hover');
    await wb!.page.keyboard.press('Escape');
  });

  it('marks the install after COPY . . and offers the reorder quick fix', async function () {
    const w = wb!;
    await w.page.locator('.editor-instance .monaco-editor .squiggly-warning').first().waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await w.closePanel();
    await w.clickLine('COPY . .');
    await w.openLightbulbMenu();
    const fix = w.page.locator('.context-view .action-widget .monaco-list-row.action').filter({ hasText: 'Copy requirements.txt and run `pip install' });
    await fix.first().waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await w.screenshot('demo-quick-fix');
    await w.page.keyboard.press('Escape');
  });

  it('completes instructions with documentation (base language features)', async function () {
    const w = wb!;
    await w.clickLine('CMD ');
    await w.page.keyboard.press('End');
    await w.page.keyboard.press('Enter');
    await w.page.keyboard.type('HEALTH');
    await w.page.keyboard.press('Control+Space');
    const item = w.page.locator('.suggest-widget .monaco-list-row').filter({ hasText: 'HEALTHCHECK' }).first();
    await item.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await w.screenshot('demo-completion');
    await w.page.keyboard.press('Escape');
  });

  // Last: the panel opens beside the Dockerfile. The sample image was built by start.sh, so the Dockerfile finds it.
  it('opens the Layer Explorer on the sample image, its rows tied to the Dockerfile', async function () {
    const w = wb!;
    await w.runCommand('Layer Lens: Open Layer Explorer');
    const panel = w.page.frameLocator('iframe.webview').frameLocator('#active-frame');
    const rows = panel.locator('#layers-body tr');
    const banner = panel.locator('#banner');
    const seen = await waitUntil(
      'the layer rows or a problem banner',
      async () => ((await rows.first().isVisible()) ? 'rows' : (await banner.isVisible()) ? 'banner' : 'nothing'),
      (v) => v !== 'nothing',
      WORKBENCH_DEADLINE_MS,
    );
    if (seen === 'banner') assert.fail(`the panel shows a problem instead of the layers: ${await banner.innerText()}`);
    const texts = await waitUntil(
      'the rows of the sample: the base image under FROM, COPY . . and the pip install',
      async () => (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ')),
      (ts) => ts.some((t) => t.includes('FROM layerlens/busybox:1')) && ts.some((t) => /COPY/.test(t)) && ts.some((t) => /pip install/.test(t)),
      UI_DEADLINE_MS,
    );
    // The install row names its Dockerfile line and has a size.
    assert.ok(texts.some((t) => /pip install.*line \d+/.test(t) && /\d+(\.\d+)? (B|KiB|MiB)/.test(t)), texts.join('\n'));
    await w.screenshot('demo-layer-explorer');
  });
});

describe('base language features stay off beside another Dockerfile extension (code-server + docker.docker stand-in)', function () {
  this.timeout(600_000);
  const scope = useDockerScope('e2e-base-off');
  let tools: E2ETools;
  let sandbox: CodeServerSandbox | null = null;
  let wb: Workbench | null = null;

  before(async function () {
    tools = requireTools(this);
    await requireDaemon(this);
    await ensureBaseImage();
    const ctx = scope.context({ Dockerfile: 'FROM layerlens-test/busybox:1\nWORKDIR /app\nCOPY . .\n', 'a.txt': 'a\n' } satisfies ContextFiles);
    const vsix = await packagedVsix();
    const fake = await fakeDockerExtension(scope.tempDir('layerlens-fake-ext-'));
    sandbox = CodeServerSandbox.create(tools);
    await sandbox.installExtension(vsix);
    await sandbox.installExtension(fake);
    sandbox.writeUserSettings({ ...QUIET_USER_SETTINGS, 'editor.hover.delay': 200 });
    const url = await sandbox.start(ctx.dir);
    wb = await Workbench.open({ url, folder: ctx.dir, chromiumPath: tools.chromium, profileDir: sandbox.browserProfileDir, env: sandbox.env(), artifactsDir: ARTIFACTS_DIR });
    await wb.openFile('Dockerfile');
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) {
      await wb.screenshot('failed-base-features-off').catch(() => undefined);
      console.log(sandbox?.logTail(80));
    }
  });

  after(async function () {
    this.timeout(120_000);
    await wb?.close().catch(() => undefined);
    wb = null;
    if (!sandbox) return;
    const leaked = await sandbox.stop();
    sandbox.dispose();
    sandbox = null;
    assert.deepStrictEqual(leaked, []);
  });

  it('hover has Layer Lens layer information and no instruction docs; completion offers no instructions', async function () {
    const w = wb!;
    // Analysed first (the hint on FROM), so that the hover has Layer Lens's part to show.
    await w.waitForLines('a hint on FROM', (ls) => /^FROM .*(cached|rebuilds|\?)/.test(ls.find((l) => l.startsWith('FROM ')) ?? ''), WORKBENCH_DEADLINE_MS);
    const text = await w.hoverLine('WORKDIR', /Layer Lens/);
    assert.doesNotMatch(text, /Set the working directory/, text);
    await w.page.keyboard.press('Escape');
    await w.page.keyboard.press('Control+End');
    await w.page.keyboard.type('HEALTH');
    await w.page.keyboard.press('Control+Space');
    // The widget opens with VS Code's own word suggestions or "No suggestions."; then it must not list HEALTHCHECK.
    const widget = w.page.locator('.suggest-widget');
    await widget.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await waitUntil('the suggest widget to settle', async () => (await widget.innerText()).trim(), (t) => t.length > 0, UI_DEADLINE_MS);
    assert.doesNotMatch(await widget.innerText(), /HEALTHCHECK/);
    await w.screenshot('base-features-off-beside-docker-dx');
    await w.page.keyboard.press('Escape');
  });
});

/** A declarative extension with the id `docker.docker` (Docker DX's), packaged with vsce: code-server installs only .vsix files. */
async function fakeDockerExtension(dir: string): Promise<string> {
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'docker',
      publisher: 'docker',
      displayName: 'Docker DX (test stand-in)',
      description: 'Stands in for Docker DX in Layer Lens end-to-end tests; contributes nothing.',
      version: '0.0.1',
      license: 'MIT',
      engines: { vscode: '^1.91.0' },
      repository: { type: 'git', url: 'https://example.invalid/stand-in' },
    }),
  );
  fs.writeFileSync(path.join(dir, 'README.md'), '# Docker DX stand-in\n\nFor tests only.\n');
  fs.writeFileSync(path.join(dir, 'LICENSE'), 'MIT\n');
  const out = path.join(dir, 'docker.vsix');
  const vsce = path.join(REPO_ROOT, 'node_modules', '.bin', 'vsce');
  await runToEnd(vsce, ['package', '--no-dependencies', '--out', out], process.env, 120_000, dir);
  return out;
}
