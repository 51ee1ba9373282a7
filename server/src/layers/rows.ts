// The explorer's layers table from inspect + history alone (no export): readable instructions, empty (metadata)
// entries, each layer's diff ID, cumulative sizes, the base image's rows, and — given a Dockerfile — the
// instruction behind each row and the engine's rebuild prediction for it. Pure; every daemon string is untrusted.

import type { HistoryEntry, ImageInspect } from '../docker/types';
import type { DockerfileModel, ParsedInstruction } from '../engine/dockerfileModel';
import { stageRef } from '../engine/dockerfileModel';
import type { StepReport } from '../engine/report';
import type { ExplorerLayerRow } from '../protocol';

export type LayerRow = ExplorerLayerRow;

const MAX_TEXT = 4096;
/** Instructions whose history entry carries a filesystem layer (BuildKit snapshots WORKDIR too). */
const LAYER_KEYWORDS = new Set(['RUN', 'COPY', 'ADD', 'WORKDIR']);

/** Control characters out (C0 but tab/newline, DEL, C1, bidi overrides), capped length: safe to show as text. */
export function sanitise(s: string, max = MAX_TEXT): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/**
 * `docker history --no-trunc` text made readable: `/bin/sh -c #(nop) ` dropped (metadata instructions of the
 * classic builder), a classic RUN shown as `RUN cmd`, BuildKit's `RUN /bin/sh -c cmd` and ` # buildkit` stripped,
 * the `|N K=V` build-arg prefix dropped, whitespace folded.
 */
