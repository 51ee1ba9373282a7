// One build, end to end: predict (the engine, just before), send the context the way the docker CLI does, follow
// the builder's progress per Dockerfile line, read the layer sizes afterwards, and compare with the prediction.
// Used by the language server (lsp/build.ts) and the CLI (`layerlens build`); all I/O goes through the Analyzer and
// its DaemonClient (docker/ stays the only dockerode user).

import { createHash, randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { AnalyzeError, type Analyzer } from '../analyze';
import { contextTarStream } from '../context/contextTar';
import type { TarModeVariant } from '../context/types';
import type { BuildSession } from '../docker/buildSession';
import { DaemonError } from '../docker/errors';
import type { HistoryEntry } from '../docker/types';
import { parseDockerfile, type DockerfileModel } from '../engine/dockerfileModel';
import { formatBytes, type Builder, type StepReport } from '../engine/report';
import type { BuildError, BuildLogLine, BuildOutcome, BuildResult, BuildStepProgress } from '../protocol';
import { BuildTracker, describeMismatch, fromStageIndex, planSteps, predictionSummary, type PlannedStep } from './buildSteps';

export interface BuildRequestOptions {
  readonly buildId: string;
  readonly dockerfile: string;
  readonly contextDir: string;
  readonly tag: string;
  readonly builder: Builder;
  readonly buildArgs: Readonly<Record<string, string>>;
  /** null/'' = the last stage. */
  readonly target: string | null;
  /** `--network`; '' = the daemon's default. */
  readonly network: string;
  /**
   * The tar header mode field, like which docker CLI: 'perm' (CLI ≥ 24), 'full' (CLI ≤ 23, e.g. the 20.10 CLI),
   * 'windows'. Only the classic builder keys on it. Default: the variant the last build's history matched (so the
   * build shares the cache of whichever CLI made it), else 'perm'.
   */
  readonly tarMode?: TarModeVariant;
  /** For the result; default the Dockerfile's file URI. */
  readonly uri?: string;
}

export interface BuildListener {
  /** Changed steps (whole state each). */
  steps?(steps: BuildStepProgress[]): void;
  log?(line: BuildLogLine): void;
  current?(text: string): void;
  /** Engine bugs found by the comparison, one line each (also in the result). */
  mismatch?(line: string): void;
}

// Docker's reference grammar, simplified: lower-case path components, optional registry port, optional tag.
const TAG_RE = /^(?:[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/;

export function validTag(tag: string): boolean {
  return tag.length <= 255 && TAG_RE.test(tag);
}

export async function runBuild(analyzer: Analyzer, req: BuildRequestOptions, listener: BuildListener = {}, signal?: AbortSignal): Promise<BuildResult> {
  const startedMs = Date.now();
  const uri = req.uri ?? `file://${path.resolve(req.dockerfile)}`;
  const target = req.target ? req.target : null;
  const base = { buildId: req.buildId, uri, tag: req.tag, builder: req.builder, target, startedMs };
  const invalid = (message: string): BuildResult => ({
    ...base, outcome: 'invalid', imageId: null, durationMs: Date.now() - startedMs, steps: [],
    prediction: { compared: 0, correct: 0, mismatches: [] }, error: { message, line: null, endLine: null },
  });
  if (!validTag(req.tag)) return invalid(`"${req.tag}" is not a valid image tag (lower-case name[:tag], e.g. myapp:dev)`);
  for (const k of Object.keys(req.buildArgs)) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) return invalid(`"${k}" is not a valid build argument name`);
  if (req.network !== '' && !/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/.test(req.network)) return invalid(`"${req.network}" is not a valid network mode`);

  // 1. The prediction, from the Dockerfile on disk (what the daemon builds), made just before the build.
  let text: string;
  let predicted: readonly StepReport[];
  let index;
  let historyTarMode: TarModeVariant | null = null;
  try {
    // A fresh look at the daemon: the prediction must be the one for this build, not for an older snapshot.
    analyzer.invalidateDaemon();
    const analysed = await analyzer.analyze({ dockerfile: req.dockerfile, context: req.contextDir, target, buildArgs: req.buildArgs, builder: req.builder });
    text = analysed.dockerfileText;
    predicted = analysed.report.steps;
    historyTarMode = analysed.classicTarMode;
    const d = analysed.report.daemon;
    if (d.reachable && d.error) {
      // The engine saw only part of the daemon (e.g. the image list timed out on a busy machine): its predictions
      // were made blind, so comparing them would report engine bugs that are not. Not compared; said once.
      listener.mismatch?.(`Layer Lens: prediction not compared for this build — the daemon data was incomplete: ${d.error}`);
      predicted = predicted.map((st) => ({ ...st, cache: 'unknown' as const, reason: `not compared: ${d.error}` }));
    }
    index = await analyzer.contextForBuild(req.contextDir, req.dockerfile, req.builder);
  } catch (e) {
    if (e instanceof AnalyzeError) return invalid(e.message);
    throw e;
  }
  const model = parseDockerfile(text);
  const plan = planSteps(model, predicted);

  // 2. Live state, batched by the caller.
  const tracker = new BuildTracker(req.builder, model, plan, {
    step: (p) => listener.steps?.([p]),
    log: (l) => listener.log?.(l),
    current: (t) => listener.current?.(t),
  });
  listener.steps?.(tracker.allProgress());

  // 3. The context. BuildKit: through a session, as the docker CLI sends it (see docker/buildSession.ts — only then
  // does `COPY .` share the terminal's cache); a tar when the daemon offers no sessions. Classic: a tar, whose
  // headers are the classic builder's cache key.
  const sendingContext = throttle((bytes: number) => listener.current?.(`Sending build context ${formatBytes(bytes)}`), 250);
  const contextDir = index.contextDir;
  const query: Record<string, string> = {
    t: req.tag,
    buildargs: JSON.stringify(req.buildArgs),
    rm: '1',
    // Like `docker build --force-rm`: a failed RUN's container would otherwise stay and pin its image.
    forcerm: '1',
    version: req.builder === 'buildkit' ? '2' : '1',
  };
  if (target) query.target = target;
  if (req.network) query.networkmode = req.network;
  if (req.builder === 'buildkit') query.buildid = randomBytes(16).toString('hex');

  let session: BuildSession | null = null;
  if (req.builder === 'buildkit') {
    try {
      session = await analyzer.client.openBuildSession({
        name: path.basename(contextDir),
        sharedKey: createHash('sha256').update(`layerlens:${contextDir}`).digest('hex'),
        dirs: [
          // The CLI zeroes owners in the context (files land owned by root) and sends the Dockerfile's folder as is.
          { name: 'context', dir: contextDir, map: (st) => { st.uid = 0; st.gid = 0; return true; } },
          { name: 'dockerfile', dir: path.dirname(path.resolve(req.dockerfile)) },
        ],
        onBytes: sendingContext,
      }, signal);
      query.remote = 'client-session';
      query.session = session.id;
      query.dockerfile = path.basename(req.dockerfile);
    } catch (e) {
      if (signal?.aborted) return { ...invalid('the build was cancelled'), outcome: 'cancelled' };
      listener.log?.({ step: null, text: `Layer Lens: no BuildKit session (${e instanceof Error ? e.message : String(e)}); sending the context as a tar — a \`COPY .\` of the whole context will not share the cache of terminal builds\n` });
    }
  }
  let tar: ReturnType<typeof contextTarStream> | null = null;
  if (!session) {
    // The Dockerfile must be in the tar (the daemon reads it from there): when it lies outside the context, or
    // BuildKit's .dockerignore excludes it, it goes in under a name of its own, as the CLI does.
    const entries = index.sentEntries();
    let dockerfileName = index.dockerfileRelOf(req.dockerfile);
    const extraFiles: Array<{ name: string; content: Buffer; mode: number }> = [];
    if (dockerfileName === null || !entries.some((e) => e.rel === dockerfileName)) {
      const content = Buffer.from(await fs.readFile(req.dockerfile));
      dockerfileName = `.dockerfile.${createHash('sha256').update(content).digest('hex').slice(0, 20)}`;
      extraFiles.push({ name: dockerfileName, content, mode: 0o600 });
    }
    tar = contextTarStream({
      contextDir, entries, hardlinkLeader: (rel) => index.hardlinkLeader(rel), variant: req.tarMode ?? historyTarMode ?? 'perm', extraFiles, onBytes: sendingContext,
    });
    query.dockerfile = dockerfileName;
  }

  // 4. The build.
  let outcome: Exclude<BuildOutcome, 'invalid'>;
  let error: BuildError | null = null;
  try {
    await analyzer.client.build(query, tar, { signal, onMessage: (m) => tracker.message(m) });
    outcome = tracker.error ? 'failed' : 'succeeded';
    error = tracker.error;
    // The builder names the step that could not get its files; why the transfer failed is ours to say.
    if (error && session?.transferError) error = { ...error, message: `${error.message} (sending the context: ${session.transferError})` };
    if (outcome === 'succeeded' && !tracker.imageId) {
      outcome = 'failed';
      error = { message: `the builder ended without an image ID${tracker.lastOutput() ? `: ${tracker.lastOutput()}` : ''}`, line: null, endLine: null };
    }
  } catch (e) {
    tar?.destroy();
    if (signal?.aborted || (e instanceof DaemonError && e.kind === 'cancelled')) {
      outcome = 'cancelled';
      error = { message: 'the build was cancelled; the daemon stopped it', line: null, endLine: null };
    } else if (e instanceof DaemonError && e.kind === 'http' && e.statusCode !== null && e.statusCode < 500) {
      // The classic builder refuses a Dockerfile it cannot parse with HTTP 400 before any step: the tracker places
      // the message on the line it names.
      tracker.message({ errorDetail: { message: e.message.replace(/^.*? failed: HTTP \d+: /, '') } });
      outcome = 'failed';
      error = tracker.error ?? { message: e.message, line: null, endLine: null };
    } else {
      outcome = 'daemon-error';
      const message = e instanceof DaemonError
        ? e.kind === 'disconnected' ? `the Docker daemon went away during the build (${e.host}); the build did not finish` : e.message
        : e instanceof Error ? e.message : String(e);
      error = { message, line: null, endLine: null };
    }
  }
  session?.close();
  tracker.finish(outcome);
  analyzer.invalidateDaemon();

  // 5. Layer sizes from the image history (never fatal: the build result stands without them).
  const imageId = outcome === 'succeeded' ? tracker.imageId : null;
  if (outcome === 'succeeded' && imageId) {
    await recordSizes(analyzer, req.builder, model, plan, tracker, imageId).catch(() => undefined);
    listener.steps?.(tracker.allProgress());
  }

  const steps = tracker.results();
  const prediction = predictionSummary(steps, plan);
  for (const m of prediction.mismatches) listener.mismatch?.(describeMismatch(m, req.builder));
  return { ...base, outcome, imageId, durationMs: Date.now() - startedMs, steps, prediction, error };
}

async function recordSizes(analyzer: Analyzer, builder: Builder, model: DockerfileModel, plan: readonly PlannedStep[], tracker: BuildTracker, imageId: string): Promise<void> {
  if (builder === 'classic') {
    // Every classic step is an image whose newest history entry is that step.
    for (const { index, imageId: id } of tracker.classicImages()) {
      if (plan[index]!.inst.keyword === 'FROM') continue;
      const top = (await analyzer.client.history(id))[0];
      if (top) tracker.setSize(index, top.size);
    }
    return;
  }
  // BuildKit keeps no intermediate images: align the final image's history (newest first) with the target stage's
  // lineage from the end, while the keywords agree.
  const history = await analyzer.client.history(imageId);
  const lineage = targetLineage(model, plan);
  let h = 0;
  for (let i = lineage.length - 1; i >= 0 && h < history.length; i--, h++) {
    const step = lineage[i]!;
    if (historyKeyword(history[h]!) !== step.inst.keyword) break;
    tracker.setSize(step.index, history[h]!.size);
  }
}

/** The target stage's instructions after FROM, preceded by those of the stages it is built FROM, oldest first. */
function targetLineage(model: DockerfileModel, plan: readonly PlannedStep[]): PlannedStep[] {
  const needed = plan.filter((p) => !p.skipped && p.inst.stageIndex >= 0);
  const last = needed[needed.length - 1];
  if (!last) return [];
  const out: PlannedStep[][] = [];
  let stage: DockerfileModel['stages'][number] | undefined = model.stages[last.inst.stageIndex];
  const seen = new Set<number>();
  while (stage && !seen.has(stage.index)) {
    seen.add(stage.index);
    out.unshift(stage.body.map((i) => plan[i.index]!));
    const from = fromStageIndex(model, stage.index);
    stage = from === null ? undefined : model.stages[from];
  }
  return out.flat();
}

/** `RUN |1 V=2 /bin/sh -c …`, `COPY f /f # buildkit`, `ENV A=1`, `/bin/sh -c #(nop) …` (classic) → keyword. */
function historyKeyword(h: HistoryEntry): string {
  const by = h.createdBy.trim();
  const nop = /#\(nop\)\s+(\w+)/.exec(by);
  if (nop) return nop[1]!.toUpperCase();
  return (/^(\w+)/.exec(by)?.[1] ?? '').toUpperCase();
}

function throttle(fn: (n: number) => void, ms: number): (n: number) => void {
  let last = 0;
  return (n) => {
    const now = Date.now();
    if (now - last < ms) return;
    last = now;
    fn(n);
  };
}
