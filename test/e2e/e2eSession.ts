// What every real-VS-Code suite does around its tests: a sandboxed code-server with the packaged .vsix on a
// workspace, the workbench open in Chromium, a screenshot of each failed test, and at the end both closed with a
// check that no process of the sandbox survived.
import { CodeServerSandbox, QUIET_USER_SETTINGS, tearDownSandbox } from './codeServer';
import { ARTIFACTS_DIR, type E2ETools } from './e2eEnv';
import { Workbench } from './workbench';

export interface E2ESession {
  readonly sandbox: CodeServerSandbox;
  readonly wb: Workbench;
  readonly url: string;
}

/**
 * Installs `vsix` into a new sandbox, starts code-server on `workspace` (QUIET_USER_SETTINGS with inlay hints on, plus `settings`;
 * `env` and `workspaceTrust` as for CodeServerSandbox.start) and opens the workbench. On failure the sandbox is
 * stopped and removed.
 */
export async function openE2ESession(
  tools: E2ETools,
  vsix: string,
  workspace: string,
  settings: Readonly<Record<string, unknown>> = {},
  env: Readonly<Record<string, string | undefined>> = {},
  workspaceTrust = false,
): Promise<E2ESession> {
  const sandbox = CodeServerSandbox.create(tools);
  try {
    await sandbox.installExtension(vsix);
    sandbox.writeUserSettings({ ...QUIET_USER_SETTINGS, 'editor.inlayHints.enabled': 'on', ...settings });
    const url = await sandbox.start(workspace, env, undefined, workspaceTrust);
    const wb = await Workbench.open({
      url,
      folder: workspace,
      chromiumPath: tools.chromium,
      profileDir: sandbox.browserProfileDir,
      env: sandbox.env(),
      artifactsDir: ARTIFACTS_DIR,
    });
    return { sandbox, wb, url };
  } catch (e) {
    await sandbox.stop().catch(() => undefined);
    sandbox.dispose();
    throw e;
  }
}

/** In afterEach: a screenshot `<prefix>-<test title>.png` when the test failed. */
export async function screenshotIfFailed(ctx: Mocha.Context, wb: Workbench | null, prefix = 'failed'): Promise<void> {
  if (ctx.currentTest?.state !== 'failed' || !wb) return;
  const name = `${prefix}-${(ctx.currentTest.title || 'test').replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;
  await wb.screenshot(name).catch(() => undefined);
}

/** In after: closes the browser and code-server, removes the sandbox; fails if any of its processes survived. */
export async function closeE2ESession(session: E2ESession | null): Promise<void> {
  if (!session) return;
  await session.wb.close().catch(() => undefined);
  await tearDownSandbox(session.sandbox);
}
