// One Layer Explorer panel: the webview, the image it shows and the Dockerfile it is tied to. It asks the language
// server (requests declared in server/src/protocol.ts) and forwards the answers to the webview (webview/src/messages.ts).
// The webview never reaches the server or the daemon.
import * as vscode from 'vscode';
import { State, type LanguageClient } from 'vscode-languageclient/node';
import {
  ExplorerCloseNotification,
  ExplorerLayerFilesRequest,
  ExplorerOpenRequest,
  ExplorerWasteRequest,
  type ExplorerError,
  type ExplorerImageGoneParams,
  type ExplorerOpenParams,
  type ExplorerOpenResult,
  type ExplorerProgressParams,
  type ExplorerSourceRange,
} from '../../../server/src/protocol';
import { EXPLORER_PROTOCOL_VERSION, parseWebviewMessage, type ExplorerTarget, type FilesQuery, type HostMessage, type WebviewMessage } from '../../../webview/src/messages';
import { layerAtLine } from '../../../webview/src/model/layers';
import { explorerHtml, makeNonce } from './html';

/** Waste offenders listed in the panel (largest first). */
const WASTE_OFFENDERS = 20;

export interface ExplorerHost {
  /** The running language client, or null. */
  client(): LanguageClient | null;
  readonly extensionUri: vscode.Uri;
  readonly output: vscode.LogOutputChannel;
  /** Quick Pick of local images; resolves the chosen ID or undefined. */
  pickImage(title: string): Promise<string | undefined>;
  /** Whole-line highlight of the revealed instruction. */
  readonly highlight: vscode.TextEditorDecorationType;
  disposed(panel: ExplorerPanel): void;
}

