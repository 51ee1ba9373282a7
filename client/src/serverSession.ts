// The client-lifetime half of the extension: one LanguageClient and what is registered on it. The extension
// lifetime (output channel, status bar item, commands) is owned by extension.ts and outlives restarts.
import * as vscode from 'vscode';
import { DidChangeConfigurationNotification, LanguageClient, State, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { DaemonStatusNotification, SETTINGS_SECTION, type BaseFeaturesSetting } from '../../server/src/protocol';
import { resolveBaseFeatures, withResolvedBaseFeatures, type BaseFeaturesDecision } from './baseFeatures';
import { daemonStatusView, STARTING_VIEW, stoppedView } from './daemonStatusView';
import { dockerfileDocumentSelector } from './documentSelector';
import type { DaemonStatusItem } from './statusBar';

export interface ServerSessionOptions {
  /** Absolute path of the bundled server (dist/server.js). */
  readonly serverModule: string;
  readonly output: vscode.LogOutputChannel;
  readonly status: DaemonStatusItem;
  /** Handlers to register on each new client (before it starts), disposed with it: e.g. the layer explorer's. */
  readonly onClient?: (client: LanguageClient) => vscode.Disposable[];
}

/** Registers a feature's handlers on a freshly made client; what it returns is disposed with that client. */
export type ClientAttachment = (client: LanguageClient) => vscode.Disposable[];

export class ServerSession {
  private client: LanguageClient | null = null;
  /** Disposed with the client: handlers registered on it. */
  private clientScope: vscode.Disposable[] = [];
  /** Features (the build view…) that register handlers on every client this session starts. */
  private readonly attachments: ClientAttachment[] = [];
  /** start/stop/restart run one after another, never interleaved. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ServerSessionOptions) {}

  /** The running client, or null (not started yet, stopped, or between a stop and a start). */
  get languageClient(): LanguageClient | null {
    return this.client;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  restart(): Promise<void> {
    return this.enqueue(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  /** Call before start(): `attach` runs on each client made from then on (so after every restart too). */
  attach(attachment: ClientAttachment): void {
    this.attachments.push(attachment);
  }

  /**
   * The running client, once pending start/stop/restart steps are done; rejects with a sentence when the server is
   * not running (it failed to start, or crashed for good).
   */
  async runningClient(): Promise<LanguageClient> {
    await this.queue;
    const client = this.client;
    if (client === null || !client.isRunning()) throw new Error('the Layer Lens language server is not running (see the Layer Lens log; "Layer Lens: Refresh" starts it again)');
    return client;
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.queue.then(step);
    // A failed step is reported by its caller; later steps still run.
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async doStart(): Promise<void> {
    const { output, status, serverModule } = this.opts;
    const run = { module: serverModule, transport: TransportKind.ipc };
    const serverOptions: ServerOptions = {
      run,
      debug: { ...run, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: dockerfileDocumentSelector(),
      // Pushes `layerLens.*` on every change (workspace/didChangeConfiguration); the server may also pull it.
      synchronize: { configurationSection: SETTINGS_SECTION },
      // One channel for everything: client messages, server logs and (when enabled) the protocol trace.
      outputChannel: output,
      traceOutputChannel: output,
      // Hovers carry file names and image metadata (untrusted text): render them without command links or HTML.
      markdown: { isTrusted: false, supportHtml: false },
      diagnosticCollectionName: 'layer-lens',
      // `baseLanguageFeatures: auto` depends on the installed extensions, which only the extension host sees.
      middleware: {
        workspace: {
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) return result;
            return result.map((section, i) => (params.items[i]?.section === SETTINGS_SECTION ? withResolvedBaseFeatures(section, baseFeatures()) : section));
          },
        },
      },
    };
    const client = new LanguageClient('layerLens', 'Layer Lens', serverOptions, clientOptions);
    this.client = client;
    let decided = baseFeatures();
    output.info(`base Dockerfile language features: ${decided.value} (${decided.because})`);
    this.clientScope.push(
      client.onNotification(DaemonStatusNotification, (params) => status.show(daemonStatusView(params))),
      client.onDidChangeState((e) => {
        // Only unexpected stops get here (doStop() disposes this listener first). The client restarts a crashed
        // server a few times (Starting again) before giving up (Stopped for good); the new server reports its status.
        if (e.newState === State.Stopped) status.show(stoppedView('The server process exited; see the log.'));
        else if (e.newState === State.Starting) status.show(STARTING_VIEW);
      }),
      // Installing or removing Container Tools / Docker DX flips `auto`: the server re-reads its settings.
      vscode.extensions.onDidChange(() => {
        const now = baseFeatures();
        if (now.value !== decided.value && client.isRunning()) {
          decided = now;
          output.info(`base Dockerfile language features: ${now.value} (${now.because})`);
          void client.sendNotification(DidChangeConfigurationNotification.type, { settings: null }).catch(() => undefined);
        }
      }),
      ...(this.opts.onClient?.(client) ?? []),
    );
    for (const attach of this.attachments) this.clientScope.push(...attach(client));
    status.show(STARTING_VIEW);
    output.info(`starting the language server: ${serverModule}`);
    try {
      await client.start();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      output.error(`the language server did not start: ${message}`);
      status.show(stoppedView(message));
      throw e;
    }
  }

  private async doStop(): Promise<void> {
    for (const d of this.clientScope.splice(0)) d.dispose();
    const client = this.client;
    this.client = null;
    if (client === null) return;
    try {
      // dispose() = stop (shutdown + exit, killing the process after the time-out) + free the client's resources.
      await client.dispose(3000);
    } catch (e) {
      this.opts.output.warn(`stopping the language server: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

function baseFeatures(): BaseFeaturesDecision {
  const setting = vscode.workspace.getConfiguration(SETTINGS_SECTION).get<BaseFeaturesSetting>('baseLanguageFeatures');
  return resolveBaseFeatures(setting, vscode.extensions.all.map((e) => e.id));
}
