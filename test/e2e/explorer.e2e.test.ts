// The Layer Explorer in a real VS Code (code-server + the packaged .vsix + Chromium): opened from a Dockerfile, it
// shows the image's layers; clicking a row reveals and highlights the Dockerfile line; moving the cursor selects the
// row; file names and labels holding markup show as text; waste names the lines; the panel comes back after a window
// reload; deleting the image is said in the panel. Every assertion reads the DOM (the webview sits in two nested
// iframes); screenshots go to test-artifacts/e2e/ (one is copied to docs/images/layer-explorer.png).
//
// Needs: scripts/ensure-code-server.sh and a Docker daemon; without them the suite skips, unless CI or
// LAYERLENS_REQUIRE_DAEMON is set: then it fails.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { FrameLocator, Locator } from 'playwright-core';
import { chooseBuilder } from '../../server/src/lsp/settings';
import { BASE_IMAGE, checkDaemon, docker, ensureBaseImage, nonce, requireDaemon, useDockerScope, type Builder } from '../docker/harness';
import { CodeServerSandbox, QUIET_USER_SETTINGS, tearDownSandbox } from './codeServer';
import { ARTIFACTS_DIR, REPO_ROOT, requireTools, type E2ETools } from './e2eEnv';
import { packagedVsix } from './vsix';
import { waitUntil } from './wait';
import { UI_DEADLINE_MS, WORKBENCH_DEADLINE_MS, Workbench } from './workbench';

/** Markup a careless webview would turn into an element (and run). It must show as text. */
const MARKUP = '<img src=x onerror=alert(1)>';
const MARKUP_FILE = `${MARKUP}.txt`;
/** Written by COPY, deleted by the RUN after it: the one waste offender. */
const BIG_FILE_BYTES = 256 * 1024;
/** The run's own label value: no other image on the shared daemon has this history, so the Dockerfile finds ours. */
const RUN_ID = nonce();
const DOCKERFILE = [
  `FROM ${BASE_IMAGE}`,
  `LABEL org.example.note="${MARKUP}" org.example.run="${RUN_ID}"`,
  'COPY app/ /app/',
  'RUN rm /app/big.bin',
  'WORKDIR /app',
  '',
].join('\n');
/** Reading the export and computing the file trees: generous on 2 shared cores. */
const DATA_DEADLINE_MS = 120_000;

