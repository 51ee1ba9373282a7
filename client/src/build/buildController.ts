// Runs a build through the language server and shows it on the document: live marks from the server's progress
// notifications (one timer ticks the running step's time), the builder's output in the "Layer Lens Build" channel,
// and every instruction's outcome when it ends, kept until the document is edited. The server does the building
// (dockerode), publishes the failure diagnostic and refreshes the hints; this class only displays.
import { randomUUID } from 'crypto';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import {
  BuildOutcomesClearedNotification,
  BuildProgressNotification,
  BuildRequest,
  CancelBuildRequest,
  type BuildOutcomesClearedParams,
  type BuildProgressParams,
  type BuildResult,
  type BuildStepProgress,
} from '../../../server/src/protocol';
import type { ServerSession } from '../serverSession';
import type { BuildDecorations } from './buildDecorations';
import { buildLogText, fractionDone, isRunning, progressMarks, resultMarks } from './buildView';

/** How often the running step's time is redrawn: its label shows whole seconds. */
const TICK_MS = 1000;

interface LiveStep {
  readonly progress: BuildStepProgress;
  /** Date.now() when this state arrived: the running time ticks from the server's elapsedMs at that moment. */
  readonly receivedAt: number;
}

/** What a progress notification tells the person waiting: the current step and how far the build is. */
export interface BuildProgressReport {
  readonly current: string | null;
  /** 0–1: decided steps / all steps. */
  readonly fraction: number;
}

class LiveBuild {
  readonly steps = new Map<number, LiveStep>();
  /** False once the document is edited during the build: line numbers no longer match, so no marks are drawn. */
  linesValid = true;

  constructor(
    readonly buildId: string,
    readonly uri: vscode.Uri,
    readonly onProgress: (report: BuildProgressReport) => void,
  ) {}

  hasRunningStep(): boolean {
    for (const s of this.steps.values()) if (isRunning(s.progress)) return true;
    return false;
  }
}

export class BuildController implements vscode.Disposable {
  /** buildId → build, for the progress notifications. */
  private readonly live = new Map<string, LiveBuild>();
  private timer: NodeJS.Timeout | null = null;
  private readonly subscriptions: vscode.Disposable[] = [];
  private readonly buildsChanged = new vscode.EventEmitter<vscode.Uri>();
  /** A build of that document started or ended (the code lens says "Building…" meanwhile). */
  readonly onDidChangeBuilds = this.buildsChanged.event;

