// A stand-in for the Analyzer: reports computed from the Dockerfile text alone, so LSP tests choose every cache
// verdict and can hold an analysis back, fire context changes and daemon events by hand.

import * as path from 'path';
import type { AnalyzeRequest, AnalyzeResult } from '../../server/src/analyze';
import type { DaemonEvent, EventStreamStatus } from '../../server/src/docker/daemonClient';
import type { DaemonInfo } from '../../server/src/docker/types';
import type { ContextFacts } from '../../server/src/engine/diagnostics';
import { createsLayer, parseDockerfile, type ParsedInstruction } from '../../server/src/engine/dockerfileModel';
import type { StepReport } from '../../server/src/engine/report';
import type { AnalysisBackend, ContextKey, Disposable } from '../../server/src/lsp/backend';
import type { CacheBytesRequest, CacheBytesResult } from '../../server/src/lsp/cacheBytes';

type Verdict = Pick<StepReport, 'cache' | 'reason' | 'size'> & Partial<Pick<StepReport, 'changedFiles' | 'history' | 'largestFiles'>>;

/**
 * Default verdicts, read from the instruction text so a test states them in its Dockerfile: a RUN or COPY whose
 * text contains `MISS` rebuilds, `UNKNOWN` is unknown, anything else hits. Sizes: COPY exact 2048 B, RUN ~1 MiB.
 */
export function defaultVerdict(inst: ParsedInstruction): Verdict {
  const cache = /MISS/.test(inst.text) ? 'miss' : /UNKNOWN/.test(inst.text) ? 'unknown' : 'hit';
  const reason = cache === 'hit' ? 'cached: matches the last build' : cache === 'miss' ? `\`a.txt\` changed since the last build` : 'no daemon';
  if (inst.keyword === 'FROM') return { cache: 'hit', reason: 'base image is local', size: { bytes: 4 * 1024 * 1024, exact: true, source: 'history' } };
  if (inst.keyword === 'COPY' || inst.keyword === 'ADD') {
    return {
      cache,
      reason,
      size: { bytes: 2048, exact: true, source: 'context' },
      largestFiles: [{ path: 'a.txt', bytes: 2000 }, { path: 'b`tick.txt', bytes: 48 }],
      ...(cache === 'miss' ? { changedFiles: { added: [], changed: ['a.txt'], removed: [], chmodded: [] } } : {}),
    };
  }
  if (inst.keyword === 'RUN') {
    return {
      cache,
      reason,
      size: { bytes: 1024 * 1024, exact: false, source: 'previous-build' },
      ...(cache === 'hit' ? { history: { imageId: 'sha256:' + 'ab'.repeat(32), createdBy: `RUN /bin/sh -c ${inst.args} # buildkit`, created: 1700000000, size: 1048576 } } : {}),
    };
  }
  return { cache: /MISS/.test(inst.text) ? 'miss' : 'hit', reason: 'metadata only', size: { bytes: 0, exact: true, source: 'none' } };
}

export class FakeBackend implements AnalysisBackend {
  analyses = 0;
  invalidations = 0;
  disposed = false;
  facts: ContextFacts | null = null;
  ignorePath: string | null = null;
  info: DaemonInfo = { reachable: true, host: 'unix:///fake.sock', version: '25.0.3', apiVersion: '1.44', error: null };
  verdict: (inst: ParsedInstruction) => Verdict = defaultVerdict;
  lastRequest: AnalyzeRequest | null = null;
  private gate: Promise<void> | null = null;
  private readonly contextListeners = new Map<string, (rels: string[]) => void>();
  private eventListener: ((e: DaemonEvent) => void) | null = null;
  private statusListener: ((s: EventStreamStatus) => void) | null = null;

  /** Analyses wait until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise((r) => (release = r));
    return () => {
      this.gate = null;
      release();
    };
  }

  async analyze(req: AnalyzeRequest): Promise<AnalyzeResult> {
    this.lastRequest = req;
    const text = req.dockerfileText ?? '';
    if (this.gate) await this.gate;
    this.analyses++;
    const model = parseDockerfile(text);
    const steps: StepReport[] = model.instructions.map((inst) => ({
      line: inst.line,
      endLine: inst.endLine,
      stage: String(Math.max(0, inst.stageIndex)),
      instruction: inst.keyword,
      text: inst.text,
      createsLayer: createsLayer(inst.keyword),
      skipped: false,
      ...this.verdict(inst),
    }));
    return {
      dockerfileText: text,
      contextProblems: [],
      classicTarMode: null,
      report: {
        dockerfile: req.dockerfile,
        context: path.resolve(req.context ?? path.dirname(req.dockerfile)),
        builder: req.builder ?? 'buildkit',
        target: req.target ?? null,
        daemon: { reachable: this.info.reachable, host: this.info.host, version: this.info.version, error: this.info.error },
        steps,
        totalBytes: null,
      },
    };
  }

  invalidateDaemon(): void {
    this.invalidations++;
  }

  async watchContext(key: ContextKey, onChange: (rels: string[]) => void): Promise<Disposable> {
    this.contextListeners.set(key.contextDir, onChange);
    return { dispose: () => this.contextListeners.delete(key.contextDir) };
  }

  /** As if the file watcher saw these context paths change. */
  contextChanged(contextDir: string, rels: string[]): void {
    this.contextListeners.get(contextDir)?.(rels);
  }

  contextFacts(_key: ContextKey): ContextFacts | null {
    return this.facts;
  }

  ignoreFilePath(_key: ContextKey): string | null {
    return this.ignorePath;
  }

  contextStats(): { filesRead: number; bytesRead: number; walks: number; watchers: number } {
    return { filesRead: 0, bytesRead: 0, walks: 0, watchers: 0 };
  }

  async daemonInfo(): Promise<DaemonInfo> {
    return this.info;
  }

  daemonEvents(onEvent: (e: DaemonEvent) => void, onStatus: (s: EventStreamStatus) => void): Disposable {
    this.eventListener = onEvent;
    this.statusListener = onStatus;
    return { dispose: () => (this.eventListener = this.statusListener = null) };
  }

  emitEvent(action: string): void {
    this.eventListener?.({ type: 'image', action, actorId: 'sha256:1', attributes: {}, scope: 'local', time: 1, timeNano: 1 });
  }

  setEventStream(connected: boolean): void {
    this.statusListener?.({ connected, error: connected ? null : 'gone' });
  }

  cacheBytesAnswer: CacheBytesResult = new Map();
  async cacheBytes(requests: readonly CacheBytesRequest[]): Promise<CacheBytesResult> {
    return new Map([...this.cacheBytesAnswer].filter(([line]) => requests.some((r) => r.line === line)));
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}
