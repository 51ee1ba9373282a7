// Security of Layer Lens in a real VS Code (code-server + the packaged .vsix + Chromium), asserted in the browser:
//
// 1. The Layer Explorer webview's Content-Security-Policy holds: scripts the page did not bring (an inline <script>,
//    an inline event handler, a string run as code) do not run and raise `securitypolicyviolation`; nothing loads
//    from another origin (a probe HTTP server on loopback counts every request it gets, and every request the
//    webview frames make is recorded); labels, created-by and file names holding markup or control characters show
//    as text.
// 2. In Restricted Mode (VS Code's workspace trust on, the folder not trusted), nothing builds: "Layer Lens: Build
//    Image" is in no menu and no code lens offers it, and no image gets the tag; and the folder's
//    .vscode/settings.json cannot redirect the daemon connection to a unix socket the test listens on, while the
//    analysis goes on against the default daemon. Controls show that both checks can fail: once the folder is
//    trusted the build is offered, and a machine setting naming the socket does reach it.
//
// Needs: scripts/ensure-code-server.sh and a Docker daemon; without them the suite skips, unless CI or
// LAYERLENS_REQUIRE_DAEMON is set: then it fails.
import * as assert from 'assert';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { Frame, Locator, Page, Request } from 'playwright-core';
import { defaultImageTag } from '../../client/src/build/imageTag';
import { BASE_IMAGE, docker, ensureBaseImage, requireDaemon, useDockerScope } from '../docker/harness';
import { requireTools, type E2ETools } from './e2eEnv';
import { closeE2ESession, openE2ESession, screenshotIfFailed, type E2ESession } from './e2eSession';
import { packagedVsix } from './vsix';
import { waitUntil } from './wait';
import { UI_DEADLINE_MS, WORKBENCH_DEADLINE_MS, type Workbench } from './workbench';

/** Reading the image and its export on 2 shared cores. */
const DATA_DEADLINE_MS = 120_000;

