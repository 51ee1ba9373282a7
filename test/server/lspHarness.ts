// In-process LSP round trips: the real server (startServer) and a protocol client in one process, joined by two
// in-memory streams. Nothing sleeps: tests await a notification or request from the server with a deadline.

import { PassThrough } from 'stream';
import {
  createProtocolConnection,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  InitializedNotification,
  InitializeRequest,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgress,
  WorkDoneProgressCreateRequest,
  type ClientCapabilities,
  type WorkDoneProgressCreateParams,
  type InitializeResult,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
  type TextDocumentContentChangeEvent,
} from 'vscode-languageserver-protocol/node';
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import type { Session, SessionOptions } from '../../server/src/lsp/session';
import { ANALYSIS_CHANGED_METHOD, type AnalysisChangedParams, type LayerLensSettings } from '../../server/src/protocol';
import { startServer } from '../../server/src/lsp/languageServer';

export const FULL_CAPABILITIES: ClientCapabilities = {
  workspace: {
    configuration: true,
    inlayHint: { refreshSupport: true },
    workspaceEdit: { documentChanges: true, resourceOperations: ['create'] },
    workspaceFolders: true,
  },
  textDocument: {
    inlayHint: { dynamicRegistration: false },
    hover: { contentFormat: ['markdown', 'plaintext'] },
    codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix'] } } },
    publishDiagnostics: { relatedInformation: true, versionSupport: true, codeDescriptionSupport: true, dataSupport: true },
  },
};

export type SettingsInput = { -readonly [K in keyof LayerLensSettings]?: LayerLensSettings[K] };

interface Seen {
  readonly method: string;
  readonly params: unknown;
}

export class TestClient {
  readonly client: ProtocolConnection;
  readonly session: Session;
  settings: SettingsInput;
  inlayRefreshes = 0;
  private readonly seen: Seen[] = [];
  private readonly waiters = new Set<{ method: string; pred: (p: unknown) => boolean; from: number; resolve: (p: unknown) => void }>();
  private readonly versions = new Map<string, number>();

  constructor(opts: SessionOptions, settings: SettingsInput = {}) {
    this.settings = settings;
    const up = new PassThrough();
    const down = new PassThrough();
    // Readers/writers, not raw streams: given raw streams, vscode-languageserver exits the process when they close.
    const server = createConnection(ProposedFeatures.all, new StreamMessageReader(up), new StreamMessageWriter(down));
    this.session = startServer(server, opts);
    this.client = createProtocolConnection(new StreamMessageReader(down), new StreamMessageWriter(up));
    this.client.onUnhandledNotification((n) => this.record(n.method, n.params));
    this.client.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) => p.items.map(() => this.settings));
    this.client.onRequest('workspace/inlayHint/refresh', () => {
      this.inlayRefreshes++;
      this.record('workspace/inlayHint/refresh', null);
      return null;
    });
    this.client.onRequest('client/registerCapability', () => null);
    // Work-done progress the server starts (clients that declare window.workDoneProgress): recorded as
    // 'window/workDoneProgress/create' and then '$/progress' ({ token, value: begin | report | end }).
    this.client.onRequest(WorkDoneProgressCreateRequest.method, (p: WorkDoneProgressCreateParams) => {
      this.record(WorkDoneProgressCreateRequest.method, p);
      this.client.onProgress(WorkDoneProgress.type, p.token, (value) => this.record('$/progress', { token: p.token, value }));
      return null;
    });
    this.client.listen();
  }

  private record(method: string, params: unknown): void {
    this.seen.push({ method, params });
    for (const w of [...this.waiters]) {
      if (w.method === method && w.pred(params)) {
        this.waiters.delete(w);
        w.resolve(params);
      }
    }
  }

  /** Drops the messages seen so far (long sessions: the record would otherwise grow with every analysis). */
  forget(): void {
    this.seen.length = 0;
  }

  /** Every message `method` seen so far (from index `from`), in order. */
  messages<T>(method: string, from = 0): T[] {
    return this.seen.slice(from).filter((s) => s.method === method).map((s) => s.params as T);
  }

  /** Index to pass as `from` so that only messages after this point count. */
  mark(): number {
    return this.seen.length;
  }

  /** The first message `method` (from index `from`) matching `pred`, or a failure after `timeoutMs`. */
  waitFor<T>(method: string, pred: (p: T) => boolean = () => true, opts: { from?: number; timeoutMs?: number } = {}): Promise<T> {
    const from = opts.from ?? 0;
    const hit = this.seen.slice(from).find((s) => s.method === method && pred(s.params as T));
    if (hit) return Promise.resolve(hit.params as T);
    return new Promise<T>((resolve, reject) => {
      const w = { method, pred: pred as (p: unknown) => boolean, from, resolve: resolve as (p: unknown) => void };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`no ${method} within ${opts.timeoutMs ?? 10_000} ms; seen: ${this.seen.slice(from).map((s) => s.method).join(', ')}`));
      }, opts.timeoutMs ?? 10_000);
      w.resolve = (p) => {
        clearTimeout(timer);
        resolve(p as T);
      };
      this.waiters.add(w);
    });
  }

  analysed(uri: string, opts: { from?: number; version?: number; cause?: AnalysisChangedParams['cause']; timeoutMs?: number } = {}): Promise<AnalysisChangedParams> {
    return this.waitFor<AnalysisChangedParams>(
      ANALYSIS_CHANGED_METHOD,
      (p) => p.uri === uri && (opts.version === undefined || p.version === opts.version) && (opts.cause === undefined || p.cause === opts.cause),
      opts,
    );
  }

  diagnostics(uri: string, opts: { from?: number; version?: number; timeoutMs?: number } = {}): Promise<PublishDiagnosticsParams> {
    return this.waitFor<PublishDiagnosticsParams>(
      'textDocument/publishDiagnostics',
      (p) => p.uri === uri && (opts.version === undefined || p.version === opts.version),
      opts,
    );
  }

  async initialize(caps: ClientCapabilities = FULL_CAPABILITIES, workspaceFolder?: string): Promise<InitializeResult> {
    const res = await this.client.sendRequest(InitializeRequest.type, {
      processId: null, // a pid here would start the server's parent-process watchdog timer
      rootUri: null,
      capabilities: caps,
      workspaceFolders: workspaceFolder ? [{ uri: workspaceFolder, name: 'ws' }] : null,
    });
    await this.client.sendNotification(InitializedNotification.type, {});
    return res;
  }

  async open(uri: string, text: string, languageId = 'dockerfile'): Promise<void> {
    this.versions.set(uri, 1);
    await this.client.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId, version: 1, text } });
  }

  /** Sends a change; returns the new version. */
  async change(uri: string, changes: TextDocumentContentChangeEvent[]): Promise<number> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.client.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: changes });
    return version;
  }

  async configure(settings: SettingsInput): Promise<void> {
    this.settings = settings;
    await this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
  }

  /** `shutdown` only: the `exit` notification would end this (test) process. */
  async shutdown(): Promise<void> {
    await this.client.sendRequest(ShutdownRequest.type);
    this.client.dispose();
  }
}
