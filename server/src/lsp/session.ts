// The language server's state and its one flow: a document, a context file or the daemon changes → the document is
// re-analysed (debounced, one analysis per document at a time) → diagnostics are republished and the editor is told
// to re-ask for inlay hints. Requests (hints, hovers, code actions) read the stored results and never wait on I/O.

import * as path from 'path';
import { fileURLToPath } from 'url';
import type { ClientCapabilities, Connection, Diagnostic, TextDocuments, WorkDoneProgressServerReporter } from 'vscode-languageserver';
import type { WalkProgress } from '../context/contextIndex';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { Analyzer } from '../analyze';
import { closeAllConnections } from '../docker/daemonClient';
import { errorText } from '../docker/errors';
import type { AnalysisReport } from '../engine/report';
import {
  AnalysisChangedNotification,
  DaemonStatusNotification,
  SETTINGS_SECTION,
  type AnalysisCause,
  type DaemonStatusParams,
  type LayerLensSettings,
  type ServerStats,
} from '../protocol';
import { analyzerBackend, type AnalysisBackend, type ContextKey, type Disposable } from './backend';
import type { CacheBytesRequest } from './cacheBytes';
import { DaemonWatch } from './daemonWatch';
import { layerDiagnostics, lspDiagnostics } from './diagnostics';
import { editorModel, tooLargeForEditor, ViewCache, type Analysed } from './documentView';
import { AnalysisScheduler } from './scheduler';
import { chooseBuilder, contextFolderFor, isDockerfileDocument, normaliseSettings, type BuilderChoice } from './settings';

export interface SessionOptions {
  /** One backend per Docker host setting; default: a real Analyzer. Tests pass fakes. */
  readonly backendFactory?: (settings: LayerLensSettings) => AnalysisBackend;
  readonly env?: NodeJS.ProcessEnv;
  /** Quiet time after a keystroke before re-analysing (default 150 ms). */
  readonly editDebounceMs?: number;
  /** Quiet time after a daemon event burst (default 250 ms). */
  readonly daemonDebounceMs?: number;
}

interface BackendEntry {
  readonly host: string;
  readonly backend: AnalysisBackend;
  readonly watch: DaemonWatch;
  choice: BuilderChoice;
}

interface ContextWatch {
  readonly uris: Set<string>;
  readonly ready: Promise<Disposable | null>;
}

export class Session {
  readonly views = new ViewCache();
  caps: ClientCapabilities = {};
  workspaceFolders: string[] = [];
  /** Settings pushed by clients without `workspace/configuration` (initializationOptions, didChangeConfiguration). */
  pushedSettings: unknown = undefined;
  /** Diagnostics published together with Layer Lens's own (the base features' validation), from the analysed text. */
  extraDiagnostics: (text: string, settings: LayerLensSettings) => Diagnostic[] = () => [];

