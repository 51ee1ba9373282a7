// Wires LSP messages to the session and the feature modules. Started by server.ts (the process entry point) and by
// `layerlens lsp`; tests call startServer with in-memory streams. Nothing may write to stdout but the transport:
// logs go through the connection.

import {
  CodeActionKind,
  TextDocumentSyncKind,
  TextDocuments,
  createConnection,
  ProposedFeatures,
  type Connection,
  type InitializeResult,
  type ServerCapabilities,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { promises as fs } from 'fs';
import { fileURLToPath, pathToFileURL } from 'url';
import { BaseFeatures } from './baseFeatures';
import { codeActions, editSupport } from './codeActions';
import { registerExplorer } from './explorer';
import { hover } from './hover';
import { inlayHints } from './inlayHints';
import { Session, type SessionOptions } from './session';
import { AnalysisRequest, BuildOutcomesRequest, BuildRequest, CancelBuildRequest, StatsRequest } from '../protocol';
import { BuildService } from './build';

export const SERVER_NAME = 'layer-lens';

/** Registers every handler on `connection` and starts listening. Returns the session (tests inspect it). */
export function startServer(connection: Connection, opts: SessionOptions = {}): Session {
  const documents = new TextDocuments(TextDocument);
  const session = new Session(connection, documents, opts);
  const base = new BaseFeatures(connection, documents, (doc) => session.isDockerfile(doc));
  session.extraDiagnostics = (text, settings) => base.diagnostics(text, settings);
  // Follows `layerLens.baseLanguageFeatures` (validation diagnostics follow it through the re-analysis a settings change causes).
  const applyBaseSetting = async (): Promise<void> => base.setEnabled((await session.settingsFor(null)).baseLanguageFeatures === 'on');
  const builds = new BuildService(connection, documents, session);

  connection.onInitialize((params): InitializeResult => {
    session.caps = params.capabilities;
    session.pushedSettings = params.initializationOptions;
    session.workspaceFolders = (params.workspaceFolders ?? [])
      .map((f) => f.uri)
      .concat(params.workspaceFolders ? [] : params.rootUri ? [params.rootUri] : [])
      .filter((u) => u.startsWith('file:'))
      .map((u) => fileURLToPath(u));
    const capabilities: ServerCapabilities = {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      inlayHintProvider: { resolveProvider: false },
      hoverProvider: true,
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix], resolveProvider: false },
      workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
    };
    base.initialize(params.capabilities, params.initializationOptions, capabilities);
    return { capabilities, serverInfo: { name: SERVER_NAME, version: '0.1.0' } };
  });

  connection.onInitialized(() => {
    if (session.caps.workspace?.workspaceFolders) {
      connection.workspace.onDidChangeWorkspaceFolders((e) => {
        const removed = new Set(e.removed.map((f) => f.uri));
        const kept = session.workspaceFolders.filter((p) => !removed.has(pathToFileURL(p).toString()));
        session.workspaceFolders = kept.concat(e.added.filter((f) => f.uri.startsWith('file:')).map((f) => fileURLToPath(f.uri)));
        session.configurationChanged(undefined);
      });
    }
    session.started().catch((e: unknown) => connection.console.error(`Layer Lens: ${String(e)}`));
    applyBaseSetting().catch((e: unknown) => connection.console.error(`Layer Lens: ${String(e)}`));
  });

  connection.onDidChangeConfiguration((p) => {
    session.configurationChanged(p.settings);
    applyBaseSetting().catch((e: unknown) => connection.console.error(`Layer Lens: ${String(e)}`));
  });

  // TextDocuments fires onDidChangeContent right after onDidOpen for the same text: that one is not an edit.
  const justOpened = new Set<string>();
  documents.onDidOpen((e) => {
    justOpened.add(e.document.uri);
    session.opened(e.document);
  });
  documents.onDidChangeContent((e) => {
    if (justOpened.delete(e.document.uri)) return;
    builds.edited(e.document.uri);
    session.changed(e.document);
  });
  documents.onDidClose((e) => {
    builds.closed(e.document.uri);
    session.closed(e.document.uri);
  });

  connection.languages.inlayHint.on(async (p) => {
    const doc = documents.get(p.textDocument.uri);
    const analysed = doc && session.analysisOf(doc.uri);
    if (!doc || !analysed) return [];
    if (!(await session.settingsFor(doc.uri)).inlayHints.enabled) return [];
    return inlayHints(session.views.viewOf(analysed, doc), p.range);
  });

  connection.onHover((p) => {
    const doc = documents.get(p.textDocument.uri);
    const analysed = doc && session.analysisOf(doc.uri);
    const ours = doc && analysed ? hover(session.views.viewOf(analysed, doc), p.position) : null;
    return base.mergeHover(doc, p.position, ours);
  });

  connection.onCodeAction(async (p) => {
    const doc = documents.get(p.textDocument.uri);
    if (!doc || !session.isDockerfile(doc)) return [];
    const settings = await session.settingsFor(doc.uri);
    const theirs = base.codeActions(doc, p);
    const ours = await codeActions(p, doc, session.views.currentOf(doc), session.analysisOf(doc.uri), settings, editSupport(session.caps), {
      read: async (file) => {
        const open = documents.get(pathToFileURL(file).toString());
        if (open) return open.getText();
        return fs.readFile(file, 'utf8').catch(() => null);
      },
    });
    return [...ours, ...theirs];
  });

  connection.onRequest(AnalysisRequest, (p) => {
    const a = session.analysisOf(p.uri);
    return a ? { uri: a.uri, version: a.version, report: a.report, error: a.error } : null;
  });
  connection.onRequest(StatsRequest, () => session.stats());
  const explorer = registerExplorer(connection, documents, session, opts.env ? { env: opts.env } : {});
  connection.onRequest(BuildRequest, (p, token) => builds.build(p, token));
  connection.onRequest(CancelBuildRequest, (p) => builds.cancel(p.buildId));
  connection.onRequest(BuildOutcomesRequest, (p) => builds.outcomes(p.uri));

  connection.onShutdown(() => {
    explorer.dispose();
    builds.dispose();
    return session.dispose();
  });

  documents.listen(connection);
  connection.listen();
  return session;
}

/** Entry point for a process: the transport comes from argv (`--stdio`, `--node-ipc`, `--socket=N`, `--pipe=N`). */
export function runServer(): Session {
  return startServer(createConnection(ProposedFeatures.all));
}
