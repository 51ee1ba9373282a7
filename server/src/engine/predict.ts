// Cache-status and size prediction for every instruction, for both builders.
//
// Classic builder: exact. A step hits when a child image of the current parent has a ContainerConfig that
// passes moby's compare() against the probe config we rebuild (evaluate.ts); the COPY key is the tarsum of the
// context as the client sends it, in the mode-field variant that matches existing history.
//
// BuildKit: from evidence. Local images (dangling included) carry the history of the target stage; we line up
// their layer steps with ours, compare RUN text (with its build args) and the env/user before it, and compare
// COPY sources with the files of the layer they made (content, mode, size; no mtime — as BuildKit keys them).
// Build-cache records (/system/df) must still exist for a hit: an image alone is not a cache.
// Stages with no image (builder stages) are matched against cache records alone.

import type { SourceMatch, TarModeVariant } from '../context/types';
import type { BuildCacheRecord, ContainerConfigView, HistoryEntry, ImageInspect } from '../docker/types';
import { createsLayer, stagesNeeded, type DockerfileModel } from './dockerfileModel';
import {
  evaluateStages,
  HASH_PLACEHOLDER,
  normaliseHistory,
  type EvaluatedStage,
  type EvaluatedStep,
  type ProbeConfig,
} from './evaluate';
import type { ContextReader, DaemonEvidence, ImageWithHistory, LandedFile } from './inputs';
import { compareSourcesWithLayer, compareWithLayer, landedFiles, unchangedSince } from './landed';
import {
  capList,
  describePaths,
  type Builder,
  type CacheStatus,
  type ChangedFiles,
  type StepReport,
  type StepSize,
} from './report';

export interface PredictInput {
  readonly model: DockerfileModel;
  readonly builder: Builder;
  readonly target: string | null;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly context: ContextReader;
  readonly daemon: DaemonEvidence;
}

export type PredictResult = {
  readonly steps: StepReport[];
  readonly totalBytes: number | null;
  /**
   * Classic builder: the tar mode-field variant whose COPY hash matched the last build (i.e. how the docker CLI that
   * built it writes headers); null when no COPY matched. A build that should share that cache writes its tar so.
   */
  readonly classicTarMode: TarModeVariant | null;
} | { readonly error: string };

const LAYER_STEP = new Set(['RUN', 'COPY', 'ADD', 'WORKDIR']);
const NONE_SIZE: StepSize = { bytes: 0, exact: true, source: 'none' };
const UNKNOWN_SIZE: StepSize = { bytes: null, exact: false, source: 'none' };
const MODE_VARIANTS: readonly TarModeVariant[] = ['perm', 'full', 'windows'];

interface Outcome {
  cache: CacheStatus;
  reason: string;
  size: StepSize;
  changedFiles?: ChangedFiles;
  history?: StepReport['history'];
  largestFiles?: StepReport['largestFiles'];
}

/** Per-stage summary other stages depend on (`FROM stage`, `COPY --from=stage`). */
interface StageOutcome {
  /** Every step hits: its output is what the last build made. */
  readonly allHit: boolean;
  /** The first step that does not hit, for reasons. */
  readonly firstMissLine: number | null;
  /** Classic: the image ID the stage ends at when all hit. */
  readonly imageId: string | null;
}

export async function predict(input: PredictInput): Promise<PredictResult> {
  const { model, daemon } = input;
  const baseConfigs = new Map<string, ContainerConfigView | null>();
  const baseImages = new Map<string, ImageInspect | null>();
  // Base configs first: the classic probe config starts from them.
  const provisional = evaluateStages({ model, buildArgs: input.buildArgs, baseConfig: () => null });
  for (const stage of provisional) {
    const { ref, stage: fromStage } = stage.steps[0]!.from!;
    if (fromStage !== null || ref.toLowerCase() === 'scratch') continue;
    if (!baseImages.has(ref)) {
      const img = daemon.reachable && daemon.imagesError === null ? await daemon.imageByRef(ref) : null;
      baseImages.set(ref, img);
      baseConfigs.set(ref, img?.config ?? null);
    }
  }
  const stages = evaluateStages({ model, buildArgs: input.buildArgs, baseConfig: (ref) => baseConfigs.get(ref) ?? null });
  const needed = stagesNeeded(model, input.target, (s) => stages[s.index]!.steps[0]!.from!.ref);
  if ('error' in needed) return { error: needed.error };

  const outcomes = new Map<number, StageOutcome>();
  const reports: StepReport[] = [];
  const seen: { tarMode: TarModeVariant | null } = { tarMode: null };
  // Global ARGs before the first FROM: metadata, never a layer.
  for (const inst of model.globalArgs) {
    reports.push(report(inst, 'global', { cache: 'hit', reason: 'global build argument: no layer', size: NONE_SIZE }, false));
  }
  for (const stage of stages) {
    const stageLabel = stage.name ?? String(stage.index);
    if (!needed.needed.has(stage.index)) {
      for (const step of stage.steps) {
        const why = `stage ${stageLabel} is not needed for target ${input.target ?? 'the last stage'}: skipped`;
        reports.push(report(step.inst, stageLabel, { cache: 'unknown', reason: why, size: UNKNOWN_SIZE }, true));
      }
      continue;
    }
    const { results, imageId } = !daemon.reachable || daemon.imagesError !== null
      ? { results: await offline(input, stage), imageId: null }
      : input.builder === 'classic'
        ? await predictClassicStage(input, stage, baseImages, outcomes, seen)
        : { results: await predictBuildkitStage(input, stages, stage, baseImages, outcomes, stage.index === needed.targetIndex), imageId: null };
    results.forEach((o, i) => reports.push(report(stage.steps[i]!.inst, stageLabel, o, false)));
    outcomes.set(stage.index, summarise(stage, results, imageId));
  }
  reports.sort((a, b) => a.line - b.line);
  const target = stages[needed.targetIndex]!;
  const targetLabel = target.name ?? String(target.index);
  let total: number | null = 0;
  for (const r of reports) {
    if (r.stage !== targetLabel || r.skipped) continue;
    if (r.size.bytes === null) total = null;
    else if (total !== null) total += r.size.bytes;
  }
  return { steps: reports, totalBytes: total, classicTarMode: seen.tarMode };
}

