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
  /** `docker build --network` for builds from the editor; empty = the daemon's default. */
  readonly buildNetwork: string;
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
  buildNetwork: '',
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
  /** Full walks of build contexts, and file watchers open on them (one per context and ignore rules in effect). */
  readonly contextWalks: number;
  readonly contextWatchers: number;
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

// ---- layer explorer (client ↔ server); the webview never talks to the server or the daemon itself ----
//
// Flow: ExplorerListImages (Quick Pick) → ExplorerOpen (history table, at once; starts streaming the layer contents
// unless cached) → ExplorerProgress notifications while the export streams → ExplorerLayerFiles / ExplorerWaste
// (answer `state: 'pending'` with no data until the file analysis is done; the client asks again on the final
// progress notification). Line numbers in this section are 0-based, like LSP positions.

/** Why an explorer request could not be answered. Messages are one readable sentence, daemon strings sanitised. */
export type ExplorerErrorKind =
  /** The image (ref or ID) is not on the daemon (never was, or was deleted while shown). */
  | 'image-not-found'
  /** The daemon cannot be reached (down, socket gone, TLS/ssh problem, time-out). */
  | 'daemon-unreachable'
  /** A Dockerfile was given but no local image could be tied to it: the client offers the Quick Pick. */
  | 'no-image-for-dockerfile'
  /** The daemon answered but its data could not be used (bad export, invalid JSON). */
  | 'invalid-response'
  /** The request itself is wrong (unknown layer index, both/neither of image and dockerfileUri…). */
  | 'bad-request';

export interface ExplorerError {
  readonly kind: ExplorerErrorKind;
  readonly message: string;
}

export interface ExplorerImageItem {
  /** 'sha256:…' */
  readonly id: string;
  /** [] for a dangling image. */
  readonly repoTags: readonly string[];
  /** ISO 8601. */
  readonly created: string;
  readonly size: number;
}

export interface ExplorerListImagesResult {
  /** Newest first. Intermediate (untagged child) images of the classic builder are left out. */
  readonly images: readonly ExplorerImageItem[];
  readonly error: ExplorerError | null;
}

export const EXPLORER_LIST_IMAGES_METHOD = 'layerLens/explorer/listImages';
export const ExplorerListImagesRequest = new RequestType0<ExplorerListImagesResult, void>(EXPLORER_LIST_IMAGES_METHOD);

export interface ExplorerOpenParams {
  /** An image ID or reference (`sha256:…`, `name:tag`). Exactly one of `image` and `dockerfileUri`. */
  readonly image?: string;
  /** A Dockerfile (open or on disk): the image it produced, found through the engine. */
  readonly dockerfileUri?: string;
  /** With `image`: a Dockerfile to tie the layers to (line ranges, rebuild marks), e.g. after the Quick Pick. */
  readonly tieToDockerfileUri?: string;
}

/** The Dockerfile lines that made a layer. */
export interface ExplorerSourceRange {
  readonly uri: string;
  /** 0-based first and last line of the instruction (continuations included). */
  readonly line: number;
  readonly endLine: number;
}

export interface ExplorerLayerRow {
  /** Position in the image history, 0 = oldest. Stable key for the other requests. */
  readonly index: number;
  /** The layer's diff ID; null for an empty (metadata-only) history entry. */
  readonly diffId: string | null;
  /** ISO 8601, or null when the history entry carries no time. */
  readonly created: string | null;
  /** The instruction, readable: `/bin/sh -c`, `#(nop)` and ` # buildkit` stripped, whitespace folded. */
  readonly createdBy: string;
  /** As the daemon stored it (sanitised: control characters removed, capped length). */
  readonly createdByRaw: string;
  readonly comment: string;
  readonly size: number;
  /** Sum of `size` of this row and every row before it. */
  readonly cumulativeSize: number;
  /** Metadata-only entry (ENV, CMD, LABEL…): shown dim, no files. */
  readonly empty: boolean;
  /** The row belongs to the base image (FROM) rather than to the Dockerfile's own steps. */
  readonly base: boolean;
  /** Base image reference as the Dockerfile's FROM names it, when `base` and known. */
  readonly baseImage: string | null;
  /** Dockerfile lines that made the row; for base rows, the FROM line; null when not tied. */
  readonly source: ExplorerSourceRange | null;
  /** The engine's prediction for the step behind the row: true = the next build re-makes it; null = unknown/not tied. */
  readonly wouldRebuild: boolean | null;
  /** The engine's one-line reason for `wouldRebuild`, when known. */
  readonly rebuildReason: string | null;
}

