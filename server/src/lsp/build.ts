// Builds from the editor (protocol.ts "build from the editor"): runs build/runBuild.ts with the document's settings,
// streams batched progress, turns a failure into an error diagnostic on its line, keeps the last outcomes until the
// next edit, and has the document re-analysed afterwards. One build per document at a time.

import { DiagnosticSeverity, type CancellationToken, type Connection, type Diagnostic } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { TextDocuments } from 'vscode-languageserver';
import { errorText } from '../docker/errors';
import {
  BUILD_FAILURE_DIAGNOSTIC_CODE, BuildOutcomesClearedNotification, BuildProgressNotification, DIAGNOSTIC_SOURCE,
  type BuildLogLine, type BuildOutcomesClearedParams, type BuildParams, type BuildResult, type BuildStepProgress,
} from '../protocol';
import type { Session } from './session';

const PROGRESS_INTERVAL_MS = 100;

interface Running {
  readonly buildId: string;
  readonly abort: AbortController;
}

export class BuildService {
  private readonly running = new Map<string, Running>();
  private readonly lastResults = new Map<string, BuildResult>();

  constructor(
    private readonly connection: Connection,
    private readonly documents: TextDocuments<TextDocument>,
    private readonly session: Session,
  ) {}

  async build(p: BuildParams, token?: CancellationToken): Promise<BuildResult> {
    const startedMs = Date.now();
    const refuse = (message: string): BuildResult => ({
      buildId: p.buildId, uri: p.uri, tag: p.tag, builder: p.builder ?? 'buildkit', target: p.target || null, outcome: 'invalid',
      imageId: null, startedMs, durationMs: 0, steps: [], prediction: { compared: 0, correct: 0, mismatches: [] },
      error: { message, line: null, endLine: null },
    });
    if (typeof p.buildId !== 'string' || p.buildId === '' || typeof p.uri !== 'string' || typeof p.tag !== 'string') {
      return refuse('a build needs a buildId, a uri and a tag');
    }
    if (!p.uri.startsWith('file:')) return refuse('only Dockerfiles saved on disk can be built');
    if (this.running.has(p.uri)) return refuse('this Dockerfile is already being built; wait for that build or cancel it');
    for (const r of this.running.values()) if (r.buildId === p.buildId) return refuse(`build id ${p.buildId} is already in use`);

    const abort = new AbortController();
    this.running.set(p.uri, { buildId: p.buildId, abort });
    const cancelSub = token?.onCancellationRequested(() => abort.abort());
    this.clear(p.uri, 'rebuild');
    const progress = new ProgressBatcher((steps, log, current) => {
      void this.connection.sendNotification(BuildProgressNotification, { buildId: p.buildId, uri: p.uri, steps, log, current }).catch(() => undefined);
    });
    try {
      const setup = await this.session.buildSetup(p.uri);
      if (!setup.backend.build) return refuse('this server cannot run builds');
      const result = await setup.backend.build({
        buildId: p.buildId,
        uri: p.uri,
        dockerfile: setup.dockerfile,
        contextDir: setup.contextDir,
        tag: p.tag.trim(),
        builder: p.builder ?? setup.builder,
        buildArgs: p.buildArgs ?? setup.settings.buildArgs,
        target: p.target !== undefined ? p.target : setup.settings.target,
        network: p.network ?? setup.settings.buildNetwork,
      }, {
        steps: (s) => progress.steps(s),
        log: (l) => progress.log(l),
        current: (t) => progress.current(t),
        mismatch: (line) => this.connection.console.warn(line),
      }, abort.signal);
      progress.flush();
      this.connection.console.info(
        `Layer Lens build ${result.tag} (${result.builder}): ${result.outcome}` +
          (result.prediction.compared > 0 ? `, prediction ${result.prediction.correct}/${result.prediction.compared} right` : '') +
          (result.error ? ` — ${result.error.message}` : ''),
      );
      if (result.outcome === 'succeeded' || result.outcome === 'failed') this.lastResults.set(p.uri, result);
      if (result.error && result.error.line !== null && result.outcome === 'failed') {
        this.session.setExtraDiagnostics(p.uri, [failureDiagnostic(result, this.documents.get(p.uri))]);
      }
      this.session.buildFinished(p.uri, setup.backend);
      return result;
    } catch (e) {
      progress.flush();
      return { ...refuse(`the build could not run: ${errorText(e)}`), durationMs: Date.now() - startedMs };
    } finally {
      progress.dispose();
      cancelSub?.dispose();
      this.running.delete(p.uri);
    }
  }

  cancel(buildId: string): boolean {
    for (const r of this.running.values()) {
      if (r.buildId === buildId && !r.abort.signal.aborted) {
        r.abort.abort();
        return true;
      }
    }
    return false;
  }

  outcomes(uri: string): BuildResult | null {
    return this.lastResults.get(uri) ?? null;
  }

  /** The document changed: line outcomes and the failure diagnostic no longer describe it. */
  edited(uri: string): void {
    this.clear(uri, 'edit');
  }

  closed(uri: string): void {
    this.clear(uri, 'closed');
  }

  dispose(): void {
    for (const r of this.running.values()) r.abort.abort();
  }

  private clear(uri: string, reason: BuildOutcomesClearedParams['reason']): void {
    const had = this.lastResults.delete(uri);
    this.session.setExtraDiagnostics(uri, null);
    if (had || reason === 'rebuild') void this.connection.sendNotification(BuildOutcomesClearedNotification, { uri, reason }).catch(() => undefined);
  }
}

/** The builder's message on the failing line (the whole instruction range). */
export function failureDiagnostic(result: BuildResult, doc: TextDocument | undefined): Diagnostic {
  const line = (result.error?.line ?? 1) - 1;
  const endLine = (result.error?.endLine ?? result.error?.line ?? 1) - 1;
  const endChar = doc ? doc.getText({ start: { line: endLine, character: 0 }, end: { line: endLine + 1, character: 0 } }).replace(/\r?\n$/, '').length : 0;
  return {
    range: { start: { line, character: 0 }, end: { line: endLine, character: endChar } },
    severity: DiagnosticSeverity.Error,
    code: BUILD_FAILURE_DIAGNOSTIC_CODE,
    source: DIAGNOSTIC_SOURCE,
    message: `Build of ${result.tag} failed here (${result.builder}): ${result.error?.message ?? 'unknown error'}`,
  };
}

/** Collects step changes (last state wins), log lines and the current line; sends at most every 100 ms. */
class ProgressBatcher {
  private readonly changed = new Map<number, BuildStepProgress>();
  private logLines: BuildLogLine[] = [];
  private currentText: string | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly send: (steps: BuildStepProgress[], log: BuildLogLine[], current: string | null) => void) {}

  steps(s: readonly BuildStepProgress[]): void {
    for (const p of s) this.changed.set(p.index, p);
    this.schedule();
  }

  log(l: BuildLogLine): void {
    this.logLines.push(l);
    this.schedule();
  }

  current(t: string): void {
    this.currentText = t;
    this.schedule();
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.changed.size === 0 && this.logLines.length === 0 && this.currentText === null) return;
    const steps = [...this.changed.values()].sort((a, b) => a.index - b.index);
    this.changed.clear();
    const log = this.logLines;
    this.logLines = [];
    this.send(steps, log, this.currentText);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => this.flush(), PROGRESS_INTERVAL_MS);
  }
}