  private readonly analyses = new Map<string, Analysed>();
  private readonly settings = new Map<string, Promise<LayerLensSettings>>();
  private readonly backends = new Map<string, BackendEntry>();
  private readonly docBackend = new Map<string, BackendEntry>();
  private readonly scheduler = new AnalysisScheduler(
    (uri, cause) => this.analyse(uri, cause),
    (uri, e) => this.connection.console.error(`Layer Lens: analysing ${uri} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
  );
  private readonly watches = new Map<string, ContextWatch>();
  private readonly docWatch = new Map<string, string>();
  private readonly buildDiagnostics = new Map<string, Diagnostic[]>();
  private readonly cacheBytesMemo = new Map<string, Partial<Record<string, number>>>();
  private lastStatus = '';
  private readonly loggedProblems = new Map<string, string>();
  /** Context walks that last more than a moment, shown as LSP work-done progress (by context folder). */
  private readonly walkProgress = new Map<string, Promise<WorkDoneProgressServerReporter | null>>();
  private counters = { analyses: 0, contextChanges: 0 };
  private disposed = false;

  constructor(
    private readonly connection: Connection,
    private readonly documents: TextDocuments<TextDocument>,
    private readonly opts: SessionOptions = {},
  ) {}

  // ---- lookups used by the feature handlers ----

  analysisOf(uri: string): Analysed | null {
    return this.analyses.get(uri) ?? null;
  }

  isDockerfile(doc: TextDocument): boolean {
    return isDockerfileDocument(doc.uri, doc.languageId);
  }

  settingsFor(uri: string | null): Promise<LayerLensSettings> {
    const k = uri ?? '';
    let s = this.settings.get(k);
    if (!s) {
      s = this.fetchSettings(uri).catch((e: unknown) => {
        this.connection.console.warn(`Layer Lens: cannot read settings (${errorText(e)}); using defaults`);
        return normaliseSettings(undefined);
      });
      this.settings.set(k, s);
    }
    return s;
  }

  private async fetchSettings(uri: string | null): Promise<LayerLensSettings> {
    if (this.caps.workspace?.configuration) {
      const raw: unknown = await this.connection.workspace.getConfiguration({ ...(uri ? { scopeUri: uri } : {}), section: SETTINGS_SECTION });
      return normaliseSettings(raw);
    }
    const pushed = this.pushedSettings as Record<string, unknown> | undefined;
    return normaliseSettings(pushed?.[SETTINGS_SECTION] ?? pushed);
  }

  stats(): ServerStats {
    let filesRead = 0;
    let bytesRead = 0;
    let walks = 0;
    let watchers = 0;
    let events = 0;
    let refreshes = 0;
    for (const e of this.backends.values()) {
      const h = e.backend.contextStats();
      filesRead += h.filesRead;
      bytesRead += h.bytesRead;
      walks += h.walks;
      watchers += h.watchers;
      events += e.watch.events;
      refreshes += e.watch.refreshes;
    }
    return {
      analyses: this.counters.analyses,
      contextFilesHashed: filesRead,
      contextBytesHashed: bytesRead,
      contextChanges: this.counters.contextChanges,
      contextWalks: walks,
      contextWatchers: watchers,
      daemonEvents: events,
      daemonRefreshes: refreshes,
      rssBytes: process.memoryUsage().rss,
    };
  }

  // ---- events from the editor ----

  opened(doc: TextDocument): void {
    if (this.isDockerfile(doc)) this.schedule(doc.uri, 'open', 0);
  }

  changed(doc: TextDocument): void {
    if (this.isDockerfile(doc)) this.schedule(doc.uri, 'edit', this.opts.editDebounceMs ?? 150);
  }

  closed(uri: string): void {
    this.scheduler.cancel(uri);
    this.analyses.delete(uri);
    this.views.forget(uri);
    this.docBackend.delete(uri);
    this.releaseWatch(uri);
    this.buildDiagnostics.delete(uri);
    void this.connection.sendDiagnostics({ uri, diagnostics: [] }).catch(() => undefined);
  }

  configurationChanged(pushed: unknown): void {
    if (pushed !== undefined && pushed !== null) this.pushedSettings = pushed;
    this.settings.clear();
    for (const doc of this.documents.all()) if (this.isDockerfile(doc)) this.schedule(doc.uri, 'settings', 0);
    this.refreshHints();
    void this.pushStatusFor(null);
  }

  /** The status bar has something to show before any Dockerfile is opened. */
  async started(): Promise<void> {
    await this.pushStatusFor(null);
  }

  private schedule(uri: string, cause: AnalysisCause, delayMs: number): void {
    if (!this.disposed) this.scheduler.schedule(uri, cause, delayMs);
  }

  // ---- the analysis ----

  private async analyse(uri: string, cause: AnalysisCause): Promise<void> {
    const doc = this.documents.get(uri);
    if (!doc || this.disposed) return;
    const version = doc.version;
    const text = doc.getText();
    const tooLarge = tooLargeForEditor(text);
    const model = editorModel(text);
    this.views.seed(uri, version, text, model);
    const settings = await this.settingsFor(uri);
    let report: AnalysisReport | null = null;
    let error: string | null = null;
    let key: ContextKey | null = null;
    let entry: BackendEntry | null = null;
    if (tooLarge !== null) {
      error = tooLarge;
    } else if (!uri.startsWith('file:')) {
      error = 'Layer Lens analyses Dockerfiles saved on disk: the build context is the folder around them.';
    } else {
      const dockerfile = fileURLToPath(uri);
      entry = this.backendFor(settings);
      this.docBackend.set(uri, entry);
      const info = await entry.watch.daemonInfo();
      entry.choice = chooseBuilder(settings.builder, this.opts.env ?? process.env, info.reachable ? info.version : null);
      key = { contextDir: contextFolderFor(settings, dockerfile, this.workspaceFolders), dockerfile, builder: entry.choice.builder };
      await this.ensureWatch(uri, entry, key);
      try {
        const result = await entry.backend.analyze({
          dockerfile,
          context: key.contextDir,
          target: settings.target || null,
          buildArgs: settings.buildArgs,
          builder: key.builder,
          dockerfileText: text,
          daemonInfo: info,
        });
        report = result.report;
        this.logContextProblems(key.contextDir, result.contextProblems);
      } catch (e) {
        error = errorText(e);
      }
      this.counters.analyses++;
    }
    if (this.disposed || !this.documents.get(uri)) return;
    const facts = entry && key ? entry.backend.contextFacts(key) : null;
    const analysed: Analysed = {
      uri,
      version,
      text,
      model,
      report,
      error,
      key,
      facts,
      ignoreFile: entry && key ? (entry.backend.ignoreFilePath(key) ?? path.join(key.contextDir, '.dockerignore')) : null,
      fileSizes: changedFileSizes(report, facts?.entries ?? null),
      cacheBytes: new Map(),
    };
    this.analyses.set(uri, analysed);
    if (error) this.connection.console.info(`Layer Lens: ${uri}: ${error}`);
    const toMeasure = this.knownCacheBytes(analysed);
    await this.publish(analysed);
    this.refreshHints();
    void this.connection.sendNotification(AnalysisChangedNotification, { uri, version, cause, ok: report !== null }).catch(() => undefined);
    if (entry) {
      void this.pushStatus(entry);
      this.measureCaches(analysed, entry, toMeasure);
    }
  }

  /** Unreadable context entries go to the log once per change (analyses follow keystrokes). */
  private logContextProblems(contextDir: string, problems: readonly { readonly rel: string; readonly message: string }[]): void {
    const text = problems.slice(0, 10).map((p) => `${JSON.stringify(p.rel)}: ${p.message}`).join('; ');
    if ((this.loggedProblems.get(contextDir) ?? '') === text) return;
    this.loggedProblems.set(contextDir, text);
    if (text) this.connection.console.warn(`Layer Lens: in the build context ${contextDir}, ${problems.length} entries could not be read: ${text}`);
  }

  private async publish(analysed: Analysed): Promise<void> {
    const settings = await this.settingsFor(analysed.uri);
    const buildDiagnostics = this.buildDiagnostics.get(analysed.uri) ?? [];
    await this.connection
      .sendDiagnostics({ uri: analysed.uri, version: analysed.version, diagnostics: [...lspDiagnostics(analysed, settings), ...this.extraDiagnostics(analysed.text, settings), ...buildDiagnostics] })
      .catch(() => undefined);
  }

  /**
   * Diagnostics another feature owns for a document (the failure of the last build), published with the analysis'
   * own; `null` removes them. Republishes at once.
   */
  setExtraDiagnostics(uri: string, diagnostics: Diagnostic[] | null): void {
    if (diagnostics === null) this.buildDiagnostics.delete(uri);
    else this.buildDiagnostics.set(uri, diagnostics);
    const analysed = this.analyses.get(uri);
    if (analysed) void this.publish(analysed);
    else void this.connection.sendDiagnostics({ uri, diagnostics: diagnostics ?? [] }).catch(() => undefined);
  }

  /** What a build of this document uses: the same backend, context folder and builder choice as its analysis. */
  async buildSetup(uri: string): Promise<{ backend: AnalysisBackend; settings: LayerLensSettings; dockerfile: string; contextDir: string; builder: BuilderChoice['builder'] }> {
    const settings = await this.settingsFor(uri);
    const entry = this.backendFor(settings);
    const info = await entry.watch.daemonInfo();
    entry.choice = chooseBuilder(settings.builder, this.opts.env ?? process.env, info.reachable ? info.version : null);
    const dockerfile = fileURLToPath(uri);
    return { backend: entry.backend, settings, dockerfile, contextDir: contextFolderFor(settings, dockerfile, this.workspaceFolders), builder: entry.choice.builder };
  }

  /** A build changed the daemon: re-analyse now rather than after the event debounce. */
  buildFinished(uri: string, backend: AnalysisBackend): void {
    backend.invalidateDaemon();
    if (this.documents.get(uri)) this.schedule(uri, 'daemon', 0);
  }

  private refreshHints(): void {
    if (this.caps.workspace?.inlayHint?.refreshSupport) {
      this.connection.languages.inlayHint.refresh().catch(() => undefined);
    }
  }

  /**
   * LL003 gains a byte count once the layer of the RUN has been read. Known counts (memoised per history entry,
   * failures included, so a layer is read at most once) go in before the first publish; the rest are measured in
   * the background and republished. Returns the requests still to measure.
   */
  private knownCacheBytes(analysed: Analysed): CacheBytesRequest[] {
    const report = analysed.report;
    if (!report) return [];
    const byLine = new Map<number, CacheBytesRequest['kinds'][number][]>();
    for (const d of layerDiagnostics(analysed)) if (d.data.code === 'LL003') byLine.set(d.data.line, [...(byLine.get(d.data.line) ?? []), d.data.cache]);
    const known = new Map<number, Partial<Record<string, number>>>();
    const requests: CacheBytesRequest[] = [];
    for (const [line, kinds] of byLine) {
      const h = report.steps.find((s) => s.line === line)?.history;
      if (!h) continue;
      const memo = this.cacheBytesMemo.get(memoKey(h));
      if (memo) known.set(line, memo);
      else requests.push({ line, kinds, history: h, builder: report.builder });
    }
    analysed.cacheBytes = known;
    return requests;
  }

  private measureCaches(analysed: Analysed, entry: BackendEntry, requests: readonly CacheBytesRequest[]): void {
    if (requests.length === 0) return;
    entry.backend.cacheBytes(requests).then((m) => {
      for (const r of requests) this.cacheBytesMemo.set(memoKey(r.history), m.get(r.line) ?? {});
      if (m.size === 0 || this.analyses.get(analysed.uri) !== analysed) return;
      analysed.cacheBytes = new Map([...analysed.cacheBytes, ...m]);
      void this.publish(analysed);
    }, () => undefined);
  }

  // ---- context watching ----

  private async ensureWatch(uri: string, entry: BackendEntry, key: ContextKey): Promise<void> {
    const k = JSON.stringify([entry.host, key.contextDir, key.dockerfile, key.builder]);
    if (this.docWatch.get(uri) !== k) {
      this.releaseWatch(uri);
      let w = this.watches.get(k);
      if (!w) {
        const ready = entry.backend.watchContext(key, (rels) => this.contextChanged(k, rels)).catch((e: unknown) => {
          // No such folder yet, or unreadable: the analysis reports it; the next analysis tries again.
          this.watches.delete(k);
          this.connection.console.info(`Layer Lens: not watching ${key.contextDir}: ${errorText(e)}`);
          return null;
        });
        w = { uris: new Set(), ready };
        this.watches.set(k, w);
      }
      w.uris.add(uri);
      this.docWatch.set(uri, k);
    }
    await this.watches.get(k)?.ready;
  }

  private releaseWatch(uri: string): void {
    const k = this.docWatch.get(uri);
    if (k === undefined) return;
    this.docWatch.delete(uri);
    const w = this.watches.get(k);
    if (!w) return;
    w.uris.delete(uri);
    if (w.uris.size === 0) {
      this.watches.delete(k);
      void w.ready.then((d) => d?.dispose());
    }
  }

  private contextChanged(k: string, _rels: string[]): void {
    this.counters.contextChanges++;
    for (const uri of this.watches.get(k)?.uris ?? []) this.schedule(uri, 'context', 0);
  }

  /**
   * A huge context takes seconds to walk: `window/workDoneProgress` (VS Code shows it in the status bar; other
   * editors in their own way) from half a second on, with the entries found so far, ended when the walk is.
   * Clients without work-done progress get nothing (the library hands back a reporter that sends nothing).
   */
  private contextWalkProgress(p: WalkProgress): void {
    const message = `${p.entries.toLocaleString('en-US')} entries so far in ${p.contextDir}`;
    const shown = this.walkProgress.get(p.contextDir);
    if (p.done) {
      this.walkProgress.delete(p.contextDir);
      void shown?.then((r) => r?.done());
      return;
    }
    if (shown) {
      void shown.then((r) => r?.report(message));
      return;
    }
    this.walkProgress.set(p.contextDir, this.connection.window.createWorkDoneProgress().then((r) => {
      r.begin('Layer Lens: reading the build context', undefined, message);
      return r;
    }, () => null));
  }

  // ---- the daemon ----

  private backendFor(settings: LayerLensSettings): BackendEntry {
    const host = settings.dockerHost;
    const existing = this.backends.get(host);
    if (existing) return existing;
    const backend = this.opts.backendFactory?.(settings) ?? analyzerBackend(new Analyzer({
      env: this.opts.env ?? process.env,
      hostSetting: host || null,
      onContextWalk: (p) => this.contextWalkProgress(p),
    }));
    const entry: BackendEntry = {
      host,
      backend,
      choice: chooseBuilder(settings.builder, this.opts.env ?? process.env, null),
      watch: new DaemonWatch(
        backend,
        () => this.daemonChanged(entry),
        () => void this.pushStatus(entry),
        this.opts.daemonDebounceMs ?? 250,
      ),
    };
    this.backends.set(host, entry);
    entry.watch.start();
    return entry;
  }

  private daemonChanged(entry: BackendEntry): void {
    for (const [uri, e] of this.docBackend) if (e === entry) this.schedule(uri, 'daemon', 0);
    void this.pushStatus(entry);
  }

  private async pushStatusFor(uri: string | null): Promise<void> {
    const settings = await this.settingsFor(uri);
    const entry = this.backendFor(settings);
    const info = await entry.watch.daemonInfo();
    entry.choice = chooseBuilder(settings.builder, this.opts.env ?? process.env, info.reachable ? info.version : null);
    await this.pushStatus(entry);
  }

  private async pushStatus(entry: BackendEntry): Promise<void> {
    if (this.disposed) return;
    const info = await entry.watch.daemonInfo();
    const params: DaemonStatusParams = {
      state: info.reachable ? 'connected' : 'unreachable',
      host: info.host,
      version: info.version,
      apiVersion: info.apiVersion,
      builder: entry.choice.builder,
      builderSource: entry.choice.source,
      reason: info.reachable ? null : (info.error ?? 'the daemon did not answer'),
      eventsConnected: entry.watch.eventsConnected,
    };
    const json = JSON.stringify(params);
    if (json === this.lastStatus || this.disposed) return;
    this.lastStatus = json;
    if (info.reachable) this.connection.console.info(`Layer Lens: Docker ${info.version ?? '?'} at ${info.host}, predicting for ${params.builder} (${params.builderSource})`);
    else this.connection.console.warn(`Layer Lens: Docker daemon unreachable: ${params.reason}`);
    await this.connection.sendNotification(DaemonStatusNotification, params).catch(() => undefined);
  }

  // ---- lifetime ----

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.scheduler.dispose();
    for (const w of this.watches.values()) (await w.ready)?.dispose();
    this.watches.clear();
    for (const e of this.backends.values()) {
      e.watch.dispose();
      await e.backend.dispose().catch(() => undefined);
    }
    this.backends.clear();
    // Keep-alive sockets to the daemon would keep the process (or a test run) alive after shutdown.
    closeAllConnections();
  }
}

function memoKey(h: CacheBytesRequest['history']): string {
  return `${h.imageId}|${h.created}|${h.createdBy}`;
}

function changedFileSizes(report: AnalysisReport | null, entries: ReadonlyMap<string, { readonly size: number }> | null): Map<string, number> {
  const out = new Map<string, number>();
  if (!report || !entries) return out;
  for (const s of report.steps) {
    const c = s.changedFiles;
    if (!c) continue;
    for (const p of [...c.changed, ...c.added, ...c.chmodded]) {
      const e = entries.get(p);
      if (e) out.set(p, e.size);
    }
  }
  return out;
}
