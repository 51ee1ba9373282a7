// The Layer Explorer's extension-host side: commands, the editor-title button and code lens, the panel serializer
// (window reloads), the Quick Pick of local images, the Dockerfile cursor → row link, and the server notifications
// routed to the panel of their image. One panel per Dockerfile or image; running the command again reveals it.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { ExplorerImageGoneNotification, ExplorerListImagesRequest, ExplorerProgressNotification, SETTINGS_SECTION } from '../../../server/src/protocol';
import { EXPLORER_VIEW_TYPE, type ExplorerTarget } from '../../../webview/src/messages';
import { formatBytes, relativeTime, shortId } from '../../../webview/src/model/format';
import { OPEN_EXPLORER_COMMAND, OPEN_EXPLORER_FOR_IMAGE_COMMAND } from '../commands';
import { dockerfileDocumentSelector } from '../documentSelector';
import { ExplorerPanel, type ExplorerHost } from './explorerPanel';
import { targetFromLine } from './targetStage';

/** The language client's documents, as VS Code's own selector type (the patterns are plain strings, valid for both). */
const DOCKERFILES = dockerfileDocumentSelector() as vscode.DocumentFilter[];

export class ExplorerManager implements vscode.Disposable {
  private readonly panels = new Set<ExplorerPanel>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly host: ExplorerHost;

