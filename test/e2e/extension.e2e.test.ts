// Layer Lens in a real VS Code: the packaged .vsix installed into a sandboxed code-server, driven through Chromium.
// The workspace is a copy of test/fixtures/e2e-basic, built with the real daemon and then edited, so the editor must
// show both cache words. Every assertion reads the DOM (or, after a quick fix, the saved file); screenshots go to
// test-artifacts/e2e/.
//
// Needs: scripts/ensure-code-server.sh (code-server, Node 24, Chromium, playwright-core) and a Docker daemon
// (scripts/ensure-docker.sh). Without them the suite skips, unless CI or LAYERLENS_REQUIRE_DAEMON is set: then it fails.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { chooseBuilder } from '../../server/src/lsp/settings';
import { BASE_IMAGE, checkDaemon, ensureBaseImage, nonce, requireDaemon, useDockerScope, type Builder, type ContextFiles } from '../docker/harness';
import type { CodeServerSandbox } from './codeServer';
import { REPO_ROOT, requireTools, type E2ETools } from './e2eEnv';
import { closeE2ESession, openE2ESession, screenshotIfFailed, type E2ESession } from './e2eSession';
import { packagedVsix } from './vsix';
import { waitUntil, WaitTimeout } from './wait';
import { UI_DEADLINE_MS, WORKBENCH_DEADLINE_MS, type Workbench } from './workbench';

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'e2e-basic');
/** A size as the hints print it: `236 B`, `40.6 KiB`, `~0 B`. */
const SIZE = /~?\d+(\.\d+)? (B|KiB|MiB|GiB)/;
/** The LL001 quick fix on the fixture (titles come from server/src/engine/quickFixes.ts). */
const REORDER_FIX = 'Copy package.json, package-lock.json and run `npm ci` before `COPY . .`';