export class ExplorerPanel {
  private target: ExplorerTarget;
  private opened: ExplorerOpenResult | null = null;
  /** The layer contents' state, updated by the progress notifications after the open answer. */
  private filesState: ExplorerOpenResult['files'] = 'failed';
  /** The last progress of the shown image: resent to a reloaded webview (it may have missed the final one). */
  private lastProgress: ExplorerProgressParams | null = null;
  private problem: { error: ExplorerError; canPick: boolean } | null = null;
  private ready = false;
  private loading: Promise<void> | null = null;
  private readonly disposables: vscode.Disposable[] = [];
  private isDisposed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    target: ExplorerTarget,
    private readonly host: ExplorerHost,
  ) {
    this.target = target;
    const root = vscode.Uri.joinPath(host.extensionUri, 'dist', 'webview');
    panel.webview.options = { enableScripts: true, localResourceRoots: [root] };
    panel.webview.html = explorerHtml(
      {
        cspSource: panel.webview.cspSource,
        script: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, 'explorer.js')).toString(),
        style: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, 'explorer.css')).toString(),
      },
      makeNonce(),
      makeNonce(),
    );
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => {
        const msg = parseWebviewMessage(m);
        if (msg === null) host.output.warn(`layer explorer: ignored a malformed message from the webview: ${JSON.stringify(m)?.slice(0, 200)}`);
        else void this.onMessage(msg);
      }),
      panel.onDidDispose(() => this.dispose()),
    );
    void this.load();
  }

  /** The serializer's state: the target (the webview keeps its own UI state next to it). */
  get currentTarget(): ExplorerTarget {
    return this.target;
  }

  get imageId(): string | null {
    return this.opened?.image?.id ?? null;
  }

  /** The Dockerfile the rows are tied to. */
  get dockerfileUri(): string | null {
    return this.opened?.dockerfileUri ?? this.target.dockerfileUri;
  }

  /** Shows another target in this panel (a command run again for another image or Dockerfile). */
  retarget(target: ExplorerTarget): void {
    this.closeOnServer();
    this.target = target;
    this.opened = null;
    this.post({ type: 'target', target });
    void this.load();
  }

  private post(m: HostMessage): void {
    // Before `ready` the webview has no listener: the message would be lost. `ready` triggers a full resend.
    if (!this.ready || this.isDisposed) return;
    void this.panel.webview.postMessage(m);
  }

  private async onMessage(m: WebviewMessage): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        if (m.version !== EXPLORER_PROTOCOL_VERSION) this.host.output.warn(`layer explorer: webview protocol ${m.version}, host ${EXPLORER_PROTOCOL_VERSION}`);
        this.resend();
        break;
      case 'select': {
        const src = this.opened?.layers.find((l) => l.index === m.layer)?.source ?? null;
        if (src) await this.reveal(src);
        break;
      }
      case 'reveal': {
        const uri = this.dockerfileUri;
        if (uri) await this.reveal({ uri, line: m.line, endLine: m.endLine });
        break;
      }
      case 'files':
        await this.files(m.query);
        break;
      case 'waste':
        await this.waste();
        break;
      case 'refresh':
        this.closeOnServer();
        this.opened = null;
        await this.load();
        break;
      case 'pickImage': {
        const id = await this.host.pickImage('Layer Explorer: pick an image');
        if (id) this.retarget({ image: id, dockerfileUri: this.target.dockerfileUri });
        break;
      }
    }
  }

  /** Everything the webview needs after a (re)load of its page. */
  private resend(): void {
    this.post({ type: 'target', target: this.target });
    if (this.opened?.image) this.postImage(this.opened);
    else if (this.problem) this.post({ type: 'problem', ...this.problem });
    else this.post({ type: 'loading', what: this.loadingText() });
  }

  private loadingText(): string {
    return this.target.image ? `Reading ${this.target.image}…` : 'Finding the image this Dockerfile produced…';
  }

  private load(): Promise<void> {
    this.loading ??= this.doLoad().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async doLoad(): Promise<void> {
    this.problem = null;
    if (this.target.image === null && this.target.dockerfileUri === null) {
      return this.showProblem({ kind: 'bad-request', message: 'This panel does not know which image to show: pick one.' }, true);
    }
    this.post({ type: 'loading', what: this.loadingText() });
    // No client yet (the panel restored during activation, before the server session started): the manager's
    // attach() of the new client loads every panel again.
    if (this.host.client() === null) return;
    const params: ExplorerOpenParams = this.target.image
      ? { image: this.target.image, ...(this.target.dockerfileUri ? { tieToDockerfileUri: this.target.dockerfileUri } : {}) }
      : { dockerfileUri: this.target.dockerfileUri ?? '' };
    const answer = await this.request((c) => c.sendRequest(ExplorerOpenRequest, params));
    if (this.isDisposed) return;
    if (!answer.ok) return this.showProblem(answer.error, true);
    const result = answer.value;
    if (result.error?.kind === 'no-image-for-dockerfile') {
      // The Dockerfile has no image yet (never built, or built elsewhere): let the user say which one it made.
      const id = await this.host.pickImage(`${result.error.message} Pick the image it produced:`);
      if (this.isDisposed) return;
      if (!id) return this.showProblem(result.error, true);
      this.target = { image: id, dockerfileUri: this.target.dockerfileUri };
      this.post({ type: 'target', target: this.target });
      return this.doLoad();
    }
    if (result.error || !result.image) return this.showProblem(result.error ?? { kind: 'invalid-response', message: 'The language server sent no image.' }, true);
    this.opened = result;
    this.filesState = result.files;
    this.lastProgress = null;
    this.panel.title = `Layers: ${result.image.repoTags[0] ?? result.image.id.slice(7, 19)}`;
    this.postImage(result);
  }

  private showProblem(error: ExplorerError, canPick: boolean): void {
    this.problem = { error, canPick };
    this.post({ type: 'problem', error, canPick });
  }

  private postImage(r: ExplorerOpenResult): void {
    const uri = r.dockerfileUri;
    this.post({
      type: 'image',
      version: EXPLORER_PROTOCOL_VERSION,
      image: r.image!,
      dockerfile: uri ? vscode.workspace.asRelativePath(vscode.Uri.parse(uri)) : null,
      layers: r.layers,
      now: Date.now(),
      files: this.filesState,
    });
    if (this.filesState === 'streaming' && this.lastProgress) this.post({ type: 'progress', progress: this.lastProgress });
    if (this.problem) this.post({ type: 'problem', ...this.problem });
  }

  private async files(query: FilesQuery): Promise<void> {
    const imageId = this.imageId;
    if (imageId === null) return;
    const answer = await this.request((c) =>
      c.sendRequest(ExplorerLayerFilesRequest, { imageId, layerIndex: query.layer, view: query.view, filter: query.filter, limit: query.limit }),
    );
    const result = answer.ok ? answer.value : { state: 'ready' as const, nodes: [], truncated: false, matched: 0, counts: { added: 0, modified: 0, removed: 0 }, error: answer.error };
    this.post({ type: 'files', query, result });
  }

  private async waste(): Promise<void> {
    const imageId = this.imageId;
    if (imageId === null) return;
    const answer = await this.request((c) => c.sendRequest(ExplorerWasteRequest, { imageId, limit: WASTE_OFFENDERS }));
    const waste = answer.ok
      ? answer.value
      : { state: 'ready' as const, efficiency: 0, diveWastedBytes: 0, removableBytes: 0, removableFiles: 0, imageBytes: 0, offenders: [], error: answer.error };
    this.post({ type: 'waste', waste });
  }

  /** Sends a request; a missing or failing language server becomes an ExplorerError (the panel says it). */
  private async request<T>(send: (c: LanguageClient) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: ExplorerError }> {
    const c = await this.runningClient();
    if (c === null) {
      return { ok: false, error: { kind: 'daemon-unreachable', message: 'The Layer Lens language server is not running (see "Layer Lens: Show Log"); Refresh tries again.' } };
    }
    try {
      return { ok: true, value: await send(c) };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.host.output.error(`layer explorer: ${message}`);
      return { ok: false, error: { kind: 'invalid-response', message: `The language server failed: ${message}` } };
    }
  }

  /**
   * The client once it runs. After a window reload the serializer restores the panel while the server is still
   * starting: wait for it (a server that fails to start, or takes over a minute, gives null).
   */
  private async runningClient(): Promise<LanguageClient | null> {
    const c = this.host.client();
    if (c === null || c.isRunning()) return c;
    return new Promise((resolve) => {
      const done = (value: LanguageClient | null): void => {
        clearTimeout(timer);
        sub.dispose();
        resolve(value);
      };
      const timer = setTimeout(() => done(c.isRunning() ? c : null), 60_000);
      const sub = c.onDidChangeState((e) => {
        if (e.newState === State.Running) done(c);
        else if (e.newState === State.Stopped) done(null);
      });
    });
  }

  /** Reveals and highlights a Dockerfile range, in the editor already showing it (else beside the panel), keeping focus. */
  private async reveal(src: ExplorerSourceRange): Promise<void> {
    const uri = vscode.Uri.parse(src.uri);
    const shown = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
    const doc = shown?.document ?? (await vscode.workspace.openTextDocument(uri));
    const last = Math.min(src.endLine, doc.lineCount - 1);
    const range = new vscode.Range(src.line, 0, last, doc.lineAt(last).text.length);
    const editor = await vscode.window.showTextDocument(doc, {
      viewColumn: shown?.viewColumn ?? (this.panel.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Two : vscode.ViewColumn.One),
      preserveFocus: true,
      preview: false,
      selection: new vscode.Range(src.line, 0, src.line, 0),
    });
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    editor.setDecorations(this.host.highlight, [range]);
  }

  /** The cursor of a Dockerfile editor moved: select the row of the layer made by that line. */
  cursorMoved(documentUri: string, line: number): void {
    if (!this.opened || this.dockerfileUri !== documentUri) return;
    const layer = layerAtLine(this.opened.layers, line);
    if (layer !== null) this.post({ type: 'cursor', layer });
  }

  onProgress(p: ExplorerProgressParams): void {
    if (p.imageId !== this.imageId) return;
    this.lastProgress = p;
    if (p.done) this.filesState = p.error ? 'failed' : 'ready';
    this.post({ type: 'progress', progress: p });
  }

  onImageGone(p: ExplorerImageGoneParams): void {
    if (p.imageId !== this.imageId) return;
    this.showProblem({ kind: 'image-not-found', message: p.message }, true);
  }

  /** The language server restarted: it forgot this panel's image; ask again. */
  serverRestarted(): void {
    this.opened = null;
    void this.load();
  }

  private closeOnServer(): void {
    const id = this.imageId;
    const c = this.host.client();
    if (id !== null && c !== null && c.isRunning()) void c.sendNotification(ExplorerCloseNotification, { imageId: id }).catch(() => undefined);
  }

  show(): void {
    this.panel.reveal(undefined, false);
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.closeOnServer();
    // The highlight belongs to the panel: it goes with it.
    const tied = this.dockerfileUri;
    for (const e of vscode.window.visibleTextEditors) if (e.document.uri.toString() === tied) e.setDecorations(this.host.highlight, []);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.host.disposed(this);
  }
}