describe('VS Code end-to-end security: the Layer Explorer webview in Chromium', function () {
  this.timeout(600_000);
  const scope = useDockerScope('e2e-csp');
  let session: E2ESession | null = null;
  let wb: Workbench | null = null;
  let probe: Probe | null = null;
  let tag = '';
  /** Every request the page made while the explorer was open, with the frame chain it came from. */
  const requests: RecordedRequest[] = [];
  const consoleMessages: string[] = [];

  before(async function () {
    const tools: E2ETools = requireTools(this);
    await requireDaemon(this);
    const started = Date.now();
    const step = (what: string): void => console.log(`      [e2e-csp +${((Date.now() - started) / 1000).toFixed(1)}s] ${what}`);
    probe = await Probe.start();
    const vsix = await packagedVsix();
    step(`packaged ${path.basename(vsix)}; probe server at ${probe.origin}`);
    await ensureBaseImage();
    const hostile = hostileStrings(probe.origin);
    const ctx = scope.context({
      Dockerfile: [
        `FROM ${BASE_IMAGE}`,
        // Double quotes keep the markup and the control characters in the label values as they are.
        `LABEL org.example.script="${hostile.labelScript}" org.example.img="${hostile.labelImg}" org.example.ctl="${hostile.labelControl}"`,
        'COPY files/ /files/',
        `RUN echo '${hostile.createdBy}' > /dev/null`,
        '',
      ].join('\n'),
      [`files/${hostile.fileName}`]: 'a file name holding markup and control characters\n',
      'files/plain.txt': 'plain\n',
    });
    tag = scope.tag('csp');
    await scope.build({ dir: ctx.dir, builder: 'classic', tag });
    step(`built ${tag}`);
    session = await openE2ESession(tools, vsix, ctx.dir, {}, { DOCKER_BUILDKIT: undefined });
    wb = session.wb;
    wb.page.on('request', (r) => requests.push(recordRequest(r)));
    wb.page.on('console', (m) => consoleMessages.push(`${m.type()}: ${m.text()} @ ${m.location().url}:${m.location().lineNumber}`));
    await wb.openFromExplorer('Dockerfile');
    await wb.statusBarItem(/Docker/).first().waitFor({ state: 'visible', timeout: WORKBENCH_DEADLINE_MS });
    await wb.runCommand('Layer Lens: Open Layer Explorer');
    const rows = (await explorerFrame(wb.page)).locator('#layers-body tr');
    await waitUntil('the layer rows with the RUN holding markup', () => rows.allInnerTexts(), (ts) => ts.some((t) => t.includes('echo')), DATA_DEADLINE_MS);
    step('explorer open');
  });

  /** CSP errors Chromium logged for the explorer's frames (its page and VS Code's webview host page). */
  function webviewCspErrors(): string[] {
    return consoleMessages.filter((m) => /Content Security Policy/.test(m) && /@ (https:\/\/[^ ]*\.vscode-resource\.vscode-cdn\.net\/|\S*\/webview\/browser\/pre\/|:\d+$)/.test(m));
  }

  afterEach(async function () {
    await screenshotIfFailed(this, wb, 'failed-security');
  });

  after(async function () {
    this.timeout(120_000);
    const open = session;
    session = null;
    wb = null;
    await closeE2ESession(open);
    await probe?.close();
  });

  it('runs no script the page did not bring: an inline <script>, inline handlers and code from a string are refused and reported', async function () {
    const frame = await explorerFrame(wb!.page);
    // The page's own (nonce'd) script ran: it drew the rows. The policy is the one the extension wrote.
    const policy = await frame.evaluate(() => (globalThis as unknown as PageGlobal).document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '');
    assert.match(policy, /(^|; )default-src 'none'(;|$)/, policy);
    assert.match(policy, /(^|; )script-src 'nonce-[A-Za-z0-9+/=]{16,}'(;|$)/, policy);
    assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval|data:|blob:|http:|\*(?!\.)/, policy);
    // Loading it raised no violation: the page asks for nothing its policy refuses (a policy that its own page
    // trips on every load would hide a real violation among the expected ones).
    assert.deepStrictEqual(webviewCspErrors(), [], 'CSP errors from the webview before the test tried anything');
    await listenForViolations(frame);
    const attempts = await frame.evaluate((markup) => {
      const d = (globalThis as unknown as PageGlobal).document;
      // What a page that parsed a daemon string as HTML would do: an inline script, an element with a handler.
      const s = d.createElement('script');
      s.textContent = 'globalThis.llInlineScript = 1';
      d.body.append(s);
      const b = d.createElement('button');
      b.setAttribute('onclick', 'globalThis.llInlineHandler = 1');
      d.body.append(b);
      b.click();
      const holder = d.createElement('div');
      holder.innerHTML = markup;
      d.body.append(holder);
      // A string run as code: from a timer, so that the page (not the test's evaluation) runs it.
      (globalThis as unknown as PageGlobal).setTimeout('globalThis.llEvalTimer = 1', 0);
      const scriptAttached = s.isConnected;
      // Gone again: the later tests look at the page's own DOM.
      for (const e of [s, b, holder]) e.remove();
      return { scriptAttached };
    }, '<img src="data:," onerror="globalThis.llInnerHtmlHandler = 1">');
    const seen = await waitForViolations(frame, 'inline script, inline handlers and the string timer reported', (vs) =>
      ['script-src-elem', 'script-src-attr', 'script-src'].every((d) => vs.some((v) => v.directive === d)) && vs.filter((v) => v.directive === 'script-src-attr').length >= 2,
    );
    assert.ok(attempts.scriptAttached, 'the test script element was not attached');
    // None of them ran: the globals they would set are undefined.
    assert.deepStrictEqual(await pwnedGlobals(frame), [], JSON.stringify(seen));
    assert.ok(seen.some((v) => v.directive === 'script-src' && v.blocked === 'eval'), JSON.stringify(seen));
    // Chromium also says so on the console, as a user inspecting the webview would see.
    await waitUntil('a CSP error on the console for the inline script', () => webviewCspErrors().filter((m) => /inline script/i.test(m)), (ms) => ms.length > 0, UI_DEADLINE_MS);
  });

  it('loads nothing from another origin: every request of the webview goes to the local resource origin', async function () {
    // What the webview asked for while it loaded and showed the image (its hostile strings included).
    const codeServer = new URL(session!.url).origin;
    const fromWebview = requests.filter((r) => r.frames.some((f) => f.includes('/webview/browser/pre/')));
    const extensionFiles: string[] = [];
    for (const r of fromWebview) {
      const u = new URL(r.url);
      if (u.origin === codeServer) {
        // VS Code's own webview host pages.
        assert.match(u.pathname, /\/webview\/browser\/pre\/(index|fake)\.html$/, r.url);
        continue;
      }
      // Anything else must be the webview resource origin, answered by VS Code's service worker (from the
      // extension's folder), never by the network.
      assert.match(u.hostname, /\.vscode-resource\.vscode-cdn\.net$/, `a request of the webview to ${r.url}`);
      const response = await r.request.response();
      assert.ok(response?.fromServiceWorker(), `${r.url} did not come from VS Code's service worker`);
      extensionFiles.push(u.pathname.replace(/^.*\/extensions\/[^/]+\//, ''));
    }
    // The recording works: the page's own script and stylesheet are in it, and nothing else of the extension's.
    assert.deepStrictEqual([...new Set(extensionFiles)].sort(), ['dist/webview/explorer.css', 'dist/webview/explorer.js'], JSON.stringify(fromWebview.map((r) => r.url)));

    // Now the page tries: an image, a stylesheet and a fetch from another origin (the probe server).
    const frame = await explorerFrame(wb!.page);
    await listenForViolations(frame);
    const origin = probe!.origin;
    const before = requests.length;
    const fetchOutcome = await frame.evaluate(async (o) => {
      const g = globalThis as unknown as PageGlobal;
      const img = g.document.createElement('img');
      img.src = `${o}/injected.png`;
      g.document.body.append(img);
      const link = g.document.createElement('link');
      link.rel = 'stylesheet';
      link.href = `${o}/injected.css`;
      g.document.head.append(link);
      let outcome = 'fetched';
      try {
        await g.fetch(`${o}/injected-fetch`);
      } catch (e) {
        outcome = e instanceof Error ? e.name : String(e);
      }
      img.remove();
      link.remove();
      return outcome;
    }, origin);
    assert.strictEqual(fetchOutcome, 'TypeError', `fetch from the webview: ${fetchOutcome}`);
    const seen = await waitForViolations(frame, 'the remote image, stylesheet and fetch refused', (vs) =>
      ['img-src', 'style-src-elem', 'connect-src'].every((d) => vs.some((v) => v.directive === d && v.blocked.startsWith(origin))),
    );
    // The requests Chromium lists for them got no response...
    const tried = requests.slice(before).filter((r) => r.url.startsWith(origin));
    assert.ok(tried.length >= 2, JSON.stringify(tried.map((r) => r.url)));
    for (const r of tried) assert.strictEqual(await r.request.response(), null, `${r.url} got a response (${r.request.failure()?.errorText ?? 'not failed'})`);
    // ...before anything left the browser: the probe server saw nothing, neither these nor the daemon's strings (a
    // label and a created-by holding <img src=probe>).
    assert.deepStrictEqual(probe!.hits, [], JSON.stringify(seen));
  });

  it('shows labels, created-by and file names holding markup or control characters as text', async function () {
    const frame = await explorerFrame(wb!.page);
    const hostile = hostileStrings(probe!.origin);
    const labels = await frame.locator('#labels').innerText();
    assert.ok(labels.includes(hostile.labelScript), labels);
    assert.ok(labels.includes(hostile.labelImg), labels);
    // Control characters (ESC, BEL, a right-to-left override) are removed by the server; the rest shows.
    assert.ok(labels.includes('red[31mtextevil'), JSON.stringify(labels));
    const runRow = frame.locator('#layers-body tr').filter({ hasText: 'echo' }).first();
    assert.ok((await runRow.innerText()).includes(hostile.createdBy), await runRow.innerText());
    // The file: select the COPY layer and filter its files down to it.
    await frame.locator('#layers-body tr').filter({ hasText: 'COPY' }).first().click();
    await frame.locator('#filter input').fill('exe.txt');
    const shownName = '<svg onload=globalThis.llPwnedFile=1>[1mexe.txt';
    await frame.locator('#tree [role=treeitem]').filter({ hasText: shownName }).first().waitFor({ state: 'visible', timeout: DATA_DEADLINE_MS });
    await wb!.screenshot('security-markup-as-text');
    const dom = await frame.evaluate(() => {
      const d = (globalThis as unknown as PageGlobal).document;
      const all = Array.from(d.querySelectorAll('*'));
      return {
        tags: [...new Set(all.map((e) => e.tagName.toLowerCase()))],
        handlers: all.flatMap((e) => Array.from(e.attributes).filter((a) => a.name.startsWith('on')).map((a) => `${e.tagName} ${a.name}`)),
        scripts: all.filter((e) => e.tagName === 'SCRIPT').map((e) => e.getAttribute('id') ?? e.getAttribute('src') ?? '(inline)'),
        text: d.body.innerText,
      };
    });
    // No element came from the strings: no img, svg or iframe; no handler attribute; two scripts: VS Code's API
    // script (put before the CSP) and the page's own.
    for (const t of ['img', 'svg', 'iframe', 'object', 'embed']) assert.ok(!dom.tags.includes(t), `<${t}> in the webview: ${dom.tags.join(' ')}`);
    assert.strictEqual(dom.scripts.length, 2, dom.scripts.join(' '));
    assert.strictEqual(dom.scripts[0], '_vscodeApiScript');
    assert.match(dom.scripts[1]!, /\/dist\/webview\/explorer\.js$/);
    assert.deepStrictEqual(dom.handlers, []);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(dom.text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, 'a control character is shown');
    assert.deepStrictEqual(await pwnedGlobals(frame), []);
    // Nor in the workbench around the webview (the tab title, hovers, notifications).
    assert.deepStrictEqual(await wb!.page.evaluate(() => Object.keys(globalThis).filter((k) => k.startsWith('llPwned'))), []);
    assert.deepStrictEqual(probe!.hits, []);
    await frame.locator('#filter input').fill('');
  });
});

describe('VS Code end-to-end security: Restricted Mode (a folder that is not trusted)', function () {
  this.timeout(600_000);
  const scope = useDockerScope('e2e-untrusted');
  let session: E2ESession | null = null;
  let wb: Workbench | null = null;
  let trap: SocketTrap | null = null;
  /** The tag "Build Image" would propose for the Dockerfile: its folder's name. */
  let proposedTag = '';

  before(async function () {
    const tools: E2ETools = requireTools(this);
    await requireDaemon(this);
    const started = Date.now();
    const step = (what: string): void => console.log(`      [e2e-untrusted +${((Date.now() - started) / 1000).toFixed(1)}s] ${what}`);
    const vsix = await packagedVsix();
    await ensureBaseImage();
    trap = await SocketTrap.start();
    const ctx = scope.context({
      Dockerfile: [`FROM ${BASE_IMAGE}`, 'COPY app.txt /app.txt', 'CMD ["cat", "/app.txt"]', ''].join('\n'),
      'app.txt': 'hello\n',
      // What a cloned repository could carry: its own daemon for Layer Lens to talk to.
      '.vscode/settings.json': JSON.stringify({ 'layerLens.dockerHost': `unix://${trap.path}` }, null, 2),
    });
    proposedTag = defaultImageTag(path.basename(ctx.dir));
    // Workspace trust on (QUIET_USER_SETTINGS turns it off, code-server's --disable-workspace-trust too), and no
    // modal question at start: the folder, never trusted in this fresh profile, opens in Restricted Mode.
    session = await openE2ESession(
      tools,
      vsix,
      ctx.dir,
      { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.banner': 'never' },
      { DOCKER_BUILDKIT: undefined },
      true,
    );
    wb = session.wb;
    await wb.openFromExplorer('Dockerfile', { pin: true });
    step('workbench loaded, Dockerfile open');
  });

  afterEach(async function () {
    await screenshotIfFailed(this, wb, 'failed-untrusted');
  });

  after(async function () {
    this.timeout(120_000);
    const open = session;
    session = null;
    wb = null;
    await closeE2ESession(open);
    await trap?.close();
  });

  it('opens the folder in Restricted Mode', async function () {
    await wb!.statusBarItem(/Restricted Mode/).first().waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
  });

  it("analyses against the default daemon: the folder's layerLens.dockerHost is not connected to", async function () {
    const w = wb!;
    // The FROM line's prediction needs the daemon's answer (the base image is cached there).
    await w.waitForLines('the prediction on FROM', (ls) => ls.some((l) => l.startsWith('FROM ') && /cached/.test(l)), 2 * WORKBENCH_DEADLINE_MS);
    // The status bar names the daemon it reached (with its address when it is not the default one).
    const status = w.statusBarItem(/Docker \d/).first();
    await status.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    assert.doesNotMatch(await status.innerText(), /layerlens-trap/);
    assert.strictEqual(trap!.connections, 0, 'something connected to the socket named by the workspace settings');
    await w.screenshot('untrusted-analysis');
  });

  it('offers no build: not in the palette, the editor title or a code lens, and no image gets the tag', async function () {
    const w = wb!;
    const titles = await paletteTitles(w, 'Layer Lens');
    assert.ok(titles.some((t) => t.includes('Layer Lens: Refresh')), titles.join('\n'));
    assert.ok(!titles.some((t) => t.includes('Layer Lens: Build Image')), titles.join('\n'));
    // The analysis is done (previous test): a lens or a title button would be there by now.
    assert.strictEqual(await buildLens(w).count(), 0, 'a "Build as…" code lens');
    assert.strictEqual(await buildTitleAction(w).count(), 0, 'a Build Image button in the editor title');
    const images = await docker(['image', 'ls', '--quiet', proposedTag]);
    assert.strictEqual(images.stdout.trim(), '', `an image tagged ${proposedTag}`);
  });

  it('control: once the folder is trusted the build is offered, and the folder still cannot choose the daemon', async function () {
    const w = wb!;
    await w.runCommand('Workspaces: Manage Workspace Trust');
    const trust = w.page.locator('.workspace-trust-editor .monaco-button', { hasText: /^Trust( Folder)?$/ }).first();
    await trust.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await trust.click();
    await w.statusBarItem(/Restricted Mode/).first().waitFor({ state: 'hidden', timeout: UI_DEADLINE_MS });
    // The trust editor opens as a modal editor over the Dockerfile: close it with its X.
    const modal = w.page.locator('.monaco-modal-editor-block');
    await modal.locator(':is(.codicon-close, [aria-label^="Close"])').first().click();
    await modal.waitFor({ state: 'hidden', timeout: UI_DEADLINE_MS });
    await w.page.locator('.tabs-container .tab', { hasText: 'Dockerfile' }).first().click();
    await buildLens(w).first().waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await buildTitleAction(w).first().waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    const titles = await paletteTitles(w, 'Layer Lens');
    assert.ok(titles.some((t) => t.includes('Layer Lens: Build Image')), titles.join('\n'));
    // layerLens.dockerHost has the machine scope: a workspace value is ignored even in a trusted folder.
    await w.runCommand('Layer Lens: Refresh');
    await w.waitForLines('the prediction on FROM after the refresh', (ls) => ls.some((l) => l.startsWith('FROM ') && /cached/.test(l)), WORKBENCH_DEADLINE_MS);
    assert.strictEqual(trap!.connections, 0, 'the trusted folder redirected the daemon connection');
  });

  it('control: a machine setting naming the socket does reach it', async function () {
    // The one place layerLens.dockerHost is read from in code-server: its machine ("Remote") settings.
    session!.sandbox.writeMachineSettings({ 'layerLens.dockerHost': `unix://${trap!.path}` });
    await waitUntil('a connection to the socket', () => trap!.connections, (n) => n > 0, WORKBENCH_DEADLINE_MS);
  });
});

/** Titles the Command Palette lists for `query` (read once its rows show). */
async function paletteTitles(w: Workbench, query: string): Promise<string[]> {
  await w.page.keyboard.press('Control+Shift+P');
  const input = w.page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
  await input.fill(`>${query}`);
  const rows = w.page.locator('.quick-input-widget .monaco-list-row');
  await rows.filter({ hasText: query }).first().waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
  const titles = await rows.allInnerTexts();
  await w.page.keyboard.press('Escape');
  await input.waitFor({ state: 'hidden', timeout: UI_DEADLINE_MS });
  return titles.map((t) => t.replace(/\s+/g, ' '));
}

function buildLens(w: Workbench): Locator {
  return w.page.locator('.editor-instance .monaco-editor .codelens-decoration a', { hasText: 'Build as…' });
}

function buildTitleAction(w: Workbench): Locator {
  return w.page.locator('.editor-actions .action-label[aria-label*="Build Image"]');
}

/** A unix socket that counts the connections it gets and closes each at once: a daemon nobody should reach. */
class SocketTrap {
  private constructor(
    private readonly server: net.Server,
    private readonly dir: string,
    readonly path: string,
    private readonly counter: { n: number },
  ) {}

  static async start(): Promise<SocketTrap> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-trap-'));
    const file = path.join(dir, 'docker.sock');
    const counter = { n: 0 };
    const server = net.createServer((sock) => {
      counter.n++;
      sock.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(file, () => resolve());
    });
    return new SocketTrap(server, dir, file, counter);
  }

  get connections(): number {
    return this.counter.n;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Strings from the daemon, each with markup that would run or load if a careless page parsed it. */
function hostileStrings(probeOrigin: string): { labelScript: string; labelImg: string; labelControl: string; createdBy: string; fileName: string } {
  return {
    labelScript: '<script>globalThis.llPwnedLabel=1</script>',
    labelImg: `<img src=${probeOrigin}/label.png onerror=globalThis.llPwnedLabelImg=1>`,
    // ESC (a terminal colour), BEL, a right-to-left override: removed by the server; the rest shows.
    labelControl: 'red\u001b[31m\u0007text\u202eevil',
    createdBy: `<img src=${probeOrigin}/created-by.png onerror=globalThis.llPwnedCreatedBy=1>`,
    fileName: '<svg onload=globalThis.llPwnedFile=1>\u001b[1m\u202eexe.txt',
  };
}

interface RecordedRequest {
  readonly request: Request;
  readonly url: string;
  /** URLs of the frame and its parents, innermost first ([] when the request has no frame: a service worker's). */
  readonly frames: string[];
}

function recordRequest(r: Request): RecordedRequest {
  const frames: string[] = [];
  try {
    for (let f: Frame | null = r.frame(); f; f = f.parentFrame()) frames.push(f.url());
  } catch {
    // A service worker's own request has no frame.
  }
  return { request: r, url: r.url(), frames };
}

/** The little of the DOM the page-side functions use (the tests' tsconfig has no DOM types). */
interface PageElement {
  readonly tagName: string;
  readonly attributes: ArrayLike<{ readonly name: string }>;
  readonly isConnected: boolean;
  readonly body: PageElement;
  readonly innerText: string;
  textContent: string | null;
  innerHTML: string;
  src: string;
  rel: string;
  href: string;
  setAttribute(name: string, value: string): void;
  getAttribute(name: string): string | null;
  append(...nodes: PageElement[]): void;
  click(): void;
  remove(): void;
}
interface Violation {
  readonly directive: string;
  readonly blocked: string;
  readonly sample: string;
}
interface PageGlobal {
  readonly document: {
    readonly body: PageElement;
    readonly head: PageElement;
    createElement(tag: string): PageElement;
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): ArrayLike<PageElement>;
    addEventListener(type: 'securitypolicyviolation', listener: (e: { effectiveDirective: string; blockedURI: string; sample: string }) => void): void;
  };
  fetch(url: string): Promise<unknown>;
  setTimeout(code: string, ms: number): unknown;
  llViolations?: Violation[];
}

/** From now on, the frame's `securitypolicyviolation` events are kept (earlier ones are forgotten). */
async function listenForViolations(frame: Frame): Promise<void> {
  await frame.evaluate(() => {
    const g = globalThis as unknown as PageGlobal;
    const listening = g.llViolations !== undefined;
    g.llViolations = [];
    if (listening) return;
    g.document.addEventListener('securitypolicyviolation', (e) => g.llViolations?.push({ directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample }));
  });
}

function waitForViolations(frame: Frame, what: string, done: (vs: Violation[]) => boolean): Promise<Violation[]> {
  return waitUntil(what, () => frame.evaluate(() => [...((globalThis as unknown as PageGlobal).llViolations ?? [])]), done, UI_DEADLINE_MS);
}

/** The globals any of the hostile strings or injected scripts would have set, if any had run. */
function pwnedGlobals(frame: Frame): Promise<string[]> {
  return frame.evaluate(() => Object.keys(globalThis).filter((k) => /^ll(Pwned|Inline|InnerHtml|Eval)/.test(k)));
}

/** The explorer webview's document: VS Code nests it as iframe.webview → #active-frame. */
async function explorerFrame(page: Page): Promise<Frame> {
  const outer = await page.locator('iframe.webview').first().elementHandle({ timeout: UI_DEADLINE_MS });
  const outerFrame = await outer?.contentFrame();
  if (!outerFrame) throw new Error('no webview frame');
  const inner = await outerFrame.locator('#active-frame').elementHandle({ timeout: UI_DEADLINE_MS });
  const innerFrame = await inner?.contentFrame();
  if (!innerFrame) throw new Error('no active frame in the webview');
  return innerFrame;
}

/** An HTTP server on loopback that answers every request with 204 and remembers it: the witness of a remote load. */
class Probe {
  private constructor(
    private readonly server: http.Server,
    readonly origin: string,
    /** `METHOD /path` of every request received. */
    readonly hits: readonly string[],
  ) {}

  static async start(): Promise<Probe> {
    const hits: string[] = [];
    const server = http.createServer((req, res) => {
      hits.push(`${req.method ?? '?'} ${req.url ?? ''}`);
      res.writeHead(204, { 'access-control-allow-origin': '*' }).end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new Probe(server, `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, hits);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