export function readableCreatedBy(raw: string): string {
  let s = sanitise(raw).trim().replace(/ # buildkit$/, '');
  const nop = /^(?:\S+ )*?-c #\(nop\)\s+(.*)$/s.exec(s);
  if (nop) {
    s = nop[1]!;
  } else {
    const prefix = /^(RUN )?(?:\|\d+ (?:\S+=\S* )*)?(?:\/bin\/sh|\/bin\/bash|sh|bash|cmd \/S \/C|powershell[^ ]*) -c (.*)$/s.exec(s);
    if (prefix) s = `RUN ${prefix[2]!}`;
  }
  return s.replace(/\s+/g, ' ').trim();
}

/** Upper-case instruction keyword of a readable line, '' when it is none (e.g. `docker import`). */
export function keywordOf(readable: string): string {
  const w = (/^[A-Za-z]+/.exec(readable)?.[0] ?? '').toUpperCase();
  return KEYWORDS.has(w) ? w : '';
}

const KEYWORDS = new Set(['FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT',
  'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']);

/**
 * Which history entries (oldest first) carry a layer, so that they line up with RootFS.Layers. First guess: RUN,
 * COPY, ADD, WORKDIR, imported roots and anything with a size; when that makes too many, zero-size guesses are
 * dropped newest first (WORKDIR before the others: BuildKit leaves it empty when the directory exists).
 */
export function layerCarriers(history: readonly HistoryEntry[], layerCount: number): boolean[] | null {
  const kw = history.map((h) => keywordOf(readableCreatedBy(h.createdBy)));
  const carries = history.map((h, i) => h.size > 0 || LAYER_KEYWORDS.has(kw[i]!) || kw[i] === '');
  let n = carries.filter(Boolean).length;
  for (const pass of ['WORKDIR', 'any'] as const) {
    for (let i = history.length - 1; i >= 0 && n > layerCount; i--) {
      if (carries[i] && history[i]!.size === 0 && (pass === 'any' || kw[i] === 'WORKDIR')) {
        carries[i] = false;
        n--;
      }
    }
  }
  return n === layerCount ? carries : null;
}

export interface RowsInput {
  readonly image: ImageInspect;
  /** As the daemon returns it: newest first. */
  readonly history: readonly HistoryEntry[];
  /** The base image, when known: its history length gives the base rows. */
  readonly base: { readonly ref: string; readonly historyLength: number } | null;
  /** The Dockerfile to tie rows to. */
  readonly dockerfile: {
    readonly uri: string;
    readonly model: DockerfileModel;
    /** Target stage index. */
    readonly target: number;
    /** The engine's prediction for it (steps with 1-based lines), when available. */
    readonly steps: readonly StepReport[] | null;
  } | null;
}

export function layerRows(input: RowsInput): LayerRow[] {
  const hist = [...input.history].reverse();
  const carriers = layerCarriers(hist, input.image.layers.length);
  const baseLen = input.base ? Math.min(input.base.historyLength, hist.length) : 0;
  const lineage = input.dockerfile ? lineageOf(input.dockerfile.model, input.dockerfile.target) : null;
  // `docker import` leaves no instruction, only a comment ("Imported from -"): show that instead of nothing.
  const readable = hist.map((h) => readableCreatedBy(h.createdBy) || sanitise(h.comment, 512).trim());
  const tie = lineage ? align(readable.slice(baseLen), lineage.steps) : [];
  const byLine = new Map<number, StepReport>();
  for (const s of input.dockerfile?.steps ?? []) byLine.set(s.line, s);

  let cumulative = 0;
  let layer = 0;
  return hist.map((h, i) => {
    const carries = carriers ? carriers[i]! : h.size > 0;
    const diffId = carriers && carries ? input.image.layers[layer++] ?? null : null;
    cumulative += h.size;
    const base = i < baseLen;
    const inst = base ? lineage?.from ?? null : tie[i - baseLen] ?? null;
    const step = inst && !base ? byLine.get(inst.line) : undefined;
    const df = input.dockerfile;
    return {
      index: i,
      diffId,
      created: h.created > 0 ? new Date(h.created * 1000).toISOString() : null,
      createdBy: readable[i]!,
      createdByRaw: sanitise(h.createdBy),
      comment: sanitise(h.comment, 512),
      size: h.size,
      cumulativeSize: cumulative,
      empty: !carries,
      base,
      baseImage: base && input.base ? sanitise(input.base.ref, 512) : null,
      source: inst && df ? { uri: df.uri, line: inst.line - 1, endLine: inst.endLine - 1 } : null,
      wouldRebuild: step && step.cache !== 'unknown' ? step.cache === 'miss' : null,
      rebuildReason: step ? step.reason : null,
    };
  });
}

/** The target stage with the stages it builds on: root FROM, then every body instruction in build order. */
export function lineageOf(model: DockerfileModel, target: number): { from: ParsedInstruction; fromRef: string; steps: ParsedInstruction[] } | null {
  const chain: number[] = [];
  for (let s: number | null = target; s !== null && chain.length <= model.stages.length; ) {
    chain.unshift(s);
    const st = model.stages[s];
    if (!st) return null;
    s = stageRef(model, st.from.args.split(/\s+/).filter((w) => !w.startsWith('--'))[0] ?? '', s);
  }
  const root = model.stages[chain[0]!]!;
  const fromRef = root.from.args.split(/\s+/).filter((w) => !w.startsWith('--'))[0] ?? '';
  return { from: root.from, fromRef, steps: chain.flatMap((s) => [...model.stages[s]!.body]) };
}

/** Text an instruction leaves in history, for comparison with readableCreatedBy (RUN: its command). */
function stepText(inst: ParsedInstruction): string {
  return `${inst.keyword} ${inst.args}`.replace(/\s+/g, ' ').trim();
}

/**
 * Lines up history entries (after the base) with Dockerfile instructions: a longest common subsequence where an
 * equal text scores 3 and an equal keyword 2 (ARG/ONBUILD… leave entries with one builder and not the other).
 */
export function align(rows: readonly string[], steps: readonly ParsedInstruction[]): Array<ParsedInstruction | null> {
  const n = rows.length;
  const m = steps.length;
  const score = (i: number, j: number): number => {
    const kw = keywordOf(rows[i]!);
    if (kw === '' || kw !== steps[j]!.keyword) return 0;
    return rows[i] === stepText(steps[j]!) ? 3 : 2;
  };
  const dp: Int32Array[] = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const s = score(i, j);
      dp[i]![j] = Math.max(dp[i + 1]![j]!, dp[i]![j + 1]!, s > 0 ? s + dp[i + 1]![j + 1]! : 0);
    }
  }
  const out: Array<ParsedInstruction | null> = new Array(n).fill(null);
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    const s = score(i, j);
    if (s > 0 && dp[i]![j] === s + dp[i + 1]![j + 1]!) {
      out[i] = steps[j]!;
      i++;
      j++;
    } else if (dp[i]![j] === dp[i + 1]![j]) {
      i++;
    } else {
      j++;
    }
  }
  return out;
}

/** How well an image's history (oldest first, after its base) matches the lineage: aligned steps, exact texts. */
export function matchScore(rows: readonly string[], steps: readonly ParsedInstruction[]): { aligned: number; exact: number } {
  const a = align(rows, steps);
  let aligned = 0;
  let exact = 0;
  a.forEach((inst, i) => {
    if (!inst) return;
    aligned++;
    if (rows[i] === stepText(inst)) exact++;
  });
  return { aligned, exact };
}
