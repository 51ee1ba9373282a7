// Entry point of the VS Code extension (bundled to dist/client.js).
//
// Two lifetimes, disposed explicitly:
//   - extension: the output channel, the status bar item, the commands, the layer explorer panels (context.subscriptions);
//   - server session: the LanguageClient and the handlers registered on it (ServerSession), replaced on refresh.
import * as vscode from 'vscode';
import { REFRESH_COMMAND, SHOW_LOG_COMMAND, BUILD_IMAGE_COMMAND, RESTRICTED_CONTEXT_KEY } from './commands';
import { ExplorerManager } from './explorer/explorerManager';
import { BuildCommand } from './build/buildCommand';
import { BuildController } from './build/buildController';
import { BuildDecorations } from './build/buildDecorations';
import { BuildTags } from './build/buildTags';
import { BuildCodeLensProvider } from './build/codeLens';
import { dockerfileDocumentSelector } from './documentSelector';
import { ServerSession } from './serverSession';
import { DaemonStatusItem } from './statusBar';

let session: ServerSession | null = null;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Layer Lens', { log: true });
  const status = new DaemonStatusItem();
  // The explorer asks whichever client runs now (a Refresh replaces it) and registers its handlers on each new one.
  const explorers: ExplorerManager = new ExplorerManager(context, () => current.languageClient, output);
  const current: ServerSession = new ServerSession({ serverModule: context.asAbsolutePath('dist/server.js'), output, status, onClient: (c) => explorers.attach(c) });
  session = current;
  // Build from the editor: the server builds; these show progress and outcomes on the document.
  const buildOutput = vscode.window.createOutputChannel('Layer Lens Build');
  const decorations = new BuildDecorations();
  const builds = new BuildController(current, buildOutput, decorations);
  current.attach(builds.attach);
  const tags = new BuildTags(context.workspaceState);
  const buildCommand = new BuildCommand(builds, tags);
  const lenses = new BuildCodeLensProvider(tags, builds);
  context.subscriptions.push(
    buildOutput,
    decorations,
    builds,
    tags,
    lenses,
    vscode.languages.registerCodeLensProvider(dockerfileDocumentSelector() as vscode.DocumentSelector, lenses),
    vscode.commands.registerCommand(BUILD_IMAGE_COMMAND, (resource?: unknown, options?: unknown) =>
      buildCommand.run(resource, typeof options === 'object' && options !== null ? options : undefined),
    ),
  );
  context.subscriptions.push(
    output,
    status,
    explorers,
    vscode.commands.registerCommand(SHOW_LOG_COMMAND, () => output.show(true)),
    // A fresh server: new daemon connection and snapshot, settings re-read, contexts re-checked (hashes come
    // from the on-disk cache, so this is cheap).
    vscode.commands.registerCommand(REFRESH_COMMAND, () =>
      current.restart().catch(() => {
        void vscode.window.showErrorMessage('Layer Lens: the language server did not start; see the log.', 'Show Log').then((choice) => {
          if (choice) output.show(true);
        });
      }),
    ),
  );
  // Trust is only ever granted while the window lives (taking it back reloads the window).
  const markRestricted = (): Thenable<unknown> => vscode.commands.executeCommand('setContext', RESTRICTED_CONTEXT_KEY, !vscode.workspace.isTrusted);
  context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => void markRestricted()));
  await markRestricted();
  output.info(`Layer Lens ${String(context.extension.packageJSON.version)} activated (VS Code ${vscode.version}, workspace ${vscode.workspace.isTrusted ? 'trusted' : 'restricted'})`);
  // A server that fails to start leaves the extension active: the status bar says so and Refresh can retry.
  await current.start().catch(() => undefined);
}

export async function deactivate(): Promise<void> {
  const s = session;
  session = null;
  // Awaited by VS Code: the server gets its shutdown/exit instead of being orphaned.
  await s?.stop();
}