  constructor(
    private readonly context: vscode.ExtensionContext,
    client: () => LanguageClient | null,
    output: vscode.LogOutputChannel,
  ) {
    const highlight = vscode.window.createTextEditorDecorationType({
      isWholeLine: true,
      backgroundColor: new vscode.ThemeColor('editor.rangeHighlightBackground'),
      overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.rangeHighlightForeground'),
      overviewRulerLane: vscode.OverviewRulerLane.Full,
    });
    this.host = {
      client,
      extensionUri: context.extensionUri,
      output,
      highlight,
      pickImage: (title) => this.pickImage(title),
      disposed: (p) => this.panels.delete(p),
    };
    this.disposables.push(
      highlight,
      vscode.commands.registerCommand(OPEN_EXPLORER_COMMAND, (arg?: unknown) => this.openForDockerfile(arg)),
      vscode.commands.registerCommand(OPEN_EXPLORER_FOR_IMAGE_COMMAND, () => this.openForImage()),
      vscode.window.registerWebviewPanelSerializer(EXPLORER_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: unknown) => {
          this.track(new ExplorerPanel(panel, targetFromState(state), this.host));
        },
      }),
      vscode.languages.registerCodeLensProvider(DOCKERFILES, new FromCodeLens()),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        // Only the user's moves: a reveal made for a selected row must not select another row (a FROM line spans
        // every base layer).
        if (e.kind !== vscode.TextEditorSelectionChangeKind.Keyboard && e.kind !== vscode.TextEditorSelectionChangeKind.Mouse) return;
        const uri = e.textEditor.document.uri.toString();
        for (const p of this.panels) p.cursorMoved(uri, e.selections[0]!.active.line);
      }),
    );
  }

  /** Handlers for a new language client (registered before it starts, disposed with it). */
  attach(client: LanguageClient): vscode.Disposable[] {
    // A new server knows nothing of the open panels: they ask again once it runs.
    for (const p of this.panels) p.serverRestarted();
    return [
      client.onNotification(ExplorerProgressNotification, (p) => this.panels.forEach((x) => x.onProgress(p))),
      client.onNotification(ExplorerImageGoneNotification, (p) => this.panels.forEach((x) => x.onImageGone(p))),
    ];
  }

  private track(p: ExplorerPanel): ExplorerPanel {
    this.panels.add(p);
    return p;
  }

  /** From a Dockerfile: the URI given (editor title, code lens) or the active editor's; else any image. */
  private async openForDockerfile(arg: unknown): Promise<void> {
    const uri = arg instanceof vscode.Uri ? arg : typeof arg === 'string' ? vscode.Uri.parse(arg) : activeDockerfile();
    if (!uri) return this.openForImage();
    this.open({ dockerfileUri: uri.toString(), image: null }, `Layers: ${uri.path.split('/').pop() ?? 'Dockerfile'}`);
  }

  private async openForImage(): Promise<void> {
    const id = await this.pickImage('Layer Explorer: pick a local image');
    if (id) this.open({ image: id, dockerfileUri: null }, `Layers: ${shortId(id)}`);
  }

  private open(target: ExplorerTarget, title: string): void {
    const same = [...this.panels].find((p) =>
      target.image !== null ? p.currentTarget.image === target.image || p.imageId === target.image : p.currentTarget.dockerfileUri === target.dockerfileUri && p.currentTarget.image === null,
    );
    if (same) {
      same.show();
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      EXPLORER_VIEW_TYPE,
      title,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false },
      { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview')] },
    );
    this.track(new ExplorerPanel(panel, target, this.host));
  }

  /** Quick Pick of the local images, newest first. Resolves the image ID, or undefined when dismissed. */
  async pickImage(title: string): Promise<string | undefined> {
    const c = this.host.client();
    if (c === null || !c.isRunning()) {
      void vscode.window.showErrorMessage('Layer Lens: the language server is not running; see the log.');
      return undefined;
    }
    const pick = vscode.window.createQuickPick<vscode.QuickPickItem & { id: string }>();
    pick.title = title;
    pick.placeholder = 'Local images, newest first';
    pick.busy = true;
    pick.matchOnDescription = true;
    pick.show();
    const chosen = new Promise<string | undefined>((resolve) => {
      pick.onDidAccept(() => {
        resolve(pick.selectedItems[0]?.id);
        pick.hide();
      });
      pick.onDidHide(() => {
        resolve(undefined);
        pick.dispose();
      });
    });
    try {
      const r = await c.sendRequest(ExplorerListImagesRequest);
      const now = Date.now();
      if (r.error) pick.placeholder = r.error.message;
      // Labels come from the daemon: Quick Pick renders them as text (codicons aside, which `$(` would start).
      pick.items = r.images.map((img) => ({
        id: img.id,
        label: (img.repoTags[0] ?? `<none> ${shortId(img.id)}`).replace(/\$\(/g, '$\u200b('),
        description: `${shortId(img.id)} · ${relativeTime(Date.parse(img.created), now)} · ${formatBytes(img.size)}`,
        detail: img.repoTags.length > 1 ? img.repoTags.slice(1).join(', ').replace(/\$\(/g, '$\u200b(') : undefined,
      }));
    } catch (e) {
      pick.placeholder = `Listing the images failed: ${e instanceof Error ? e.message : String(e)}`;
    }
    pick.busy = false;
    return chosen;
  }

  dispose(): void {
    for (const p of [...this.panels]) p.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function activeDockerfile(): vscode.Uri | undefined {
  const doc = vscode.window.activeTextEditor?.document;
  if (!doc) return undefined;
  return vscode.languages.match(DOCKERFILES, doc) > 0 ? doc.uri : undefined;
}

/** The target the webview saved (ExplorerUiState.target); an unknown shape gives an empty target, which asks for an image. */
function targetFromState(state: unknown): ExplorerTarget {
  const t = (state as { target?: { dockerfileUri?: unknown; image?: unknown } } | null)?.target;
  return {
    dockerfileUri: typeof t?.dockerfileUri === 'string' ? t.dockerfileUri : null,
    image: typeof t?.image === 'string' ? t.image : null,
  };
}

/** "Open Layer Explorer" above the FROM of the stage the build produces. */
class FromCodeLens implements vscode.CodeLensProvider {
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const target = vscode.workspace.getConfiguration(SETTINGS_SECTION, doc.uri).get<string>('target', '');
    const line = targetFromLine(doc.getText(), target);
    if (line === null) return [];
    return [new vscode.CodeLens(new vscode.Range(line, 0, line, 0), { title: 'Open Layer Explorer', command: OPEN_EXPLORER_COMMAND, arguments: [doc.uri] })];
  }
}
