// What a build did, per Dockerfile instruction, from the builder's progress stream — pure logic, no I/O.
// Two stream dialects (both observed on docker 20.10, API 1.41; fixtures in test/fixtures/build):
//  - classic (`version=1`): `{"stream":"Step 3/6 : COPY f /f"}`, `{"stream":" ---> Using cache\n"}`,
//    `{"stream":" ---> Running in 937c…\n"}`, `{"stream":" ---> cfed7d8ba7d0\n"}` (the step's image),
//    `{"errorDetail":{"message":…}}`. Steps are printed in Dockerfile order (global ARGs included), every stage up to
//    the target, one at a time.
//  - BuildKit (`version=2`): `{"id":"moby.buildkit.trace","aux":<base64 StatusResponse>}` (buildkitTrace.ts).
//    Vertex names: `[<stage> N/M] RUN …` (`[N/M] …` with a single stage; `stage-K` for unnamed stages) where N counts
//    only the instructions that make a vertex: FROM, RUN, COPY, ADD, WORKDIR. Internal vertices (`[internal] load …`,
//    `copy /context /`, `exporting to image`) belong to no line. Identical vertices are merged (a second FROM of the
//    same image has none of its own). Metadata instructions (ENV, LABEL, ARG, CMD…) have no vertex.
//  - Both end with `{"aux":{"ID":"sha256:…"}}` (image ID) and `errorDetail` on failure.

import type { CacheStatus, StepReport } from '../engine/report';
import type { DockerfileModel, ParsedInstruction } from '../engine/dockerfileModel';
import type {
  BuildError, BuildLogLine, BuildMismatch, BuildStepOutcome, BuildStepProgress, BuildStepResult, BuildStepState,
} from '../protocol';
import { decodeTraceAux, type StatusResponse } from './buildkitTrace';

export type BuilderKind = 'buildkit' | 'classic';

/** Instructions that make a BuildKit vertex (and so count in its `N/M`). */
const VERTEX_KEYWORDS = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'WORKDIR']);
const MAX_LOG_LINES_PER_STEP = 2000;

export interface PlannedStep {
  readonly index: number;
  readonly inst: ParsedInstruction;
  /** Stage label as the prediction names it ('global' for ARGs before the first FROM). */
  readonly stage: string;
  readonly predicted: CacheStatus;
  readonly reason: string;
  readonly predictedSizeBytes: number | null;
  /** The prediction says the target does not need this stage. */
  readonly skipped: boolean;
}

interface StepState {
  state: BuildStepState;
  startedMs: number | null;
  endedMs: number | null;
  sizeBytes: number | null;
  /** Classic: the image the step produced (` ---> <id>`). */
  imageId: string | null;
  logLines: number;
  /** BuildKit: vertices of this step not completed yet. */
  openVertices: Set<string>;
  cachedAll: boolean;
}

/** Joins the parsed Dockerfile with the prediction made just before the build (matched by first line). */
export function planSteps(model: DockerfileModel, predicted: readonly StepReport[]): PlannedStep[] {
  const byLine = new Map(predicted.map((s) => [s.line, s]));
  return model.instructions.map((inst, index) => {
    const p = byLine.get(inst.line);
    return {
      index,
      inst,
      stage: p?.stage ?? (inst.stageIndex < 0 ? 'global' : String(inst.stageIndex)),
      predicted: p?.cache ?? 'unknown',
      reason: p?.reason ?? 'no prediction for this line',
      predictedSizeBytes: p?.size.bytes ?? null,
      skipped: p?.skipped ?? false,
    };
  });
}

/** The stage name BuildKit prints for a stage: `AS name` lower-cased, else `stage-K`; none when there is one stage. */
function buildkitStageLabel(model: DockerfileModel, stageIndex: number): string {
  if (model.stages.length === 1) return '';
  return model.stages[stageIndex]?.name ?? `stage-${stageIndex}`;
}

/** The earlier stage a stage is built FROM (by name or index, as Docker resolves it), or null for an image. */
export function fromStageIndex(model: DockerfileModel, stageIndex: number): number | null {
  const stage = model.stages[stageIndex];
  if (!stage) return null;
  const args = stage.from.args.split(/\s+/).filter((w) => !w.startsWith('--'));
  const ref = (args[0] ?? '').toLowerCase();
  const hit = model.stages.find((s) => s.index < stageIndex && (s.name === ref || String(s.index) === ref));
  return hit ? hit.index : null;
}

export interface TrackerEvents {
  /** A step's state changed (whole state). */
  step(p: BuildStepProgress): void;
  log(line: BuildLogLine): void;
  /** One line for a progress notification. */
  current(text: string): void;
}

/**
 * Consumes the daemon's build messages and keeps the per-step state. Timestamps: BuildKit's own (daemon clock), the
 * local clock (`now`) for the classic builder, which reports no times.
 */