export interface ExplorerImageInfo {
  readonly id: string;
  readonly repoTags: readonly string[];
  readonly created: string;
  /** Total of the layer sizes. */
  readonly size: number;
  readonly layerCount: number;
  readonly emptyLayerCount: number;
  /** Config.Labels, sanitised like createdByRaw; {} when none. Untrusted text: render as text. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface ExplorerOpenResult {
  /** Null when `error` is set. */
  readonly image: ExplorerImageInfo | null;
  /** How the image was chosen: asked for by ref/ID, the tag the Dockerfile's builds left, or its history matched. */
  readonly foundBy: 'ref' | 'history-match' | null;
  /** The Dockerfile the rows are tied to, when any. */
  readonly dockerfileUri: string | null;
  /** Oldest first. */
  readonly layers: readonly ExplorerLayerRow[];
  /** Layer contents: already known (cache), being read now (watch ExplorerProgress), or not readable. */
  readonly files: 'ready' | 'streaming' | 'failed';
  readonly error: ExplorerError | null;
}

export const EXPLORER_OPEN_METHOD = 'layerLens/explorer/open';
export const ExplorerOpenRequest = new RequestType<ExplorerOpenParams, ExplorerOpenResult, void>(EXPLORER_OPEN_METHOD);

/** Sent while an image's export streams, at most ~10 times a second, and once at the end (`done`). */
export interface ExplorerProgressParams {
  /** Image ID ('sha256:…'), as in ExplorerOpenResult.image.id. */
  readonly imageId: string;
  readonly layersDone: number;
  readonly layersTotal: number;
  readonly bytesRead: number;
  /** Estimate (sum of the layer sizes); the export also carries headers and configs. */
  readonly bytesTotal: number;
  readonly done: boolean;
  /** Set with done=true when the read failed (image deleted meanwhile, daemon gone…). */
  readonly error: ExplorerError | null;
}

export const EXPLORER_PROGRESS_METHOD = 'layerLens/explorer/progress';
export const ExplorerProgressNotification = new NotificationType<ExplorerProgressParams>(EXPLORER_PROGRESS_METHOD);

/** An image shown in an explorer disappeared from the daemon (deleted, pruned): the panel says so and keeps its data. */
export interface ExplorerImageGoneParams {
  readonly imageId: string;
  readonly message: string;
}

export const EXPLORER_IMAGE_GONE_METHOD = 'layerLens/explorer/imageGone';
export const ExplorerImageGoneNotification = new NotificationType<ExplorerImageGoneParams>(EXPLORER_IMAGE_GONE_METHOD);

/** The client closed the panel of this image: the server stops streaming it (if it still does) and forgets it. */
export interface ExplorerCloseParams {
  readonly imageId: string;
}

export const EXPLORER_CLOSE_METHOD = 'layerLens/explorer/close';
export const ExplorerCloseNotification = new NotificationType<ExplorerCloseParams>(EXPLORER_CLOSE_METHOD);

/** Default and maximum of ExplorerLayerFilesParams.limit. */
export const EXPLORER_FILES_DEFAULT_LIMIT = 2000;
export const EXPLORER_FILES_MAX_LIMIT = 50000;

export interface ExplorerLayerFilesParams {
  readonly imageId: string;
  /** ExplorerLayerRow.index. */
  readonly layerIndex: number;
  /** 'changes': what this layer adds, modifies and removes. 'filesystem': the merged filesystem as of this layer. */
  readonly view: 'changes' | 'filesystem';
  /** Case-insensitive substring of the path; '' or absent = everything. */
  readonly filter?: string;
  /** Only entries under this directory (no leading '/'); '' or absent = the root. For lazily opened subtrees. */
  readonly under?: string;
  /** Most nodes returned (directories included); default EXPLORER_FILES_DEFAULT_LIMIT, at most EXPLORER_FILES_MAX_LIMIT. */
  readonly limit?: number;
}