describe('Layer Explorer in VS Code (code-server + packaged .vsix)', function () {
  this.timeout(600_000);
  const scope = useDockerScope('explorer-e2e');
  let tools: E2ETools;
  let sandbox: CodeServerSandbox | null = null;
  let wb: Workbench | null = null;
  let workspace = '';
  let tag = '';
  let builder: Builder = 'classic';
  const consoleErrors: string[] = [];

  before(async function () {
    tools = requireTools(this);
    await requireDaemon(this);
    const started = Date.now();
    const step = (what: string): void => console.log(`      [explorer-e2e +${((Date.now() - started) / 1000).toFixed(1)}s] ${what}`);
    const vsix = await packagedVsix();
    step(`packaged ${path.basename(vsix)}`);
    builder = chooseBuilder('auto', {}, (await checkDaemon()).serverVersion ?? '').builder;
    await ensureBaseImage();
    const ctx = scope.context({
      Dockerfile: DOCKERFILE,
      'app/main.sh': 'echo hello\n',
      [`app/${MARKUP_FILE}`]: 'markup in a file name\n',
      'app/big.bin': Buffer.alloc(BIG_FILE_BYTES, 7),
    });
    workspace = ctx.dir;
    tag = scope.tag('explorer');
    await scope.build({ dir: workspace, builder, tag });
    step(`built ${tag} with ${builder}`);

    sandbox = CodeServerSandbox.create(tools);
    await sandbox.installExtension(vsix);
    sandbox.writeUserSettings(QUIET_USER_SETTINGS);
    const url = await sandbox.start(workspace, { DOCKER_BUILDKIT: undefined });
    wb = await Workbench.open({ url, folder: workspace, chromiumPath: tools.chromium, profileDir: sandbox.browserProfileDir, env: sandbox.env(), artifactsDir: ARTIFACTS_DIR });
    wb.page.on('console', (m) => {
      // With where it came from: the text of a CSP error does not name the page that caused it.
      if (m.type() === 'error') consoleErrors.push(`${m.text()} @ ${m.location().url}`);
    });
    step('workbench loaded');
    await wb.openFromExplorer('Dockerfile');
    // The language server must have analysed the Dockerfile before it can tell which image it produced.
    await wb.waitForLines('the Dockerfile', (ls) => ls.some((l) => l.startsWith('RUN rm /app/big.bin')), WORKBENCH_DEADLINE_MS);
    // The extension's status bar item: it is active, so its commands are in the palette (a palette opened before
    // the extension host has registered them lists none of them).
    await wb.statusBarItem(/Docker/).first().waitFor({ state: 'visible', timeout: WORKBENCH_DEADLINE_MS });
    step('Dockerfile open');
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) {
      await wb.screenshot(`failed-explorer-${(this.currentTest.title || 'test').replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`).catch(() => undefined);
    }
  });

  after(async function () {
    this.timeout(120_000);
    await wb?.close().catch(() => undefined);
    wb = null;
    const sb = sandbox;
    sandbox = null;
    if (sb) await tearDownSandbox(sb);
  });

  /** The explorer webview's document (VS Code nests it: iframe.webview → #active-frame). */
  function explorer(): FrameLocator {
    return wb!.page.frameLocator('iframe.webview').frameLocator('#active-frame');
  }

  function layerRow(text: RegExp): Locator {
    return explorer().locator('#layers-body tr').filter({ hasText: text }).first();
  }

  it('opens from the command palette for the image the Dockerfile produced, with toolkit controls working', async function () {
    const w = wb!;
    await w.runCommand('Layer Lens: Open Layer Explorer');
    const rows = explorer().locator('#layers-body tr');
    // The daemon is shared with other test runs: when it is too slow to answer, the panel says so (a banner) and its
    // Refresh button asks again, as a user would. Each retry is logged.
    const banner = explorer().locator('#banner');
    for (let attempt = 1; ; attempt++) {
      const seen = await waitUntil(
        'the layer rows or a problem banner',
        async () => ((await rows.first().isVisible()) ? 'rows' : (await banner.isVisible()) ? 'banner' : 'nothing'),
        (v) => v !== 'nothing',
        WORKBENCH_DEADLINE_MS,
      );
      if (seen === 'rows') break;
      const said = await banner.innerText();
      if (attempt >= 4 || !/did not answer|time/i.test(said)) assert.fail(`the panel shows a problem instead of the layers: ${said}`);
      console.log(`      (the daemon was slow, attempt ${attempt}: ${said.replace(/\s+/g, ' ')}; pressing Refresh)`);
      await banner.locator('vscode-button', { hasText: 'Refresh' }).click();
      await banner.waitFor({ state: 'hidden', timeout: UI_DEADLINE_MS });
    }
    const texts = await waitUntil(
      'the layer rows: the base-image group, COPY and RUN',
      () => rows.allInnerTexts(),
      (ts) => ts.some((t) => t.includes(`FROM ${BASE_IMAGE}`)) && ts.some((t) => /COPY/.test(t)) && ts.some((t) => /rm \/app\/big\.bin/.test(t)),
      UI_DEADLINE_MS,
    );
    // Base-image entries are grouped (collapsed) under the FROM; the image's own steps follow in Dockerfile order.
    const own = texts.map((t) => t.replace(/\s+/g, ' '));
    const iCopy = own.findIndex((t) => /COPY/.test(t));
    const iRun = own.findIndex((t) => /rm \/app\/big\.bin/.test(t));
    assert.ok(own.findIndex((t) => t.includes(`FROM ${BASE_IMAGE}`)) === 0 && iCopy > 0 && iRun > iCopy, own.join('\n'));
    // The title names the image's tag; sizes are readable.
    assert.match(await explorer().locator('#title').innerText(), new RegExp(tag.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    assert.match(own[iCopy]!, /\d+(\.\d+)? (B|KiB|MiB)/);
    // The toolkit's custom elements are defined and rendered in code-server's webview.
    const upgraded = await explorer()
      .locator('#refresh')
      .evaluate((e) => {
        // (Runs in the webview; the tests' tsconfig has no DOM types.)
        const registry = (globalThis as unknown as { customElements: { get(name: string): unknown } }).customElements;
        return registry.get('vscode-button') !== undefined && (e as { shadowRoot: unknown }).shadowRoot !== null;
      });
    assert.ok(upgraded, 'vscode-button was not upgraded by @vscode/webview-ui-toolkit');
  });

  it('shows the label and file name holding markup as text, never as elements', async function () {
    const labels = explorer().locator('#labels');
    await labels.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    assert.ok((await labels.innerText()).includes(MARKUP), await labels.innerText());
    // Select the COPY row and filter its files down to the markup one.
    await layerRow(/COPY/).click();
    const filter = explorer().locator('#filter input');
    await filter.fill('onerror');
    const item = explorer().locator('#tree [role=treeitem]').filter({ hasText: MARKUP_FILE }).first();
    await item.waitFor({ state: 'visible', timeout: DATA_DEADLINE_MS });
    assert.strictEqual(await explorer().locator('img').count(), 0, 'an <img> element exists in the webview');
    await wb!.screenshot('explorer-markup-as-text');
    await filter.fill('');
  });

  it('reveals and highlights the Dockerfile line of a clicked row', async function () {
    const w = wb!;
    const before = await overlayClassesAt(w, 'RUN rm /app/big.bin');
    assert.ok(!before.some((c) => /\bced-/.test(c)), `already decorated: ${before.join(' | ')}`);
    await layerRow(/rm \/app\/big\.bin/).click();
    await waitUntil('the RUN line to be highlighted', () => overlayClassesAt(w, 'RUN rm /app/big.bin'), (cs) => cs.some((c) => /\bced-/.test(c)), UI_DEADLINE_MS);
    // Only that line: the COPY line above is not highlighted.
    assert.ok(!(await overlayClassesAt(w, 'COPY app/ /app/')).some((c) => /\bced-/.test(c)));
    assert.strictEqual(await layerRow(/rm \/app\/big\.bin/).getAttribute('aria-selected'), 'true');
    await w.screenshot('explorer-row-reveals-line');
  });

  it('selects the row of the line the cursor moves to in the Dockerfile', async function () {
    const w = wb!;
    await w.clickLine('COPY app/ /app/');
    await waitUntil('the COPY row to be selected', () => layerRow(/COPY/).getAttribute('aria-selected'), (s) => s === 'true', UI_DEADLINE_MS);
    assert.strictEqual(await layerRow(/rm \/app\/big\.bin/).getAttribute('aria-selected'), 'false');
  });

  it('lists the files the layer added, and the waste with the lines that added and hid it', async function () {
    const tree = explorer().locator('#tree [role=treeitem]');
    await tree.filter({ hasText: 'app/' }).first().waitFor({ state: 'visible', timeout: DATA_DEADLINE_MS });
    // Open app/ with the keyboard: the tree is navigable without a mouse.
    await explorer().locator('#tree').focus();
    await wb!.page.keyboard.press('Home');
    await wb!.page.keyboard.press('ArrowRight');
    await tree.filter({ hasText: 'big.bin' }).first().waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    const offender = explorer().locator('#waste-body tr').filter({ hasText: 'big.bin' }).first();
    await offender.waitFor({ state: 'visible', timeout: DATA_DEADLINE_MS });
    const text = (await offender.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /COPY/, text);
    assert.match(text, /rm \/app\/big\.bin/, text);
    assert.match(text, /256(\.0)? KiB/, text);
    const summary = await explorer().locator('#waste-summary').innerText();
    assert.match(summary, /removable/, summary);
    assert.match(summary, /dive/, summary);
    // The offender's "hidden by" link reveals the RUN line.
    await offender.locator('a').filter({ hasText: /rm/ }).click();
    await waitUntil('the RUN line to be highlighted', () => overlayClassesAt(wb!, 'RUN rm /app/big.bin'), (cs) => cs.some((c) => /\bced-/.test(c)), UI_DEADLINE_MS);
    // The README picture: the side bar closed so that the Dockerfile and the panel share the window.
    await wb!.runCommand('View: Toggle Primary Side Bar Visibility');
    await wb!.page.locator('.part.sidebar').waitFor({ state: 'hidden', timeout: UI_DEADLINE_MS });
    await layerRow(/COPY/).click();
    await tree.filter({ hasText: 'app/' }).first().waitFor({ state: 'visible', timeout: DATA_DEADLINE_MS });
    const file = await wb!.screenshot('layer-explorer');
    fs.mkdirSync(path.join(REPO_ROOT, 'docs', 'images'), { recursive: true });
    fs.copyFileSync(file, path.join(REPO_ROOT, 'docs', 'images', 'layer-explorer.png'));
    await wb!.runCommand('View: Toggle Primary Side Bar Visibility');
    await wb!.page.locator('.part.sidebar').waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
  });

  it('keeps its selection and filter when hidden and shown again', async function () {
    const w = wb!;
    await layerRow(/COPY/).click();
    const filter = explorer().locator('#filter input');
    await filter.fill('big');
    await explorer().locator('#files-status').filter({ hasText: 'matching “big”' }).waitFor({ state: 'visible', timeout: DATA_DEADLINE_MS });
    // The Dockerfile opened in the panel's group hides the panel: its webview is discarded (no retained context).
    await w.openFromExplorer('Dockerfile');
    await waitUntil('the explorer webview to be gone', () => w.page.locator('iframe.webview').count(), (n) => n === 0, UI_DEADLINE_MS);
    await w.page.locator('.tabs-container .tab', { hasText: 'Layers:' }).first().click();
    await waitUntil('the COPY row selected again', async () => (await layerRow(/COPY/).getAttribute('aria-selected', { timeout: 1000 }).catch(() => null)) ?? 'absent', (v) => v === 'true', UI_DEADLINE_MS);
    assert.strictEqual(await explorer().locator('#filter input').inputValue(), 'big');
    await explorer().locator('#tree [role=treeitem]').filter({ hasText: 'big.bin' }).first().waitFor({ state: 'visible', timeout: DATA_DEADLINE_MS });
    await explorer().locator('#filter input').fill('');
  });

  it('says so when the image is deleted while shown, and keeps the rows', async function () {
    await docker(['rmi', '-f', tag]);
    const banner = explorer().locator('#banner');
    await banner.waitFor({ state: 'visible', timeout: DATA_DEADLINE_MS });
    const said = await banner.innerText();
    assert.match(said, /no longer|deleted|not found|removed/i, said);
    assert.ok((await explorer().locator('#layers-body tr').count()) >= 3, 'the rows stayed');
    await wb!.screenshot('explorer-image-deleted');
    // From the explorer's page (its script and stylesheet are served from the webview resource origin) or VS Code's
    // webview host page around it.
    const cspErrors = consoleErrors.filter((e) => /Content Security Policy/i.test(e) && /@ \S*(\.vscode-resource\.vscode-cdn\.net\/|\/webview\/browser\/pre\/)/.test(e));
    assert.deepStrictEqual(cspErrors, [], 'CSP violations from the explorer webview');
  });

  it('comes back after a window reload (serializer), without the deleted image', async function () {
    const w = wb!;
    await w.runCommand('Developer: Reload Window');
    await w.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: WORKBENCH_DEADLINE_MS });
    // The serializer re-creates the panel, which looks for the Dockerfile's image again. Ours was deleted above: the
    // language server offers the Quick Pick of local images, or ties the Dockerfile to another local image whose
    // history lines up with it. Either way the restored webview must load and work, and not show the deleted image.
    const quickPick = w.page.locator('.quick-input-widget').filter({ hasText: /Pick the image it produced/ });
    const rows = explorer().locator('#layers-body tr');
    const outcome = await waitUntil(
      'the restored panel to show rows or ask for an image',
      async () => ((await quickPick.isVisible()) ? 'pick' : (await rows.first().isVisible().catch(() => false)) ? 'rows' : 'nothing'),
      (v) => v !== 'nothing',
      WORKBENCH_DEADLINE_MS,
    );
    if (outcome === 'pick') {
      await w.page.keyboard.press('Escape');
      const banner = explorer().locator('#banner');
      await banner.waitFor({ state: 'visible', timeout: WORKBENCH_DEADLINE_MS });
      assert.match(await banner.innerText(), /no local image/i);
      assert.ok(await banner.locator('vscode-button', { hasText: 'Pick an image…' }).isVisible());
    } else {
      console.log(`      (after the reload the Dockerfile was tied to ${await explorer().locator('#title').innerText()})`);
    }
    assert.ok(!(await explorer().locator('#title').innerText()).includes(tag), 'the deleted image is shown again');
    await w.screenshot('explorer-after-reload');
  });
});

/** Class names of the editor overlays (line decorations, selection) drawn at the line starting with `prefix`. */
async function overlayClassesAt(w: Workbench, prefix: string): Promise<string[]> {
  const line = await w.line(prefix);
  return line.evaluate((el) => {
    // (Runs in the page; the tests' tsconfig has no DOM types.)
    interface Node {
      readonly style: { readonly top: string };
      readonly className: string;
      readonly children: ArrayLike<Node>;
      closest(selector: string): { querySelectorAll(selector: string): ArrayLike<Node> } | null;
    }
    const line = el as unknown as Node;
    const top = line.style.top;
    const editor = line.closest('.monaco-editor');
    const overlays = editor ? Array.from(editor.querySelectorAll('.view-overlays > div')) : [];
    return overlays.filter((o) => o.style.top === top).flatMap((o) => Array.from(o.children).map((c) => c.className));
  });
}