export class BuildTracker {
  private readonly states: StepState[];
  /** BuildKit: "<stage label>\0<N>" → step index. */
  private readonly vertexSlots = new Map<string, number>();
  private readonly vertexStep = new Map<string, number>();
  /** Classic: the step being run and the next instruction to match. */
  private classicCurrent: number | null = null;
  private classicNext = 0;
  imageId: string | null = null;
  error: BuildError | null = null;
  /** Everything the builder said, for the output channel and for errors not tied to a step. */
  private readonly tail: string[] = [];

  constructor(
    readonly builder: BuilderKind,
    readonly model: DockerfileModel,
    readonly plan: readonly PlannedStep[],
    private readonly events: TrackerEvents,
    private readonly now: () => number = Date.now,
  ) {
    this.states = plan.map(() => ({ state: 'waiting', startedMs: null, endedMs: null, sizeBytes: null, imageId: null, logLines: 0, openVertices: new Set(), cachedAll: true }));
    for (const stage of model.stages) {
      const label = buildkitStageLabel(model, stage.index);
      // `FROM <earlier stage>` makes no vertex and is not counted; `FROM <image>` is (even when merged with another).
      const fromStage = fromStageIndex(model, stage.index) !== null;
      const vertexInsts = [...(fromStage ? [] : [stage.from]), ...stage.body].filter((i) => VERTEX_KEYWORDS.has(i.keyword));
      vertexInsts.forEach((inst, k) => this.vertexSlots.set(`${label}\0${k + 1}`, inst.index));
    }
  }

  progress(index: number): BuildStepProgress {
    const p = this.plan[index]!;
    const s = this.states[index]!;
    const ended = s.endedMs;
    const elapsed = s.startedMs === null ? null : (ended ?? this.now()) - s.startedMs;
    return {
      index, line: p.inst.line, endLine: p.inst.endLine, stage: p.stage, instruction: p.inst.keyword,
      state: s.state, startedMs: s.startedMs, endedMs: ended, elapsedMs: elapsed === null ? null : Math.max(0, elapsed), sizeBytes: s.sizeBytes,
    };
  }

  allProgress(): BuildStepProgress[] {
    return this.plan.map((_, i) => this.progress(i));
  }

  /** Image IDs the classic builder reported per step (for layer sizes). */
  classicImages(): Array<{ index: number; imageId: string }> {
    return this.states.flatMap((s, index) => (s.imageId ? [{ index, imageId: s.imageId }] : []));
  }

  setSize(index: number, bytes: number): void {
    const s = this.states[index];
    if (!s) return;
    s.sizeBytes = bytes;
  }

  /** One parsed JSON message of the build stream (untrusted shape). */
  message(msg: unknown): void {
    if (typeof msg !== 'object' || msg === null) return;
    const m = msg as Record<string, unknown>;
    if (m.id === 'moby.buildkit.trace') {
      this.trace(decodeTraceAux(m.aux));
      return;
    }
    const aux = m.aux as Record<string, unknown> | undefined;
    if (aux && typeof aux === 'object' && typeof aux.ID === 'string' && /^sha256:[0-9a-f]{64}$/.test(aux.ID)) {
      // Classic also sends the ID of an intermediate stage's image; the last one is the result.
      this.imageId = aux.ID;
      return;
    }
    const detail = m.errorDetail as Record<string, unknown> | undefined;
    const errText = typeof detail?.message === 'string' ? detail.message : typeof m.error === 'string' ? m.error : null;
    if (errText !== null) {
      this.fail(errText);
      return;
    }
    if (typeof m.stream === 'string') this.classicText(m.stream);
    else if (typeof m.status === 'string') this.builderLog(m.status + (typeof m.progress === 'string' ? ` ${m.progress}` : ''));
  }

  /** The builder's last output lines (no step), for an error that came without a message. */
  lastOutput(): string {
    return this.tail.slice(-5).join('\n');
  }