export type ExplorerChange = 'added' | 'modified' | 'removed' | 'unchanged';

/** One node of the tree, in depth-first order (parents before children, names sorted). */
export interface ExplorerFileNode {
  /** Full path, no leading '/'. */
  readonly path: string;
  /** Number of path segments - 1 (0 for a top-level entry); drives the indentation. */
  readonly depth: number;
  readonly kind: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  /** Files: their size. Directories: the total of the file sizes below them in this view. Removed: the size hidden. */
  readonly size: number;
  readonly change: ExplorerChange;
  /** Symlink/hardlink target. */
  readonly linkTarget?: string;
  /** The directory was made opaque by this layer (`.wh..wh..opq`): everything below it from earlier layers is hidden. */
  readonly opaque?: boolean;
}

export interface ExplorerLayerFilesResult {
  /** 'pending': the contents are still streaming; ask again after ExplorerProgress done. */
  readonly state: 'ready' | 'pending' | 'empty-layer';
  readonly nodes: readonly ExplorerFileNode[];
  /** More nodes matched than `limit`: the list was cut (whole subtrees are kept in order as far as it goes). */
  readonly truncated: boolean;
  /** Nodes that matched in all (before the cut). */
  readonly matched: number;
  /** Counts for the whole layer (not filtered): files (non-directories) added, modified, removed. */
  readonly counts: { readonly added: number; readonly modified: number; readonly removed: number };
  readonly error: ExplorerError | null;
}

export const EXPLORER_LAYER_FILES_METHOD = 'layerLens/explorer/layerFiles';
export const ExplorerLayerFilesRequest = new RequestType<ExplorerLayerFilesParams, ExplorerLayerFilesResult, void>(EXPLORER_LAYER_FILES_METHOD);

export interface ExplorerWasteParams {
  readonly imageId: string;
  /** Most offenders returned (default 20, at most 1000). */
  readonly limit?: number;
}

/** A layer (row) and the Dockerfile line behind it. */
export interface ExplorerLayerRef {
  readonly layerIndex: number;
  readonly createdBy: string;
  readonly source: ExplorerSourceRange | null;
}

export interface ExplorerWasteOffender {
  readonly path: string;
  /** Bytes of the hidden versions of this path, each hidden version counted once. */
  readonly bytes: number;
  /** Hidden versions of the path (1 unless it was written again and again). */
  readonly versions: number;
  /** The layer that added the (first) hidden version. */
  readonly addedBy: ExplorerLayerRef;
  /** The layer that hid it: wrote it again, deleted it (whiteout), or replaced its directory (opaque). */
  readonly hiddenBy: ExplorerLayerRef;
  readonly how: 'overwritten' | 'deleted' | 'opaque-dir';
}

export interface ExplorerWasteResult {
  readonly state: 'ready' | 'pending';
  /** dive's efficiency score (0..1), for comparison with `dive --ci`. */
  readonly efficiency: number;
  /** dive's "wasted bytes" (counts every copy of a path seen in more than one layer, the last one included: dive#684). */
  readonly diveWastedBytes: number;
  /** Bytes that would go if the hidden file versions were never written: each hidden version counted once. */
  readonly removableBytes: number;
  /** Number of hidden file versions behind removableBytes. */
  readonly removableFiles: number;
  /** Total of the layer sizes, as the daemon reports them. */
  readonly imageBytes: number;
  /** Largest first. */
  readonly offenders: readonly ExplorerWasteOffender[];
  readonly error: ExplorerError | null;
}

export const EXPLORER_WASTE_METHOD = 'layerLens/explorer/waste';
export const ExplorerWasteRequest = new RequestType<ExplorerWasteParams, ExplorerWasteResult, void>(EXPLORER_WASTE_METHOD);

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
