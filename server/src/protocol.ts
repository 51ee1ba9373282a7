// The custom part of the Layer Lens language protocol, declared once. The VS Code client, the webview host and the
// tests import these constants and types; no method name is ever written as a string anywhere else.
// Everything standard (inlay hints, hover, diagnostics, code actions) goes through plain LSP.

import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import type { AnalysisReport, Builder, CacheStatus } from './engine/report';

// ---- settings (workspace/configuration section `layerLens`) ----

export const SETTINGS_SECTION = 'layerLens';

export type BuilderSetting = 'auto' | Builder;
/** `off` hides the diagnostic; the others map to LSP severities. */
export type SeveritySetting = 'error' | 'warning' | 'information' | 'hint' | 'off';

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
  /** `docker build --network` for builds from the editor; empty = the daemon's default. */
  readonly buildNetwork: string;
  readonly inlayHints: { readonly enabled: boolean };
  /** Per diagnostic code (`LL001`…): severity override. */
  readonly diagnostics: { readonly severity: Readonly<Record<string, SeveritySetting>> };
}

export const DEFAULT_SETTINGS: LayerLensSettings = {
  dockerHost: '',
  builder: 'auto',
  buildArgs: {},
  target: '',
  contextFolders: {},
  buildNetwork: '',
  inlayHints: { enabled: true },
  diagnostics: { severity: {} },
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

// ---- build from the editor (client → server), issue 5 ----
// The client picks the build id (a UUID) so that progress notifications, which can arrive before the response, and
// a cancel request can name the build. Lines are 1-based, first and last line of the instruction (continuations
// included), exactly as in `StepReport.line/endLine`. Times are epoch milliseconds of the server's clock.

export interface BuildParams {
  readonly buildId: string;
  /** An open (or on-disk) Dockerfile. Unsaved edits are NOT built: the client saves first (the daemon sees disk). */
  readonly uri: string;
  /** `name:tag` or `name`; validated by the server (a bad tag fails with outcome `invalid`). */
  readonly tag: string;
  /** Overrides of the `layerLens` settings for this build only; absent = the setting. */
  readonly builder?: Builder;
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** Target stage; absent = the `target` setting; '' = the last stage. */
  readonly target?: string;
  /** `docker build --network`: absent = the `buildNetwork` setting ('' = the daemon's default; a daemon without a bridge needs 'none'). */
  readonly network?: string;
}

/**
 * `config`: nothing to run — BuildKit writes ENV/LABEL/ARG/CMD… straight into the image config (no vertex), a
 * `FROM <stage>` reuses that stage's result, global ARGs configure the build. Set when the build ends.
 */
export type BuildStepState = 'waiting' | 'running' | 'cached' | 'built' | 'failed' | 'config';

/** The live state of one Dockerfile instruction during a build. Always the whole state, never a delta. */
export interface BuildStepProgress {
  /** Index into the build's instruction list (Dockerfile order, every stage); stable for the whole build. */
  readonly index: number;
  readonly line: number;
  readonly endLine: number;
  readonly stage: string;
  /** Upper-case keyword: `RUN`, `COPY`, `FROM`… */
  readonly instruction: string;
  readonly state: BuildStepState;
  /** When the builder started / finished it; null while unknown. */
  readonly startedMs: number | null;
  readonly endedMs: number | null;
  /** endedMs − startedMs when ended, now − startedMs while running (the client may tick it locally), else null. */
  readonly elapsedMs: number | null;
  /** Layer size in bytes once known (after the build, from the image history); null before. */
  readonly sizeBytes: number | null;
}

export interface BuildLogLine {
  /** The step it belongs to (index), or null for builder-wide lines ("Sending build context", "Successfully built"). */
  readonly step: number | null;
  readonly text: string;
}

/** Server → client while a build runs; batched (at most every ~100 ms), only the steps that changed. */
export interface BuildProgressParams {
  readonly buildId: string;
  readonly uri: string;
  readonly steps: readonly BuildStepProgress[];
  readonly log: readonly BuildLogLine[];
  /** One line for the progress notification: "[2/5] RUN npm ci", or a phase ("Sending context 12 MiB"). */
  readonly current: string | null;
}

export type BuildStepOutcome = 'cached' | 'built' | 'failed' | 'config' | 'not-run';

export interface BuildStepResult {
  readonly index: number;
  readonly line: number;
  readonly endLine: number;
  readonly stage: string;
  readonly instruction: string;
  /** The instruction as written (joined), for messages. */
  readonly text: string;
  /** What Layer Lens predicted just before the build. */
  readonly predicted: CacheStatus;
  /** What the builder did. `not-run`: skipped stage, after a failure, or cancelled before it ran. */
  readonly actual: BuildStepOutcome;
  /** true/false when both are known (predicted hit/miss and actual cached/built/failed); null otherwise (`config`, `not-run`, `unknown`). */
  readonly predictionCorrect: boolean | null;
  readonly durationMs: number | null;
  readonly sizeBytes: number | null;
  readonly predictedSizeBytes: number | null;
}

export interface BuildMismatch {
  readonly index: number;
  readonly line: number;
  readonly text: string;
  readonly predicted: CacheStatus;
  readonly actual: BuildStepOutcome;
  /** The engine's reason for its prediction, so the bug report says what it thought. */
  readonly reason: string;
}

export type BuildOutcome =
  /** Built (tagged). */
  | 'succeeded'
  /** A step failed (error.line set) or the builder rejected the Dockerfile (syntax; error.line set when known). */
  | 'failed'
  | 'cancelled'
  /** The daemon went away or could not be reached. */
  | 'daemon-error'
  /** Bad request: unknown document, bad tag, unknown target, unreadable context… Nothing was sent to the daemon. */
  | 'invalid';

export interface BuildError {
  readonly message: string;
  /** The Dockerfile line range it belongs to (failing step, syntax error); null when it belongs to no line. */
  readonly line: number | null;
  readonly endLine: number | null;
}

export interface BuildResult {
  readonly buildId: string;
  readonly uri: string;
  readonly tag: string;
  readonly builder: Builder;
  readonly target: string | null;
  readonly outcome: BuildOutcome;
  readonly imageId: string | null;
  readonly startedMs: number;
  readonly durationMs: number;
  /** Every instruction of the Dockerfile, in order. Empty when outcome is `invalid` before parsing. */
  readonly steps: readonly BuildStepResult[];
  readonly prediction: {
    /** Steps with predictionCorrect !== null. */
    readonly compared: number;
    readonly correct: number;
    readonly mismatches: readonly BuildMismatch[];
  };
  readonly error: BuildError | null;
}

export const BUILD_METHOD = 'layerLens/build';
/**
 * Runs a build; resolves when it ends (never rejects for a failed build: see `outcome`). LSP `$/cancelRequest` on
 * this request cancels the build like `CancelBuildRequest`. One build per Dockerfile at a time: a second request
 * for the same URI resolves at once with outcome `invalid`.
 */
export const BuildRequest = new RequestType<BuildParams, BuildResult, void>(BUILD_METHOD);

export const BUILD_PROGRESS_METHOD = 'layerLens/buildProgress';
export const BuildProgressNotification = new NotificationType<BuildProgressParams>(BUILD_PROGRESS_METHOD);

export interface CancelBuildParams {
  readonly buildId: string;
}
export const CANCEL_BUILD_METHOD = 'layerLens/cancelBuild';
/** Resolves true when a running build was told to stop (the BuildRequest then resolves with `cancelled`). */
export const CancelBuildRequest = new RequestType<CancelBuildParams, boolean, void>(CANCEL_BUILD_METHOD);

export interface BuildOutcomesParams {
  readonly uri: string;
}
export const BUILD_OUTCOMES_METHOD = 'layerLens/buildOutcomes';
/** The last build's result for a document while its outcomes still hold (no edit since); null otherwise. */
export const BuildOutcomesRequest = new RequestType<BuildOutcomesParams, BuildResult | null, void>(BUILD_OUTCOMES_METHOD);

export interface BuildOutcomesClearedParams {
  readonly uri: string;
  /** The document was edited (line outcomes no longer apply), closed, or a new build of it started. */
  readonly reason: 'edit' | 'closed' | 'rebuild';
}
export const BUILD_OUTCOMES_CLEARED_METHOD = 'layerLens/buildOutcomesCleared';
export const BuildOutcomesClearedNotification = new NotificationType<BuildOutcomesClearedParams>(BUILD_OUTCOMES_CLEARED_METHOD);

/**
 * `code` of the error diagnostic published on the failing line (or on the syntax error) after a failed build; it is
 * published with the other Layer Lens diagnostics and removed on the next edit of the document or the next build.
 */
export const BUILD_FAILURE_DIAGNOSTIC_CODE = 'LL100';