  private builderLog(text: string): void {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      this.tail.push(line);
      if (this.tail.length > 50) this.tail.shift();
      this.events.log({ step: null, text: line });
    }
  }

  private stepLog(index: number, text: string): void {
    const s = this.states[index]!;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (++s.logLines > MAX_LOG_LINES_PER_STEP) {
        if (s.logLines === MAX_LOG_LINES_PER_STEP + 1) this.events.log({ step: index, text: `… (more output not shown; the step goes on)` });
        continue;
      }
      this.events.log({ step: index, text: line });
    }
  }

  private set(index: number, change: Partial<StepState>): void {
    Object.assign(this.states[index]!, change);
    this.events.step(this.progress(index));
  }

  // ---- classic ----

  private classicText(text: string): void {
    const step = /^Step (\d+)\/(\d+) : (.*)$/s.exec(text.replace(/\r?\n$/, ''));
    if (step) {
      this.finishClassicCurrent();
      const keyword = (/^\s*(\S+)/.exec(step[3]!)?.[1] ?? '').toUpperCase();
      // Classic prints every instruction in order; match the next one with this keyword (robust to a target that
      // stops early, and to a keyword the parser spells differently in case).
      let i = this.classicNext;
      while (i < this.plan.length && this.plan[i]!.inst.keyword !== keyword) i++;
      if (i >= this.plan.length) {
        this.builderLog(text);
        return;
      }
      this.classicNext = i + 1;
      this.classicCurrent = i;
      this.set(i, { state: 'running', startedMs: this.now() });
      this.events.current(`[${step[1]}/${step[2]}] ${step[3]!.trim()}`);
      this.events.log({ step: i, text: text.trimEnd() });
      return;
    }
    const cur = this.classicCurrent;
    if (cur === null) {
      this.builderLog(text);
      return;
    }
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (/^ ---> Using cache$/.test(line)) {
        this.states[cur]!.cachedAll = true;
        this.set(cur, { state: 'cached' });
      } else if (/^ ---> Running in [0-9a-f]+$/.test(line)) {
        this.states[cur]!.cachedAll = false;
      } else if (/^ ---> [0-9a-f]{12,64}$/.test(line)) {
        const s = this.states[cur]!;
        const state: BuildStepState = s.state === 'cached' ? 'cached' : this.plan[cur]!.inst.keyword === 'FROM' ? this.fromState(cur) : 'built';
        this.set(cur, { state, endedMs: this.now(), imageId: line.slice(6) });
        this.classicCurrent = null;
      }
      this.stepLog(cur, line);
    }
  }

  /** A step that printed no ` ---> <id>` (the builder moved on): it ran. */
  private finishClassicCurrent(): void {
    const cur = this.classicCurrent;
    if (cur === null) return;
    const s = this.states[cur]!;
    if (s.state === 'running') this.set(cur, { state: 'built', endedMs: this.now() });
    this.classicCurrent = null;
  }

  // ---- BuildKit ----

  /** `[stage N/M] …` → step index; null for internal vertices. */
  private stepOfVertexName(name: string): number | null {
    const m = /^\[(?:(\S+) )?(\d+)\/(\d+)\] /.exec(name);
    if (!m) return null;
    return this.vertexSlots.get(`${m[1] ?? ''}\0${Number(m[2])}`) ?? null;
  }

  /** Classic FROM: a base image served locally is `cached`; `FROM <stage>` only names that stage's result. */
  private fromState(index: number): BuildStepState {
    return fromStageIndex(this.model, this.plan[index]!.inst.stageIndex) === null ? 'cached' : 'config';
  }

  private isImageFrom(index: number): boolean {
    return this.plan[index]!.inst.keyword === 'FROM';
  }

  private trace(st: StatusResponse): void {
    for (const v of st.vertexes) {
      let index = this.vertexStep.get(v.digest);
      if (index === undefined) {
        const found = this.stepOfVertexName(v.name);
        if (found !== null) {
          index = found;
          this.vertexStep.set(v.digest, found);
        }
      }
      if (index === undefined) {
        if (v.started !== null && v.completed === null) this.events.current(v.name);
        if (v.error) this.builderLog(`${v.name}: ${v.error}`);
        continue;
      }
      const s = this.states[index]!;
      if (v.completed === null) s.openVertices.add(v.digest);
      else s.openVertices.delete(v.digest);
      if (v.started === null) continue;
      // Updates before completion say cached=false; only the completing update carries the verdict.
      if (v.completed !== null && !v.cached && !this.isImageFrom(index)) s.cachedAll = false;
      const startedMs = s.startedMs === null ? v.started : Math.min(s.startedMs, v.started);
      if (v.error) {
        this.set(index, { state: 'failed', startedMs, endedMs: v.completed ?? this.now() });
        this.error ??= { message: v.error, line: this.plan[index]!.inst.line, endLine: this.plan[index]!.inst.endLine };
        continue;
      }
      if (v.completed !== null && s.openVertices.size === 0) {
        // A local base image's FROM vertex reports cached=false although nothing ran or was fetched.
        const cached = s.cachedAll && (v.cached || this.isImageFrom(index));
        this.set(index, { state: cached ? 'cached' : 'built', startedMs, endedMs: Math.max(s.endedMs ?? 0, v.completed) });
      } else if (s.state === 'waiting' || s.startedMs !== startedMs) {
        this.set(index, { state: v.cached ? 'cached' : 'running', startedMs });
        if (!v.cached) this.events.current(v.name);
      }
    }
    for (const x of st.statuses) {
      // A FROM vertex with progress statuses fetched something (a pull): it was not served from local content.
      const index = this.vertexStep.get(x.vertex);
      if (index !== undefined && this.isImageFrom(index)) this.states[index]!.cachedAll = false;
    }
    for (const l of st.logs) {
      const index = this.vertexStep.get(l.vertex);
      if (index === undefined) this.builderLog(l.msg);
      else this.stepLog(index, l.msg);
    }
    for (const w of st.warnings) this.builderLog(`warning: ${w.short}`);
  }

  // ---- failure and the end ----

  private fail(message: string): void {
    const failing = this.states.findIndex((s) => s.state === 'failed');
    const running = this.builder === 'classic' ? this.classicCurrent : this.states.findIndex((s) => s.state === 'running');
    const index = failing >= 0 ? failing : running !== null && running >= 0 ? running : null;
    if (index !== null) {
      if (this.states[index]!.state !== 'failed') this.set(index, { state: 'failed', endedMs: this.now() });
      const inst = this.plan[index]!.inst;
      // BuildKit's vertex error is usually the same text; the errorDetail is the builder's last word.
      this.error = { message, line: inst.line, endLine: inst.endLine };
    } else {
      // A parse error names its line: "Dockerfile parse error line 3: unknown instruction: FOO".
      const line = /(?:parse error (?:on )?line|line) (\d+)/i.exec(message);
      const n = line ? Number(line[1]) : null;
      const inst = n === null ? undefined : this.plan.find((p) => p.inst.line <= n && n <= p.inst.endLine)?.inst;
      this.error = { message, line: n, endLine: inst?.endLine ?? n };
    }
    this.builderLog(message);
  }

  /** Called once the stream ended (or was cut): running steps that never finished become not-run or failed. */
  finish(outcome: 'succeeded' | 'failed' | 'cancelled' | 'daemon-error'): void {
    // Only a completed build proves the classic step in progress finished; otherwise it was cut short.
    if (outcome === 'succeeded') this.finishClassicCurrent();
    for (let i = 0; i < this.states.length; i++) {
      const s = this.states[i]!;
      // Cut short: it neither finished nor (unless the builder said so) failed.
      if (s.state === 'running' && outcome !== 'succeeded') this.set(i, { state: 'waiting', startedMs: null, endedMs: null });
    }
    if (outcome !== 'succeeded') return;
    // Steps the builder never mentioned: nothing to run (BuildKit metadata, FROM <stage>, a deduplicated FROM).
    for (let i = 0; i < this.states.length; i++) {
      const s = this.states[i]!;
      const p = this.plan[i]!;
      if (s.state !== 'waiting' || p.skipped) continue;
      if (this.builder === 'buildkit') this.set(i, { state: 'config' });
    }
  }

  results(): BuildStepResult[] {
    return this.plan.map((p, i) => {
      const s = this.states[i]!;
      const actual: BuildStepOutcome =
        s.state === 'cached' || s.state === 'built' || s.state === 'failed' || s.state === 'config' ? s.state : 'not-run';
      return {
        index: i, line: p.inst.line, endLine: p.inst.endLine, stage: p.stage, instruction: p.inst.keyword, text: p.inst.text,
        predicted: p.predicted, actual, predictionCorrect: predictionCorrect(p.predicted, actual),
        durationMs: s.startedMs !== null && s.endedMs !== null ? Math.max(0, s.endedMs - s.startedMs) : null,
        sizeBytes: s.sizeBytes, predictedSizeBytes: p.predictedSizeBytes,
      };
    });
  }
}