function summarise(stage: EvaluatedStage, results: Outcome[], imageId: string | null): StageOutcome {
  const i = results.findIndex((r) => r.cache !== 'hit');
  return { allHit: i < 0, firstMissLine: i < 0 ? null : stage.steps[i]!.inst.line, imageId: i < 0 ? imageId : null };
}

function report(inst: EvaluatedStep['inst'], stage: string, o: Outcome, skipped: boolean): StepReport {
  return {
    line: inst.line,
    endLine: inst.endLine,
    stage,
    instruction: inst.keyword,
    text: inst.text,
    createsLayer: createsLayer(inst.keyword),
    cache: o.cache,
    reason: o.reason,
    size: o.size,
    skipped,
    ...(o.changedFiles ? { changedFiles: o.changedFiles } : {}),
    ...(o.history ? { history: o.history } : {}),
    ...(o.largestFiles ? { largestFiles: o.largestFiles } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Sizes and sources shared by both builders.

interface CopySources {
  matches: SourceMatch[];
  bytes: number;
  missing: string[];
}

function copySources(ctx: ContextReader, step: EvaluatedStep): CopySources | null {
  if (!step.copy || step.copy.fromStage !== null || step.copy.fromImage !== null) return null;
  if (step.copy.sources.some((s) => /^https?:\/\//.test(s))) return null;
  const matches = ctx.resolve(step.copy.sources);
  return {
    matches,
    bytes: ctx.layerBytes(matches),
    missing: matches.filter((m) => m.roots.length === 0).map((m) => m.pattern),
  };
}

/** The five largest files, in one pass (no sort of a 20,000-file context on every keystroke). */
function largest(matches: readonly SourceMatch[]): { path: string; bytes: number }[] {
  const top: { path: string; bytes: number }[] = [];
  for (const m of matches) {
    for (const r of m.roots) {
      for (const { entry } of r.entries) {
        if (entry.kind !== 'file' || (top.length === 5 && entry.size <= top[4]!.bytes)) continue;
        top.push({ path: entry.rel, bytes: entry.size });
        top.sort((a, b) => b.bytes - a.bytes);
        if (top.length > 5) top.pop();
      }
    }
  }
  return top;
}

function contextSize(src: CopySources): StepSize {
  return { bytes: src.bytes, exact: true, source: 'context' };
}

async function offline(input: PredictInput, stage: EvaluatedStage): Promise<Outcome[]> {
  const { daemon } = input;
  const why = daemon.reachable
    ? `the local images could not be read (${daemon.imagesError}): nothing can be predicted until they can`
    : `Docker daemon unreachable: ${daemon.error ?? 'unknown error'}`;
  return stage.steps.map((step) => {
    const src = copySources(input.context, step);
    if (src) return { cache: 'unknown', reason: why, size: contextSize(src), largestFiles: largest(src.matches) };
    if (LAYER_STEP.has(step.inst.keyword) || step.inst.keyword === 'FROM') return { cache: 'unknown', reason: why, size: UNKNOWN_SIZE };
    return { cache: 'unknown', reason: why, size: NONE_SIZE };
  });
}

function fromOutcome(step: EvaluatedStep, baseImages: Map<string, ImageInspect | null>, outcomes: Map<number, StageOutcome>): Outcome {
  const from = step.from!;
  if (from.stage !== null) {
    const dep = outcomes.get(from.stage);
    if (dep?.allHit) return { cache: 'hit', reason: `builds on stage ${from.ref}, which is cached`, size: NONE_SIZE };
    return {
      cache: 'miss',
      reason: `builds on stage ${from.ref}, which rebuilds from line ${dep?.firstMissLine ?? '?'}`,
      size: NONE_SIZE,
    };
  }
  if (from.ref.toLowerCase() === 'scratch') return { cache: 'hit', reason: 'empty base (scratch)', size: NONE_SIZE };
  const img = baseImages.get(from.ref) ?? null;
  if (!img) {
    return {
      cache: 'miss',
      reason: `base image ${from.ref} is not present locally: it will be pulled`,
      size: UNKNOWN_SIZE,
    };
  }
  return { cache: 'hit', reason: `base image ${from.ref} is local (${shortId(img.id)})`, size: { bytes: img.size, exact: true, source: 'history' } };
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

// ---------------------------------------------------------------------------------------------------------
// Classic builder.

/** moby image/cache/compare.go, on the fields we model. */
export function classicCompare(probe: ProbeConfig, child: ContainerConfigView): boolean {
  if (child.openStdin || child.attachStdout || child.attachStderr || child.tty) return false;
  if (probe.user !== child.user) return false;
  const cmd = child.cmd ?? [];
  const env = child.env ?? [];
  const labels = child.labels ?? {};
  const ep = child.entrypoint ?? [];
  const pep = probe.entrypoint ?? [];
  if (cmd.length !== probe.cmd.length || env.length !== probe.env.length || ep.length !== pep.length) return false;
  if (Object.keys(labels).length !== Object.keys(probe.labels).length) return false;
  if (child.exposedPorts.length !== probe.exposedPorts.length || child.volumes.length !== probe.volumes.length) return false;
  for (let i = 0; i < cmd.length; i++) if (cmd[i] !== probe.cmd[i]) return false;
  for (let i = 0; i < env.length; i++) if (env[i] !== probe.env[i]) return false;
  for (let i = 0; i < ep.length; i++) if (ep[i] !== pep[i]) return false;
  for (const [k, v] of Object.entries(probe.labels)) if (labels[k] !== v) return false;
  for (const p of probe.exposedPorts) if (!child.exposedPorts.includes(p)) return false;
  for (const v of probe.volumes) if (!child.volumes.includes(v)) return false;
  return true;
}

function newestFirst(a: ImageInspect, b: ImageInspect): number {
  return Date.parse(b.created) - Date.parse(a.created);
}

async function predictClassicStage(
  input: PredictInput,
  stage: EvaluatedStage,
  baseImages: Map<string, ImageInspect | null>,
  outcomes: Map<number, StageOutcome>,
  seen: { tarMode: TarModeVariant | null },
): Promise<{ results: Outcome[]; imageId: string | null }> {
  const { daemon, context } = input;
  const out: Outcome[] = [];
  const fromStep = stage.steps[0]!;
  const fromResult = fromOutcome(fromStep, baseImages, outcomes);
  out.push(fromResult);
  let parent: ImageInspect | null = null;
  let parentId: string | null;
  if (fromStep.from!.stage !== null) {
    parentId = outcomes.get(fromStep.from!.stage)?.imageId ?? null;
    if (parentId) parent = await daemon.imageByRef(parentId);
  } else if (fromStep.from!.ref.toLowerCase() === 'scratch') {
    parentId = '';
  } else {
    parent = baseImages.get(fromStep.from!.ref) ?? null;
    parentId = parent?.id ?? null;
  }
  let broken: string | null =
    parentId === null
      ? fromStep.from!.stage !== null
        ? `builds on stage ${fromStep.from!.ref}, which rebuilds`
        : `base image ${fromStep.from!.ref} is not local`
      : null;
  let unknownFrom: string | null = null;

  for (const step of stage.steps.slice(1)) {
    const src = copySources(context, step);
    const baseSize: StepSize = src ? contextSize(src) : LAYER_STEP.has(step.inst.keyword) ? UNKNOWN_SIZE : NONE_SIZE;
    const extras = src ? { largestFiles: largest(src.matches) } : {};
    if (unknownFrom) {
      out.push({ cache: 'unknown', reason: unknownFrom, size: await previousSize(daemon, step, baseSize), ...extras });
      continue;
    }
    if (broken) {
      out.push({ cache: 'miss', reason: broken, size: await previousSize(daemon, step, baseSize), ...extras });
      continue;
    }
    if (!step.classic) {
      unknownFrom = `cannot predict: ${step.classicUnmodelled ?? 'unsupported instruction'}`;
      out.push({ cache: 'unknown', reason: unknownFrom, size: baseSize, ...extras });
      continue;
    }
    if (src && src.missing.length > 0) {
      broken = `after line ${step.inst.line}, whose source is missing`;
      out.push({ cache: 'miss', reason: `source not found in the build context: ${describePaths(src.missing)} (the build will fail)`, size: baseSize, ...extras });
      continue;
    }
    const children = (await daemon.children(parentId!)).sort(newestFirst);
    let match: ImageInspect | null = null;
    let probes: ProbeConfig[] = [step.classic];
    if (step.copy && src) {
      probes = [];
      for (const v of MODE_VARIANTS) {
        const hash = await context.classicHash(src.matches, v);
        probes.push(withHash(step.classic, hash));
      }
    } else if (step.copy && step.copy.fromStage !== null) {
      const dep = outcomes.get(step.copy.fromStage);
      if (!dep?.allHit) {
        unknownFrom = `depends on the output of stage ${stageName(input, step.copy.fromStage)}, which rebuilds: it hits again only if that stage produces identical files`;
        out.push({ cache: 'unknown', reason: unknownFrom, size: await previousSize(daemon, step, baseSize) });
        continue;
      }
      match = children.find((c) => c.containerConfig && copyFromMatches(step.classic!, c.containerConfig)) ?? null;
      probes = [];
    } else if (step.copy) {
      unknownFrom = `cannot predict: ${step.inst.keyword} from a URL or an image`;
      out.push({ cache: 'unknown', reason: unknownFrom, size: baseSize });
      continue;
    }
    for (let i = 0; i < probes.length; i++) {
      match = children.find((c) => c.containerConfig !== null && classicCompare(probes[i]!, c.containerConfig)) ?? null;
      if (match) {
        if (step.copy && src) seen.tarMode ??= MODE_VARIANTS[i]!;
        break;
      }
    }
    if (match) {
      const bytes = Math.max(0, match.size - (parent?.size ?? 0));
      out.push({
        cache: 'hit',
        reason: `cached: image ${shortId(match.id)} from the last build matches`,
        size: src ? contextSize(src) : { bytes, exact: true, source: 'history' },
        history: { imageId: match.id, createdBy: (match.containerConfig?.cmd ?? []).join(' '), created: Date.parse(match.created) / 1000, size: bytes },
        ...extras,
      });
      parent = match;
      parentId = match.id;
      continue;
    }
    const why = await classicMissReason(input, step, children, src, parentId!, stage, probes.length > 0 ? probes : [step.classic]);
    out.push({ cache: 'miss', reason: why.reason, size: await previousSize(daemon, step, baseSize), ...(why.files ? { changedFiles: why.files } : {}), ...extras });
    broken = `after line ${step.inst.line} rebuilds`;
  }
  return { results: out, imageId: out.every((o) => o.cache === 'hit') ? parentId : null };
}

function withHash(probe: ProbeConfig, hash: string): ProbeConfig {
  return { ...probe, cmd: probe.cmd.map((c) => c.replace(HASH_PLACEHOLDER, hash)) };
}

function copyFromMatches(probe: ProbeConfig, child: ContainerConfigView): boolean {
  const last = probe.cmd[probe.cmd.length - 1]!;
  const [pre, post] = last.split(HASH_PLACEHOLDER) as [string, string];
  const childLast = child.cmd?.[child.cmd.length - 1] ?? '';
  if (!childLast.startsWith(pre) || !childLast.endsWith(post)) return false;
  if (!/^(file|dir|multi):[0-9a-f]{64}$/.test(childLast.slice(pre.length, childLast.length - post.length))) return false;
  return classicCompare({ ...probe, cmd: [...probe.cmd.slice(0, -1), childLast] }, child);
}

async function classicMissReason(
  input: PredictInput,
  step: EvaluatedStep,
  children: readonly ImageInspect[],
  src: CopySources | null,
  parentId: string,
  stage: EvaluatedStage,
  probes: readonly ProbeConfig[],
): Promise<{ reason: string; files?: ChangedFiles }> {
  const probe = step.classic!;
  const probeLast = probe.cmd[probe.cmd.length - 1]!;
  const cmdOf = (c: ImageInspect): readonly string[] => c.containerConfig?.cmd ?? [];
  // Same instruction, other source hash: the files changed.
  if (step.copy && src) {
    const [pre, post] = probeLast.split(HASH_PLACEHOLDER) as [string, string];
    const sibling = children.find((c) => {
      const l = cmdOf(c)[cmdOf(c).length - 1] ?? '';
      return l.startsWith(pre) && l.endsWith(post);
    });
    if (sibling) {
      const landed = await landedFiles(input.context, step.copy, src.matches);
      // The layer the last build made (its last diff ID) says exactly which files differ; read once, then cached.
      const diffId = sibling.layers[sibling.layers.length - 1];
      const files = diffId ? await input.daemon.layerFiles(sibling.id, diffId) : null;
      const diff = files ? compareWithLayer(landed, files, expectedOwner(step.copy.chown)) : null;
      if (diff) return { reason: `${describeChanges(diff)} since the last build`, files: capChanges(diff) };
      const since = Date.parse(sibling.created);
      const newer = landed.filter((f) => f.mtimeMs > since).map((f) => f.from);
      if (newer.length > 0) {
        return {
          reason: `${describePaths(newer)} changed since the last build`,
          files: { added: [], changed: capList(newer), removed: [], chmodded: [] },
        };
      }
      return { reason: 'source files changed since the last build (added, removed, renamed or chmod-ed)' };
    }
  }
  if (step.inst.keyword === 'RUN') {
    const body = probe.cmd.slice(probe.cmd.findIndex((c) => !c.startsWith('|') && !/^[^=]+=/.test(c)));
    const sibling = children.find((c) => {
      const cc = cmdOf(c);
      return cc.length >= body.length && body.every((b, i) => cc[cc.length - body.length + i] === b);
    });
    if (sibling) {
      const argDiff = diffArgs(cmdOf(sibling), probe.cmd);
      if (argDiff) return { reason: argDiff };
    }
  }
  // The first step on a base image: its siblings are other Dockerfiles built on the same base, not an earlier
  // version of this one. The same step on another parent means the base moved.
  if (stage.steps[1] === step && stage.steps[0]!.from!.stage === null) {
    const elsewhere = (await input.daemon.allInspected()).find(
      (img) => img.containerConfig !== null && img.parentId !== parentId && probes.some((p) => sameCmd(img.containerConfig!.cmd, p.cmd)),
    );
    if (elsewhere) return { reason: `base image ${stage.steps[0]!.from!.ref} changed since the last build of this step (it was built on ${shortId(elsewhere.parentId)})` };
    return { reason: 'no earlier build of this step' };
  }
  if (children.length === 0) return { reason: 'no earlier build of this step' };
  const envDiff = children.find((c) => c.containerConfig && sameCmd(c.containerConfig.cmd, probe.cmd));
  if (envDiff) return { reason: 'the image config before this step changed (ENV, LABEL, USER, EXPOSE, VOLUME or ENTRYPOINT)' };
  const prev = cmdOf(children[0]!);
  return { reason: `instruction changed since the last build (it ran \`${describeCmd(prev)}\` here)` };
}

function sameCmd(a: readonly string[] | null, b: readonly string[]): boolean {
  return a !== null && a.length === b.length && a.every((x, i) => x === b[i]);
}

function describeCmd(cmd: readonly string[]): string {
  const s = cmd.join(' ').replace(/^.*?#\(nop\)\s+/, '');
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}

/** `|2 A=1 B=2 …` prefixes of two classic RUN commands → "build arg A changed (1 → 3)". */
function diffArgs(before: readonly string[], now: readonly string[]): string | null {
  const parse = (cmd: readonly string[]): Map<string, string> => {
    const m = new Map<string, string>();
    if (!cmd[0]?.startsWith('|')) return m;
    const n = Number(cmd[0].slice(1));
    for (const kv of cmd.slice(1, 1 + n)) {
      const eq = kv.indexOf('=');
      m.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
    return m;
  };
  return describeArgChange(parse(before), parse(now));
}

function describeArgChange(a: Map<string, string>, b: Map<string, string>): string | null {
  const names = new Set([...a.keys(), ...b.keys()]);
  const changes: string[] = [];
  for (const n of names) {
    if (a.get(n) === b.get(n)) continue;
    changes.push(`build arg ${n} changed (${a.get(n) ?? 'unset'} → ${b.get(n) ?? 'unset'})`);
  }
  return changes.length > 0 ? changes.join('; ') : null;
}

/** For a step that will run: the size the same step had in an earlier build (not exact). */
async function previousSize(daemon: DaemonEvidence, step: EvaluatedStep, fallback: StepSize): Promise<StepSize> {
  if (fallback.source === 'context' || fallback.source === 'none' && fallback.bytes === 0) return fallback;
  if (step.inst.keyword !== 'RUN' && !(step.copy && (step.copy.fromStage !== null || step.copy.fromImage !== null))) return fallback;
  const want = step.buildkitHistory;
  const index = await historySizes(daemon);
  const bytes = want.startsWith('RUN ') ? index.run.get(stripRunArgs(want)) : index.exact.get(want);
  return bytes === undefined ? fallback : { bytes, exact: false, source: 'previous-build' };
}

interface HistorySizes {
  /** Normalised history line → size of its first occurrence (images in evidence order, history oldest first). */
  readonly exact: ReadonlyMap<string, number>;
  /** RUN lines without their `|N K=V` build-arg prefix → size of the first occurrence (sameStepText's other case). */
  readonly run: ReadonlyMap<string, number>;
}

/** Every image's history normalised once per daemon evidence, not once per step that misses. */
const historyIndexes = new WeakMap<DaemonEvidence, Promise<HistorySizes>>();

function historySizes(daemon: DaemonEvidence): Promise<HistorySizes> {
  let p = historyIndexes.get(daemon);
  if (!p) {
    p = daemon.imagesWithHistory().then((images) => {
      const exact = new Map<string, number>();
      const run = new Map<string, number>();
      for (const { history } of images) {
        for (const h of history) {
          const text = normaliseHistory(h.createdBy);
          if (!exact.has(text)) exact.set(text, h.size);
          if (text.startsWith('RUN ')) {
            const stripped = stripRunArgs(text);
            if (!run.has(stripped)) run.set(stripped, h.size);
          }
        }
      }
      return { exact, run };
    });
    historyIndexes.set(daemon, p);
  }
  return p;
}

function stripRunArgs(text: string): string {
  return text.replace(/^RUN \|\d+ (\S+=\S* )*/, 'RUN ');
}

/** History lines equal, or equal but for RUN's `|N K=V` build-arg prefix (a previous build with other args). */
function sameStepText(a: string, b: string): boolean {
  if (a === b) return true;
  return a.startsWith('RUN ') && stripRunArgs(a) === stripRunArgs(b);
}

// ---------------------------------------------------------------------------------------------------------
// BuildKit.

interface TheirStep {
  readonly entry: HistoryEntry;
  readonly text: string;
  readonly keyword: string;
  /** ENV/USER lines before it: what a RUN's environment is made of. */
  readonly envSig: string;
  /** Index into the image's RootFS.Layers, or -1 when it cannot be mapped. */
  readonly layerIndex: number;
}

interface Candidate {
  readonly image: ImageInspect;
  readonly steps: readonly TheirStep[];
}

function keywordOf(text: string): string {
  return (/^\S+/.exec(text)?.[0] ?? '').toUpperCase();
}

function envSigOf(texts: readonly string[]): string {
  return texts.filter((t) => /^(ENV|USER|WORKDIR) /.test(t)).join('\n');
}

/** Images whose history continues the base image's: the target stage's earlier builds. */
function candidatesFor(images: readonly ImageWithHistory[], base: ImageInspect | null, baseHistoryLength: number): Candidate[] {
  const out: Candidate[] = [];
  for (const { image, history } of images) {
    if (base) {
      if (image.id === base.id || image.layers.length < base.layers.length) continue;
      if (!base.layers.every((l, i) => image.layers[i] === l)) continue;
    }
    const own = history.slice(base ? baseHistoryLength : 0);
    if (own.length === 0 || !own.some((h) => h.comment.startsWith('buildkit'))) continue;
    // Layers: one per RUN/COPY/ADD/WORKDIR entry (BuildKit always snapshots these), after the base's.
    const texts = own.map((h) => normaliseHistory(h.createdBy));
    const layerCount = texts.filter((t) => LAYER_STEP.has(keywordOf(t))).length;
    const mappable = (base?.layers.length ?? 0) + layerCount === image.layers.length;
    let next = base?.layers.length ?? 0;
    const steps: TheirStep[] = [];
    texts.forEach((text, i) => {
      const keyword = keywordOf(text);
      if (!LAYER_STEP.has(keyword)) return;
      steps.push({ entry: own[i]!, text, keyword, envSig: envSigOf(texts.slice(0, i)), layerIndex: mappable ? next : -1 });
      next++;
    });
    out.push({ image, steps });
  }
  return out.sort((a, b) => newestFirst(a.image, b.image));
}

interface OurLayerStep {
  readonly stepIndex: number;
  readonly step: EvaluatedStep;
  readonly envSig: string;
}

async function predictBuildkitStage(
  input: PredictInput,
  allStages: readonly EvaluatedStage[],
  stage: EvaluatedStage,
  baseImages: Map<string, ImageInspect | null>,
  outcomes: Map<number, StageOutcome>,
  isTarget: boolean,
): Promise<Outcome[]> {
  const { daemon, context } = input;
  const out: Outcome[] = new Array(stage.steps.length);
  const fromStep = stage.steps[0]!;
  out[0] = fromOutcome(fromStep, baseImages, outcomes);
  // A stage built FROM another stage continues that stage's history: the image of this stage carries the layer
  // steps of its whole lineage (root stage first), and so must our side of the comparison.
  const lineage: EvaluatedStage[] = [];
  for (let s: EvaluatedStage | undefined = stage; s; ) {
    lineage.unshift(s);
    const parent: number | null = s.steps[0]!.from!.stage;
    s = parent !== null ? allStages[parent] : undefined;
  }
  const rootFrom = lineage[0]!.steps[0]!.from!;
  const base = rootFrom.stage === null ? (baseImages.get(rootFrom.ref) ?? null) : null;
  const images = await daemon.imagesWithHistory();
  const baseHistory = base ? (images.find((i) => i.image.id === base.id)?.history.length ?? 0) : 0;
  let candidates = isTarget && (base || rootFrom.ref.toLowerCase() === 'scratch') ? candidatesFor(images, base, baseHistory) : [];
  const readRecords = await daemon.buildCache();
  const records = readRecords ?? [];

  // Our layer steps with the ENV/USER/WORKDIR lines before each.
  const ours: OurLayerStep[] = [];
  const seenTexts: string[] = [];
  for (const s of lineage) {
    s.steps.slice(1).forEach((step, i) => {
      // Steps of ancestor stages are walked for the comparison only: their own stage reported them.
      if (LAYER_STEP.has(step.inst.keyword)) ours.push({ stepIndex: s === stage ? i + 1 : -1, step, envSig: envSigOf(seenTexts) });
      seenTexts.push(step.buildkitHistory);
    });
  }

  let broken: string | null = out[0]!.cache === 'hit' ? null : `builds on ${fromStep.from!.ref}, which is not cached`;
  let unknownFrom: string | null = null as string | null;
  // Records that may stand for the previous layer step; undefined before the first layer step. A set, not one
  // record: several chains can share a prefix (other projects, older builds), and only a later step tells them apart.
  let prevRecords: ReadonlySet<string> | undefined;
  const usedCandidate = (): Candidate | undefined => candidates[0];
  const chains = new Map<Candidate, (ReadonlySet<string> | null)[]>();
  const recordChainFor = (c: Candidate): (ReadonlySet<string> | null)[] => {
    let chain = chains.get(c);
    if (!chain) {
      chain = recordChainOf(records, c.steps.map((t) => ({ text: t.text, size: t.entry.size })));
      chains.set(c, chain);
    }
    return chain;
  };

  for (let k = 0; k < ours.length; k++) {
    const { step, stepIndex, envSig } = ours[k]!;
    const src = copySources(context, step);
    const extras = src ? { largestFiles: largest(src.matches) } : {};
    const sizeNow: StepSize = src ? contextSize(src) : step.inst.keyword === 'WORKDIR' ? NONE_SIZE : UNKNOWN_SIZE;
    const prevSize = async (): Promise<StepSize> => {
      const theirs = usedCandidate()?.steps[k];
      if (!src && theirs && theirs.keyword === step.inst.keyword && sameStepText(theirs.text, step.buildkitHistory)) {
        return { bytes: theirs.entry.size, exact: false, source: 'previous-build' };
      }
      return previousSize(daemon, step, sizeNow);
    };
    const settle = (o: Outcome): void => {
      if (stepIndex >= 0) out[stepIndex] = o;
      if (o.cache === 'miss') broken ??= `after line ${step.inst.line} rebuilds`;
      if (o.cache === 'unknown') unknownFrom ??= o.reason;
    };
    if (unknownFrom) {
      if (stepIndex >= 0) out[stepIndex] = { cache: 'unknown', reason: unknownFrom, size: await prevSize(), ...extras };
      continue;
    }
    if (broken) {
      if (stepIndex >= 0) out[stepIndex] = { cache: 'miss', reason: broken, size: await prevSize(), ...extras };
      continue;
    }
    if (src && src.missing.length > 0) {
      settle({ cache: 'miss', reason: `source not found in the build context: ${describePaths(src.missing)} (the build will fail)`, size: sizeNow, ...extras });
      continue;
    }
    if (step.copy && step.copy.fromImage !== null) {
      settle({ cache: 'unknown', reason: `cannot predict: ${step.inst.keyword} --from an image`, size: sizeNow });
      continue;
    }
    if (step.copy && step.copy.fromStage !== null) {
      const dep = outcomes.get(step.copy.fromStage);
      if (!dep?.allHit) {
        settle({
          cache: 'unknown',
          reason: `depends on the output of stage ${stageName(input, step.copy.fromStage)}, which rebuilds from line ${dep?.firstMissLine ?? '?'}: it hits again only if that stage produces identical files`,
          size: await prevSize(),
        });
        continue;
      }
    }

    if (readRecords === null) {
      settle({ cache: 'unknown', reason: 'the build cache could not be read from the daemon, so whether BuildKit still holds this step is unknown', size: await prevSize(), ...extras });
      continue;
    }

    // 1. Images: an earlier build of this stage whose k-th layer step is this one, with the same inputs.
    const textMatch = candidates.filter((c) => {
      const t = c.steps[k];
      return t !== undefined && t.keyword === step.inst.keyword && t.text === step.buildkitHistory && (step.inst.keyword !== 'RUN' || t.envSig === envSig);
    });
    if (textMatch.length > 0) {
      let verified = textMatch;
      if (src && step.copy) {
        const verdict = await compareCopy(input, step, src, textMatch, k);
        if (verdict.unknown) {
          settle({ cache: 'unknown', reason: verdict.unknown, size: sizeNow, ...extras });
          continue;
        }
        if (!verdict.match) {
          settle({ cache: 'miss', reason: verdict.reason!, size: sizeNow, ...(verdict.files ? { changedFiles: verdict.files } : {}), ...extras });
          continue;
        }
        verified = [verdict.match, ...textMatch.filter((c) => c !== verdict.match)];
      }
      candidates = verified;
      const theirs = verified[0]!.steps[k]!;
      // History and contents match: the step hits if BuildKit still holds its cache record.
      // The records of the build that made that image must still be there: an image alone is not a cache.
      const chain = recordChainFor(verified[0]!);
      const ids = chain[k] ?? null;
      const rec = ids ? { record: true, ids } : { record: null, ids: new Set<string>() };
      if (!rec.record) {
        settle({
          cache: 'miss',
          reason: `the build cache for this step is gone (pruned); image ${shortId(verified[0]!.image.id)} still has the layer but BuildKit cannot reuse it`,
          size: src ? sizeNow : { bytes: theirs.entry.size, exact: false, source: 'previous-build' },
          ...extras,
        });
        continue;
      }
      prevRecords = rec.ids;
      settle({
        cache: 'hit',
        reason: `cached: matches the last build (image ${shortId(verified[0]!.image.id)})`,
        size: src ? sizeNow : { bytes: theirs.entry.size, exact: true, source: 'history' },
        history: { imageId: verified[0]!.image.id, createdBy: theirs.entry.createdBy, created: theirs.entry.created, size: theirs.entry.size },
        ...extras,
      });
      continue;
    }

    // 2. The images that matched every earlier step are this stage's own earlier builds: they did this step
    // differently (text, build args, environment), and that is the change.
    if (k > 0 && candidates.length > 0) {
      settle({ cache: 'miss', reason: describeTextMiss(step, envSig, candidates, k), size: await prevSize(), ...extras });
      continue;
    }
    candidates = [];
    if (k === 0 && isTarget) {
      const moved = builtOnOtherBase(images, step, base);
      if (moved) {
        settle({ cache: 'miss', reason: `base image ${rootFrom.ref} changed since the last build of this step (it was built on ${moved})`, size: await prevSize(), ...extras });
        continue;
      }
    }

    // 3. No image carries this step (a builder stage, or the image was removed): the cache records alone.
    // A first file operation (WORKDIR, COPY) is described only by its size; it counts as this stage's own record
    // only when the record chain from it reaches one of our RUN commands (or the stage has no RUN).
    if (prevRecords === undefined && step.inst.keyword !== 'RUN' && !recordChainIsOurs(records, ours.slice(k), context)) {
      settle({ cache: 'miss', reason: 'no earlier build of this step', size: await prevSize(), ...extras });
      continue;
    }
    settle(await fromRecordsAlone(input, step, src, records, prevRecords, sizeNow, extras, prevSize, (ids) => (prevRecords = ids)));
  }

  // Metadata instructions: image config only, no build step in BuildKit.
  stage.steps.forEach((_step, i) => {
    if (out[i]) return;
    out[i] = { cache: 'hit', reason: 'metadata only: written to the image config, nothing to build', size: NONE_SIZE };
  });
  return out;
}

/** Whether build-cache records chain through these layer steps up to a RUN (whose record names its command). */
function recordChainIsOurs(records: readonly BuildCacheRecord[], steps: readonly OurLayerStep[], context: ContextReader): boolean {
  let prev: ReadonlySet<string> | undefined;
  for (const { step } of steps) {
    const src = copySources(context, step);
    // COPY sizes are judged later (a changed source is still this stage's record); WORKDIR makes empty layers.
    const size = src ? null : step.inst.keyword === 'WORKDIR' ? 0 : null;
    const r = findRecords(records, recordQuery(step.buildkitHistory), prev, size);
    if (!r.record) return false;
    if (step.inst.keyword === 'RUN') return true;
    prev = r.ids;
  }
  return true;
}

/** Short ID of an image that has this stage's first layer step on another base: the base changed. */
function builtOnOtherBase(images: readonly ImageWithHistory[], step: EvaluatedStep, base: ImageInspect | null): string | null {
  for (const { image, history } of images) {
    if (base && base.layers.every((l, i) => image.layers[i] === l)) continue;
    if (history.some((h) => h.comment.startsWith('buildkit') && normaliseHistory(h.createdBy) === step.buildkitHistory)) {
      return `the base of image ${shortId(image.id)}`;
    }
  }
  return null;
}

/**
 * Prediction from build-cache records alone. RUN records carry the command but not its build args or env, and
 * COPY records only a size: content is judged by size and by whether any source file changed after the record
 * was made (a touch without a content change is then taken for a change — the known limit of this path).
 */
async function fromRecordsAlone(
  input: PredictInput,
  step: EvaluatedStep,
  src: CopySources | null,
  records: readonly BuildCacheRecord[],
  prev: ReadonlySet<string> | undefined,
  sizeNow: StepSize,
  extras: { largestFiles?: StepReport['largestFiles'] },
  prevSize: () => Promise<StepSize>,
  advance: (ids: ReadonlySet<string>) => void,
): Promise<Outcome> {
  const rec = findRecords(records, recordQuery(step.buildkitHistory), prev, null);
  if (!rec.record) return { cache: 'miss', reason: rec.reason, size: await prevSize(), ...extras };
  if (src && step.copy) {
    const sameSize = [...rec.ids].map((id) => records.find((r) => r.id === id)!).filter((r) => r.size === src.bytes);
    const landed = await landedFiles(input.context, step.copy, src.matches);
    const newest = sameSize.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
    const since = Date.parse((newest ?? rec.record).createdAt);
    const newer = landed.filter((f) => f.mtimeMs > since).map((f) => f.from);
    if (!newest || newer.length > 0) {
      const who = newer.length > 0 ? `${describePaths(newer)} changed` : 'the sources changed';
      const sizes = newest ? '' : ` (${rec.record.size} → ${src.bytes} bytes)`;
      return {
        cache: 'miss',
        reason: `${who} since the cached layer was built${sizes}`,
        size: sizeNow,
        changedFiles: { added: [], changed: capList(newer), removed: [], chmodded: [] },
        ...extras,
      };
    }
    advance(new Set(sameSize.map((r) => r.id)));
    return { cache: 'hit', reason: 'cached: a build-cache record for this step exists and no source changed since', size: sizeNow, ...extras };
  }
  if (step.inst.keyword === 'RUN' && step.runArgs.length > 0) {
    return { cache: 'unknown', reason: 'a build-cache record exists, but without an image of this stage its build args cannot be compared', size: await prevSize() };
  }
  advance(rec.ids);
  return { cache: 'hit', reason: 'cached: a build-cache record for this step exists', size: step.inst.keyword === 'WORKDIR' ? sizeNow : { bytes: rec.record.size, exact: true, source: 'history' }, ...extras };
}

function stageName(input: PredictInput, index: number): string {
  return input.model.stages[index]?.name ?? String(index);
}

function describeTextMiss(step: EvaluatedStep, envSig: string, candidates: readonly Candidate[], k: number): string {
  const theirs = candidates.map((c) => c.steps[k]).filter((t): t is TheirStep => t !== undefined);
  if (theirs.length === 0) return 'no earlier build of this step (new instruction)';
  if (step.inst.keyword === 'RUN') {
    const sameText = theirs.find((t) => t.text === step.buildkitHistory);
    if (sameText && sameText.envSig !== envSig) return 'the environment before this step changed (ENV, USER or WORKDIR)';
    const argsOnly = theirs.find((t) => sameStepText(t.text, step.buildkitHistory));
    if (argsOnly) {
      // History lines carry the same `|N K=V …` prefix as classic commands: one parser for both.
      const d = diffArgs(argsOnly.text.slice('RUN '.length).split(' '), step.buildkitHistory.slice('RUN '.length).split(' '));
      if (d) return d;
    }
  }
  const t = theirs[0]!;
  const shown = t.text.length > 80 ? t.text.slice(0, 77) + '...' : t.text;
  return `instruction changed since the last build (it was \`${shown}\`)`;
}

async function compareCopy(
  input: PredictInput,
  step: EvaluatedStep,
  src: CopySources,
  candidates: readonly Candidate[],
  k: number,
): Promise<{ match?: Candidate; reason?: string; files?: ChangedFiles; unknown?: string }> {
  // Fast path: these sources were found byte-identical to that layer before, and no source entry changed status
  // (ctime) since — then they still are, without reading a file or the layer.
  const keyOf = (c: Candidate): string | null => {
    const t = c.steps[k]!;
    return t.layerIndex < 0 ? null : `${c.image.layers[t.layerIndex]}|${step.buildkitHistory}|${step.copy!.destAbs}|${step.copy!.chown ?? ''}`;
  };
  for (const c of candidates.slice(0, 3)) {
    const key = keyOf(c);
    const at = key === null || c.steps[k]!.entry.size !== src.bytes ? null : input.context.verifiedAt(key);
    if (at !== null && unchangedSince(input.context, src.matches, at)) return { match: c };
  }
  const startedMs = Date.now(); // before any file is read: a change after this moment moves a ctime past it
  const expectId = expectedOwner(step.copy!.chown);
  // Few exports at most: newest candidates first; each layer's files are cached by diff ID after the first read.
  // A different size settles it; only the newest such layer is read, to name the files.
  const toRead = candidates.slice(0, 3).filter((c, i) => c.steps[k]!.layerIndex >= 0 && (i === 0 || c.steps[k]!.entry.size === src.bytes));
  const sizeOnly = candidates.slice(0, 3).some((c) => c.steps[k]!.entry.size !== src.bytes);
  let firstDiff: ChangedFiles | null = null;
  for (const c of toRead) {
    const diffId = c.image.layers[c.steps[k]!.layerIndex]!;
    const diff = await compareSourcesWithLayer(input.context, step.copy!, src.matches, { diffId, files: input.daemon.layerFiles(c.image.id, diffId) }, expectId);
    if (diff === undefined) continue;
    if (diff === null) {
      const key = keyOf(c);
      if (key !== null) input.context.markVerified(key, startedMs);
      return { match: c };
    }
    firstDiff ??= diff;
  }
  if (firstDiff) return { reason: `${describeChanges(firstDiff)} since the last build`, files: capChanges(firstDiff) };
  if (sizeOnly) {
    const c = candidates[0]!;
    const before = c.steps[k]!.entry.size;
    const since = Date.parse(c.image.created);
    const landed: LandedFile[] = await landedFiles(input.context, step.copy!, src.matches);
    const newer = landed.filter((f) => f.mtimeMs > since).map((f) => f.from);
    const who = newer.length > 0 ? `${describePaths(newer)} changed since the last build` : 'source files changed since the last build';
    return { reason: `${who} (${before} → ${src.bytes} bytes)`, files: { added: [], changed: capList(newer), removed: [], chmodded: [] } };
  }
  return { unknown: 'cannot compare the sources with the last build: its layer could not be read from the daemon' };
}

/** uid a COPY gives its files: 0 unless `--chown` names a numeric id; null when it names a user we cannot resolve. */
function expectedOwner(chown: string | null): number | null {
  if (chown === null) return 0;
  return /^\d+(:\d+)?$/.test(chown) ? Number(chown.split(':')[0]) : null;
}

function describeChanges(d: ChangedFiles): string {
  const parts: string[] = [];
  if (d.changed.length) parts.push(`${describePaths(d.changed)} changed`);
  if (d.added.length) parts.push(`${describePaths(d.added)} added`);
  if (d.removed.length) parts.push(`${describePaths(d.removed)} removed`);
  if (d.chmodded.length) parts.push(`${describePaths(d.chmodded)} changed mode`);
  return parts.join('; ');
}

function capChanges(d: ChangedFiles): ChangedFiles {
  return { added: capList(d.added), changed: capList(d.changed), removed: capList(d.removed), chmodded: capList(d.chmodded) };
}

/**
 * The build-cache records that can stand for a step: RUN records are described `mount / from exec <argv>`, file
 * operations (COPY/ADD/WORKDIR) `fileop …`; records chain through Parent like the layers they snapshot, so a
 * candidate must sit on one of the previous step's candidates.
 */
function findRecords(
  records: readonly BuildCacheRecord[],
  query: RecordQuery,
  prev: ReadonlySet<string> | undefined,
  size: number | null,
): { record: BuildCacheRecord | null; ids: ReadonlySet<string>; reason: string } {
  const none = (reason: string) => ({ record: null, ids: new Set<string>(), reason });
  const regular = records.filter((r) => r.type === 'regular');
  if (regular.length === 0) return none('no build cache on the daemon (never built, or pruned)');
  const pool =
    query.argv !== null
      ? regular.filter((r) => r.description === `mount / from exec ${query.argv}`)
      : regular.filter((r) => r.description.startsWith('fileop'));
  if (pool.length === 0) return none('no earlier build of this step in the build cache');
  const chained = pool.filter((r) => prev === undefined || (r.parent !== null && prev.has(r.parent)));
  const sized = size === null ? chained : chained.filter((r) => r.size === size);
  if (sized.length === 0) return none('no build-cache record for this step on top of the previous one (inputs changed, or pruned)');
  const newest = [...sized].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0]!;
  return { record: newest, ids: new Set(sized.map((r) => r.id)), reason: '' };
}

/** What identifies a step's cache record: RUN records name the command they ran; file operations do not. */
interface RecordQuery {
  readonly argv: string | null;
}

/** `RUN |1 A=b /bin/sh -c cmd` (our history line or an image's) → the argv a RUN record describes. */
function recordQuery(historyText: string): RecordQuery {
  if (!historyText.startsWith('RUN ')) return { argv: null };
  return { argv: historyText.replace(/^RUN (\|\d+ (\S+=\S* )*)?/, '') };
}

/**
 * The record chain of an earlier build, step by step (forward sets of candidate records). A chain that breaks
 * before the build's first RUN is not evidence: file operations alone are described only by their size, and
 * any project's records could have that.
 */
function recordChainOf(records: readonly BuildCacheRecord[], steps: readonly { text: string; size: number | null }[]): (ReadonlySet<string> | null)[] {
  const sets: (ReadonlySet<string> | null)[] = [];
  let prev: ReadonlySet<string> | undefined;
  let reachedRun = false;
  for (const st of steps) {
    const q = recordQuery(st.text);
    const r = findRecords(records, q, prev, st.size);
    if (!r.record) break;
    if (q.argv !== null) reachedRun = true;
    sets.push(r.ids);
    prev = r.ids;
  }
  const complete = sets.length === steps.length;
  if (!reachedRun && !complete) return steps.map(() => null);
  return steps.map((_, i) => sets[i] ?? null);
}
