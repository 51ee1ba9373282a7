// The custom part of the Layer Lens language protocol, declared once. The VS Code client, the webview host and the
// tests import these constants and types; no method name is ever written as a string anywhere else.
// Everything standard (inlay hints, hover, diagnostics, code actions) goes through plain LSP.

import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import type { AnalysisReport, Builder } from './engine/report';

// ---- settings (workspace/configuration section `layerLens`) ----

export const SETTINGS_SECTION = 'layerLens';

export type BuilderSetting = 'auto' | Builder;
/** `off` hides the diagnostic; the others map to LSP severities. */
export type SeveritySetting = 'error' | 'warning' | 'information' | 'hint' | 'off';
/**
 * Base Dockerfile language features (completion, docs on hover, validation, formatting, symbols, folding, semantic
 * tokens). `auto` is resolved by the VS Code client (off when another Dockerfile language extension is installed);
 * a server that receives `auto` from another editor treats it as `off`, since that editor usually runs its own
 * Dockerfile language server.
 */
export type BaseFeaturesSetting = 'auto' | 'on' | 'off';

export interface LayerLensSettings {
  /** Like `docker -H`; empty = DOCKER_HOST / docker context / default socket, as the docker CLI resolves it. */
  readonly dockerHost: string;
  readonly builder: BuilderSetting;
  readonly buildArgs: Readonly<Record<string, string>>;
  /** Target stage; empty = the last stage. */
  readonly target: string;
  /**
   * Build context per Dockerfile: key = glob or path of the Dockerfile (relative to its workspace folder, or
   * absolute), value = context folder (relative to that workspace folder, or absolute). Default: the Dockerfile's folder.
   */
  readonly contextFolders: Readonly<Record<string, string>>;
  readonly inlayHints: { readonly enabled: boolean };
  /** Per diagnostic code (`LL001`…): severity override. */
  readonly diagnostics: { readonly severity: Readonly<Record<string, SeveritySetting>> };
  readonly baseLanguageFeatures: BaseFeaturesSetting;
}

export const DEFAULT_SETTINGS: LayerLensSettings = {
  dockerHost: '',
  builder: 'auto',
  buildArgs: {},
  target: '',
  contextFolders: {},
  inlayHints: { enabled: true },
  diagnostics: { severity: {} },
  baseLanguageFeatures: 'auto',
};

// ---- daemon status (server → client), drives the status bar item ----

export interface DaemonStatusParams {
  readonly state: 'connected' | 'unreachable';
  /** e.g. 'unix:///var/run/docker.sock'. */
  readonly host: string;
  readonly version: string | null;
  readonly apiVersion: string | null;
  /** The builder predictions are made for. */
  readonly builder: Builder;
  /** Why that builder: the `layerLens.builder` setting, DOCKER_BUILDKIT, the daemon version, or the default. */
  readonly builderSource: 'setting' | 'environment' | 'daemon' | 'default';
  /** One sentence when unreachable; null when connected. */
  readonly reason: string | null;
  /** The `/events` stream is up (hints follow builds, tags, deletes and prunes without polling). */
  readonly eventsConnected: boolean;
}

export const DAEMON_STATUS_METHOD = 'layerLens/daemonStatus';
export const DaemonStatusNotification = new NotificationType<DaemonStatusParams>(DAEMON_STATUS_METHOD);

// ---- analysis of one document (client → server): for tests and the layer explorer ----

export interface AnalysisParams {
  readonly uri: string;
}

export interface AnalysisResult {
  readonly uri: string;
  /** Document version the report was computed for. */
  readonly version: number;
  /** Null when the analysis failed (see `error`). */
  readonly report: AnalysisReport | null;
  readonly error: string | null;
}

export const ANALYSIS_METHOD = 'layerLens/analysis';
/** Resolves null when the URI is not an open Dockerfile or has not been analysed yet. */
export const AnalysisRequest = new RequestType<AnalysisParams, AnalysisResult | null, void>(ANALYSIS_METHOD);

// ---- a document was (re-)analysed (server → client): the explorer refreshes, tests await it instead of sleeping ----

export interface AnalysisChangedParams {
  readonly uri: string;
  readonly version: number;
  /** Why it ran: the document changed, a context file changed, the daemon changed, or the settings did. */
  readonly cause: AnalysisCause;
  readonly ok: boolean;
}

export type AnalysisCause = 'open' | 'edit' | 'context' | 'daemon' | 'settings';

export const ANALYSIS_CHANGED_METHOD = 'layerLens/analysisChanged';
export const AnalysisChangedNotification = new NotificationType<AnalysisChangedParams>(ANALYSIS_CHANGED_METHOD);

// ---- counters (client → server): benchmarks and tests check that a keystroke re-hashes nothing ----

export interface ServerStats {
  readonly analyses: number;
  /** Context files read to hash, over every context the server keeps. */
  readonly contextFilesHashed: number;
  readonly contextBytesHashed: number;
  /** Context change batches reported by file watchers. */
  readonly contextChanges: number;
  /** Daemon events received, and the re-analyses they caused (debounced). */
  readonly daemonEvents: number;
  readonly daemonRefreshes: number;
  readonly rssBytes: number;
}

export const STATS_METHOD = 'layerLens/stats';
export const StatsRequest = new RequestType0<ServerStats, void>(STATS_METHOD);

// ---- diagnostics ----

/** `source` of every diagnostic this server publishes. */
export const DIAGNOSTIC_SOURCE = 'layer-lens';