/** hit ↔ cached, miss ↔ built or failed (it ran); anything else is not a comparison. */
export function predictionCorrect(predicted: CacheStatus, actual: BuildStepOutcome): boolean | null {
  if (predicted === 'unknown') return null;
  if (actual === 'cached') return predicted === 'hit';
  if (actual === 'built' || actual === 'failed') return predicted === 'miss';
  return null;
}

export function predictionSummary(steps: readonly BuildStepResult[], plan: readonly PlannedStep[]): {
  compared: number;
  correct: number;
  mismatches: BuildMismatch[];
} {
  let compared = 0;
  let correct = 0;
  const mismatches: BuildMismatch[] = [];
  for (const s of steps) {
    if (s.predictionCorrect === null) continue;
    compared++;
    if (s.predictionCorrect) correct++;
    else mismatches.push({ index: s.index, line: s.line, text: s.text, predicted: s.predicted, actual: s.actual, reason: plan[s.index]?.reason ?? '' });
  }
  return { compared, correct, mismatches };
}

/** One log line per mismatch: these are engine bugs, so they say everything needed to reproduce. */
export function describeMismatch(m: BuildMismatch, builder: BuilderKind): string {
  return `Layer Lens prediction mismatch (${builder}): line ${m.line} \`${m.text}\`: predicted ${m.predicted}, actual ${m.actual} — the engine's reason: ${m.reason}`;
}