describe('VS Code end-to-end (code-server + packaged .vsix)', function () {
  // Packaging, an image build, code-server start and the first analysis: a few minutes on 2 cores.
  this.timeout(600_000);
  const scope = useDockerScope('e2e');
  let tools: E2ETools;
  let session: E2ESession | null = null;
  let sandbox: CodeServerSandbox | null = null;
  let wb: Workbench | null = null;
  let workspace = '';
  let builder: Builder = 'classic';
  let daemonVersion = '';

  before(async function () {
    tools = requireTools(this);
    await requireDaemon(this);
    const started = Date.now();
    const step = (what: string): void => console.log(`      [e2e +${((Date.now() - started) / 1000).toFixed(1)}s] ${what}`);

    const vsix = await packagedVsix();
    step(`packaged ${path.basename(vsix)} (${(fs.statSync(vsix).size / 1024).toFixed(0)} KiB)`);

    // Build with the builder `docker build` picks on this daemon, which is what the extension predicts for by
    // default (the sandbox has no DOCKER_BUILDKIT, see below).
    daemonVersion = (await checkDaemon()).serverVersion ?? '';
    builder = chooseBuilder('auto', {}, daemonVersion).builder;
    await ensureBaseImage();
    const ctx = scope.context(readTree(FIXTURE));
    workspace = ctx.dir;
    assert.ok(fs.readFileSync(path.join(workspace, 'Dockerfile'), 'utf8').includes(`FROM ${BASE_IMAGE}`));
    await scope.build({ dir: workspace, builder });
    // After the build, `COPY . .` (and what follows) must be predicted to rebuild because of this file. The nonce
    // keeps an image left by an earlier run from matching the edited content.
    fs.appendFileSync(path.join(workspace, 'src', 'app.js'), `// edited after the build ${nonce()}\n`);
    step(`built the fixture with ${builder} in ${workspace}`);

    session = await openE2ESession(tools, vsix, workspace, { 'editor.hover.delay': 200 }, { DOCKER_BUILDKIT: undefined });
    sandbox = session.sandbox;
    wb = session.wb;
    step(`code-server at ${session.url} (pid ${sandbox.pid}), workbench loaded`);
    await wb.openFile('Dockerfile');
    step('Dockerfile open');
  });

  afterEach(async function () {
    await screenshotIfFailed(this, wb);
  });

  after(async function () {
    this.timeout(120_000);
    const open = session;
    session = null;
    sandbox = null;
    wb = null;
    await closeE2ESession(open);
  });

  it('shows layer sizes and cache words as inlay hints', async function () {
    const w = wb!;
    // The first analysis walks the context and reads the daemon: allow it the workbench deadline.
    const lines = await w.waitForLines(
      'hints with sizes on FROM and both COPYs, `cached` and `rebuilds`',
      (ls) => {
        const from = ls.find((l) => l.startsWith('FROM '));
        const tool = ls.find((l) => l.startsWith('COPY tools/npm'));
        const broad = ls.find((l) => l.startsWith('COPY . .'));
        return !!from && /cached/.test(from) && SIZE.test(from) && !!tool && /cached/.test(tool) && SIZE.test(tool) && !!broad && /rebuilds/.test(broad) && SIZE.test(broad);
      },
      WORKBENCH_DEADLINE_MS,
    );
    // What follows the miss rebuilds too; the RUN that installs is one of them.
    const install = lines.find((l) => l.startsWith('RUN npm ci'));
    assert.match(install ?? '', /rebuilds/, lines.join('\n'));
    await w.screenshot('inlay-hints');
  });

  it('explains a predicted miss in the hover, naming the changed file', async function () {
    const w = wb!;
    const text = await w.hoverLine('COPY . .', /src\/app\.js/);
    assert.match(text, /Cache:\s*rebuilds/, text);
    assert.match(text, /src\/app\.js/, text);
    assert.match(text, /changed since the last build/, text);
    await w.screenshot('hover-miss-reason');
    await w.page.keyboard.press('Escape');
  });

  it('shows the daemon in the status bar; clicking it opens the log', async function () {
    const w = wb!;
    const item = w.statusBarItem(/Docker/).first();
    await item.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    const text = (await item.innerText()).replace(/\s+/g, ' ').trim();
    assert.ok(text.includes(`Docker ${daemonVersion}`), `status bar: ${text}`);
    assert.ok(text.includes(builder), `status bar: ${text} (expected the ${builder} builder)`);
    // The tooltip names the host the server connected to.
    await item.hover();
    const tooltip = w.page.locator(':is(.monaco-hover, .workbench-hover):visible').filter({ hasText: 'unix:///var/run/docker.sock' }).first();
    await tooltip.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    assert.match(await tooltip.innerText(), /Docker daemon connected/);
    await w.screenshot('status-bar-tooltip');
    await item.click();
    // The one output channel, with the server's line about the daemon it connected to.
    const output = w.page.locator('.part.panel .view-lines').filter({ hasText: /Docker\s.*\sat\sunix:/ });
    await output.first().waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await w.screenshot('status-bar-and-log');
  });

  it('applies the reorder quick fix picked from the lightbulb menu', async function () {
    const w = wb!;
    const dockerfile = path.join(workspace, 'Dockerfile');
    const before = fs.readFileSync(dockerfile, 'utf8');
    await w.closePanel();
    await w.clickLine('COPY . .');
    await w.openLightbulbMenu();
    await w.screenshot('quick-fix-menu');
    await w.pickAction(REORDER_FIX);
    // The editor shows the new order at once; saving writes exactly the expected text.
    await w.waitForLines('the reordered Dockerfile', (ls) => {
      const i = ls.findIndex((l) => l.startsWith('COPY package.json package-lock.json ./'));
      return i >= 0 && ls[i + 1]?.startsWith('RUN npm ci') === true && ls[i + 2]?.startsWith('COPY . .') === true;
    });
    await w.save();
    const expected = before.replace('COPY . .\nRUN npm ci\n', 'COPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n');
    assert.notStrictEqual(expected, before, 'the fixture no longer has `COPY . .` right before `RUN npm ci`');
    await waitForFile(dockerfile, expected);
    await w.screenshot('quick-fix-applied');
  });

  it('restarts the language server with "Layer Lens: Refresh" (one server before and after)', async function () {
    const w = wb!;
    const sb = sandbox!;
    const before = languageServers(sb);
    assert.strictEqual(before.length, 1, `language servers before the refresh:\n${before.join('\n')}`);
    await w.runCommand('Layer Lens: Refresh');
    // A new server: its daemon status reaches the status bar and the hints come back on the reordered file.
    await w.statusBarItem(/Docker \d/).first().waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await w.waitForLines('hints after the restart', (ls) => ls.some((l) => l.startsWith('COPY . .') && /rebuilds/.test(l)));
    // The old server exits after its shutdown/exit handshake; the new one is already running.
    await waitUntil('exactly one language server after the refresh', () => languageServers(sb), (ls) => ls.length === 1, UI_DEADLINE_MS);
  });
});

/** Language servers of this extension running in the sandbox. */
function languageServers(sandbox: CodeServerSandbox): string[] {
  return sandbox.processes().map((p) => p.cmdline).filter((c) => /layerlens\.layer-lens-[^/]+\/dist\/server\.js/.test(c));
}

/** Every file under `dir` as harness ContextFiles (relative POSIX paths → contents, with their modes). */
function readTree(dir: string, prefix = ''): ContextFiles {
  const files: ContextFiles = {};
  for (const e of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    const abs = path.join(dir, rel);
    if (e.isDirectory()) Object.assign(files, readTree(dir, rel));
    else files[rel] = { content: fs.readFileSync(abs), mode: fs.statSync(abs).mode & 0o777 };
  }
  return files;
}

/** Waits until `file` holds exactly `expected` (the editor saves asynchronously). */
async function waitForFile(file: string, expected: string): Promise<void> {
  const last = await waitUntil(`${file} to be saved`, () => fs.readFileSync(file, 'utf8'), (t) => t === expected, UI_DEADLINE_MS).catch(
    (e: unknown) => (e instanceof WaitTimeout ? String(e.last) : ''),
  );
  assert.strictEqual(last, expected, `${file} after the quick fix and save`);
}