  constructor(
    private readonly session: ServerSession,
    private readonly output: vscode.OutputChannel,
    private readonly decorations: BuildDecorations,
  ) {
    this.subscriptions.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        // Saves and dirty-state changes arrive with no content change: they leave the outcomes in place.
        if (e.contentChanges.length > 0) this.documentEdited(e.document.uri);
      }),
    );
  }

  /** For ServerSession.attach: the build notifications of each client the session starts. */
  readonly attach = (client: LanguageClient): vscode.Disposable[] => [
    client.onNotification(BuildProgressNotification, (p) => this.progressArrived(p)),
    client.onNotification(BuildOutcomesClearedNotification, (p) => this.outcomesCleared(p)),
  ];

  isBuilding(uri: vscode.Uri): boolean {
    return this.buildOf(uri) !== undefined;
  }

  /**
   * Builds the saved Dockerfile at `uri` as `tag` with the configured builder, build args and target. Resolves with
   * the server's result (a failed, cancelled or refused build is a result too); rejects only when the language
   * server is not running or stops during the build. Cancelling `token` asks the server to stop the build, and the
   * result (outcome `cancelled`) is still awaited so that the lines say where it stopped.
   */
  async build(uri: vscode.Uri, tag: string, token: vscode.CancellationToken, onProgress: (report: BuildProgressReport) => void): Promise<BuildResult> {
    const client = await this.session.runningClient();
    const build = new LiveBuild(randomUUID(), uri, onProgress);
    this.live.set(build.buildId, build);
    this.buildsChanged.fire(uri);
    this.decorations.clear(uri);
    this.output.appendLine(`==== ${new Date().toLocaleString()}: building ${uri.fsPath} as ${tag}`);
    const cancel = token.onCancellationRequested(() => {
      this.output.appendLine('---- cancel requested: stopping the build');
      client.sendRequest(CancelBuildRequest, { buildId: build.buildId }).then(
        (stopped) => {
          if (!stopped) this.output.appendLine('---- the server had no running build to stop (it had already ended)');
        },
        (e: unknown) => this.output.appendLine(`---- cancelling failed: ${e instanceof Error ? e.message : String(e)}`),
      );
    });
    try {
      const result = await client.sendRequest(BuildRequest, { buildId: build.buildId, uri: uri.toString(), tag });
      if (build.linesValid) this.decorations.set(uri, resultMarks(result));
      else this.output.appendLine('---- the Dockerfile was edited during the build: its lines show no outcomes');
      return result;
    } catch (e) {
      // No result to show: leave no half-drawn progress behind.
      this.decorations.clear(uri);
      throw e;
    } finally {
      cancel.dispose();
      this.live.delete(build.buildId);
      this.updateTimer();
      this.buildsChanged.fire(uri);
    }
  }

  /** Writes lines to the build log (the summary, after the builder's output). */
  log(lines: readonly string[]): void {
    for (const l of lines) this.output.appendLine(l);
  }

  showLog(): void {
    this.output.show(true);
  }

  private buildOf(uri: vscode.Uri): LiveBuild | undefined {
    const key = uri.toString();
    for (const b of this.live.values()) if (b.uri.toString() === key) return b;
    return undefined;
  }

  private progressArrived(p: BuildProgressParams): void {
    const build = this.live.get(p.buildId);
    if (!build) return; // a build this window did not start, or one whose result already arrived
    const now = Date.now();
    for (const s of p.steps) build.steps.set(s.index, { progress: s, receivedAt: now });
    for (const l of p.log) this.output.appendLine(buildLogText(l.text));
    build.onProgress({ current: p.current, fraction: fractionDone([...build.steps.values()].map((s) => s.progress)) });
    this.render(build);
    this.updateTimer();
  }

  private render(build: LiveBuild): void {
    if (!build.linesValid) return;
    const now = Date.now();
    const elapsed = (step: BuildStepProgress): number | null => {
      const live = build.steps.get(step.index);
      if (!isRunning(step)) return step.elapsedMs;
      if (step.elapsedMs !== null && live) return step.elapsedMs + (now - live.receivedAt);
      return step.startedMs === null ? null : now - step.startedMs;
    };
    this.decorations.set(build.uri, progressMarks([...build.steps.values()].map((s) => s.progress), elapsed));
  }

  /** One interval for all builds, running only while some step is running. */
  private updateTimer(): void {
    const needed = [...this.live.values()].some((b) => b.linesValid && b.hasRunningStep());
    if (needed && this.timer === null) {
      this.timer = setInterval(() => {
        for (const b of this.live.values()) if (b.hasRunningStep()) this.render(b);
      }, TICK_MS);
    } else if (!needed && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private documentEdited(uri: vscode.Uri): void {
    const build = this.buildOf(uri);
    if (build) {
      build.linesValid = false;
      this.updateTimer();
    }
    this.decorations.clear(uri);
  }

  private outcomesCleared(p: BuildOutcomesClearedParams): void {
    const uri = vscode.Uri.parse(p.uri);
    // A build of this document has just started: its own progress replaces the old outcomes.
    if (p.reason === 'rebuild' && this.isBuilding(uri)) return;
    if (p.reason === 'edit') this.documentEdited(uri);
    else if (!this.isBuilding(uri)) this.decorations.clear(uri);
  }

  dispose(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.live.clear();
    for (const d of this.subscriptions.splice(0)) d.dispose();
    this.buildsChanged.dispose();
  }
}
