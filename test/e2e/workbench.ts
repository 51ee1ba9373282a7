// Drives the VS Code workbench that code-server serves, through playwright-core and Debian's Chromium. Every wait is
// for a DOM condition with a deadline; nothing sleeps for a fixed time.
import * as fs from 'fs';
import * as path from 'path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { waitUntil } from './wait';

export interface WorkbenchOptions {
  readonly url: string;
  readonly folder: string;
  readonly chromiumPath: string;
  /** A fresh, empty folder: Chromium's profile (passed as the first argument, never as --user-data-dir). */
  readonly profileDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly artifactsDir: string;
}

/** Time allowed for the workbench to load (9–15 s on 2 cores) and for the first analysis to show. */
export const WORKBENCH_DEADLINE_MS = 90_000;
export const UI_DEADLINE_MS = 30_000;

export class Workbench {
  private constructor(
    private readonly context: BrowserContext,
    readonly page: Page,
    private readonly artifactsDir: string,
  ) {}

  static async open(opts: WorkbenchOptions): Promise<Workbench> {
    const context = await chromium.launchPersistentContext(opts.profileDir, {
      executablePath: opts.chromiumPath,
      headless: true,
      env: opts.env,
      viewport: { width: 1400, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const wb = new Workbench(context, page, opts.artifactsDir);
    await page.goto(`${opts.url}/?folder=${encodeURIComponent(opts.folder)}`, { timeout: WORKBENCH_DEADLINE_MS });
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: WORKBENCH_DEADLINE_MS });
    // The explorer lists the workspace once the file service answers: the window is usable from then on.
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ state: 'visible', timeout: WORKBENCH_DEADLINE_MS });
    return wb;
  }

  async close(): Promise<void> {
    await this.context.close();
  }

  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(this.artifactsDir, { recursive: true });
    const file = path.join(this.artifactsDir, `${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Opens a workspace file with Quick Open and waits for its editor to be active and focused. */
  async openFile(relPath: string): Promise<void> {
    const name = path.basename(relPath);
    await this.page.keyboard.press('Control+P');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await input.fill(relPath);
    const pick = this.page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first();
    await pick.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await this.page.keyboard.press('Enter');
    await this.page.locator('.tabs-container .tab.active', { hasText: name }).waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await this.editorLines().first().waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
  }

  /**
   * Opens a workspace file by clicking it in the Explorer view (into the active editor group; `pin` double-clicks so
   * the tab is not a preview). Quick Open would need the file search, which can take longer than its deadline when the
   * shared machine is loaded.
   */
  async openFromExplorer(name: string, opts: { readonly pin?: boolean; readonly deadlineMs?: number } = {}): Promise<void> {
    const row = this.page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
    if (opts.pin) await row.dblclick();
    else await row.click();
    const deadline = opts.deadlineMs ?? WORKBENCH_DEADLINE_MS;
    await this.page.locator('.tabs-container .tab.active', { hasText: name }).first().waitFor({ state: 'visible', timeout: deadline });
    await this.editorLines().first().waitFor({ state: 'visible', timeout: deadline });
  }

  /** The rendered lines of the active text editor (inlay hints are part of their text). */
  editorLines(): Locator {
    return this.page.locator('.editor-instance .monaco-editor .view-lines .view-line');
  }

  /** Text (non-breaking spaces as spaces) and vertical position of each rendered line, in DOM order. */
  private async renderedLines(): Promise<{ top: number; text: string }[]> {
    const rows = await this.editorLines().evaluateAll((els) =>
      els.map((e) => ({ top: parseFloat((e as { style: { top: string } }).style.top), text: (e as { textContent: string | null }).textContent ?? '' })),
    );
    return rows.map((r) => ({ top: r.top, text: r.text.replace(/\u00a0/g, ' ') }));
  }

  /** The rendered line whose text (inlay hints included) starts with `prefix`. */
  async line(prefix: string): Promise<Locator> {
    const rows = await this.renderedLines();
    const i = rows.findIndex((r) => r.text.trimStart().startsWith(prefix));
    if (i < 0) throw new Error(`no rendered line starts with ${JSON.stringify(prefix)}; lines:\n${rows.map((r) => r.text).join('\n')}`);
    return this.editorLines().nth(i);
  }

  /** The first token of the line starting with `prefix` (its instruction keyword). */
  private async firstToken(prefix: string): Promise<Locator> {
    const token = (await this.line(prefix)).locator('span > span').first();
    await token.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    return token;
  }

  /** Visible text of the editor, line by line in document order (as rendered: inlay hints included). */
  async visibleLines(): Promise<string[]> {
    // Monaco renders lines in any DOM order and positions them with `top`.
    return (await this.renderedLines()).sort((a, b) => a.top - b.top).map((r) => r.text);
  }

  /** Waits until `predicate` holds for the rendered lines; returns them. Fails with the last lines seen. */
  waitForLines(what: string, predicate: (lines: string[]) => boolean, deadlineMs = UI_DEADLINE_MS): Promise<string[]> {
    return waitUntil(what, () => this.visibleLines(), predicate, deadlineMs);
  }

  /** Hovers the first word of the line starting with `prefix`; resolves with the hover's text once it matches `expect`. */
  async hoverLine(prefix: string, expect: RegExp, deadlineMs = UI_DEADLINE_MS): Promise<string> {
    await (await this.firstToken(prefix)).hover();
    const hover = this.page.locator('.monaco-hover:not(.hidden)').filter({ hasText: expect }).first();
    await hover.waitFor({ state: 'visible', timeout: deadlineMs });
    return (await hover.innerText()).replace(/\u00a0/g, ' ');
  }

  /** Puts the cursor on the first word of the line starting with `prefix`. */
  async clickLine(prefix: string): Promise<void> {
    await (await this.firstToken(prefix)).click();
  }

  /** Clicks the lightbulb the editor shows for the cursor's line and waits for its menu of code actions. */
  async openLightbulbMenu(): Promise<void> {
    // VS Code draws it in the gutter (`codicon-gutter-lightbulb*`), or as a floating widget when the gutter is off.
    const bulb = this.page.locator('.editor-instance .monaco-editor :is([class*="codicon-gutter-lightbulb"], .lightBulbWidget:visible)').first();
    await bulb.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await bulb.click();
    await this.actionMenu().waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
  }

  private actionMenu(): Locator {
    return this.page.locator('.context-view .action-widget').first();
  }

  /** Picks the code action titled `title` in the open code action menu and waits for the menu to close. */
  async pickAction(title: string): Promise<void> {
    const row = this.actionMenu().locator('.monaco-list-row.action').filter({ hasText: title }).first();
    await row.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await row.click();
    await this.actionMenu().waitFor({ state: 'hidden', timeout: UI_DEADLINE_MS });
  }

  /** Saves the active editor and waits until its tab no longer shows unsaved changes. */
  async save(): Promise<void> {
    await this.page.keyboard.press('Control+S');
    await this.page.locator('.tabs-container .tab.active.dirty').waitFor({ state: 'detached', timeout: UI_DEADLINE_MS });
  }

  /** Hides the bottom panel (output, problems) when it is open, so the editor has the room. */
  async closePanel(): Promise<void> {
    const panel = this.page.locator('.part.panel');
    if (await panel.isVisible()) {
      await this.page.keyboard.press('Control+J');
      await panel.waitFor({ state: 'hidden', timeout: UI_DEADLINE_MS });
    }
  }

  /** Runs a command from the Command Palette by its full title (e.g. "Layer Lens: Show Log"). */
  async runCommand(title: string): Promise<void> {
    await this.page.keyboard.press('Control+Shift+P');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await input.fill(`>${title}`);
    await this.page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first().waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await this.page.keyboard.press('Enter');
  }

  /** The status bar entry whose text matches. */
  statusBarItem(text: RegExp): Locator {
    return this.page.locator('.statusbar .statusbar-item').filter({ hasText: text });
  }
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
