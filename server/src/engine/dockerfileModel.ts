// The Dockerfile as the builders see it: instructions with their line ranges, stages, flags and the exact
// "joined line" Docker's parser produces (which is what ends up in cache keys and image history).
// dockerfile-ast finds instruction boundaries, stages, escape directive and heredocs; the joining rules that
// decide cache keys are Docker's own (buildkit frontend/dockerfile/parser) and are reproduced here.

import { DockerfileParser } from 'dockerfile-ast';
import type { Instruction } from 'dockerfile-ast';

export interface InstructionFlag {
  readonly name: string;
  readonly value: string | null;
}

export interface ParsedInstruction {
  /** Position among all instructions of the file, 0-based. */
  readonly index: number;
  /** Upper-case keyword: 'RUN', 'COPY', … */
  readonly keyword: string;
  /** 1-based first and last line (heredoc bodies and continuations included). */
  readonly line: number;
  readonly endLine: number;
  /** As written, continuation lines trimmed and joined by one space, comments inside dropped. */
  readonly text: string;
  /** Docker's joined line: continuation characters removed, continuation lines appended as they are. */
  readonly dockerLine: string;
  /** Builder flags (`--from=x`, `--chown=…`, `--mount=…`) in written order. */
  readonly flags: readonly InstructionFlag[];
  /** What follows the keyword and the flags, trimmed (Docker's `rest`). */
  readonly args: string;
  /** Exec-form (JSON array) arguments, or null for shell form. */
  readonly json: readonly string[] | null;
  readonly hasHeredoc: boolean;
  /** Stage index, or -1 for ARGs before the first FROM. */
  readonly stageIndex: number;
}

export interface StageModel {
  readonly index: number;
  /** `AS name`, lower-cased as Docker compares it; null when unnamed. */
  readonly name: string | null;
  readonly from: ParsedInstruction;
  /** Instructions after FROM, in order. */
  readonly body: readonly ParsedInstruction[];
}

export interface DockerfileModel {
  readonly escape: string;
  readonly lineEnding: '\n' | '\r\n';
  readonly instructions: readonly ParsedInstruction[];
  /** ARG instructions before the first FROM (global scope). */
  readonly globalArgs: readonly ParsedInstruction[];
  readonly stages: readonly StageModel[];
  /** Problems that stop a precise analysis (no FROM, …) — reported, never thrown. */
  readonly problems: readonly string[];
}

const LAYER_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);

/** Instructions that make a filesystem layer (the `createsLayer` of the CLI's JSON). */
export function createsLayer(keyword: string): boolean {
  return LAYER_KEYWORDS.has(keyword);
}

export function parseDockerfile(content: string): DockerfileModel {
  const text = content.startsWith('\uFEFF') ? content.slice(1) : content;
  const lineEnding = /\r\n/.test(text) ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  // Docker ends lines at LF only; dockerfile-ast (LSP positions) also at a lone CR. Blanking lone CRs for the AST
  // keeps its line numbers on Docker's lines (and `lines`), so instructions never take a neighbour's text.
  const ast = DockerfileParser.parse(text.replace(/\r(?!\n)/g, ' '));
  const escape = ast.getEscapeCharacter() || '\\';
  const instructions: ParsedInstruction[] = [];
  const globalArgs: ParsedInstruction[] = [];
  const stages: { index: number; name: string | null; from: ParsedInstruction; body: ParsedInstruction[] }[] = [];
  const problems: string[] = [];

  for (const inst of ast.getInstructions()) {
    const keyword = inst.getKeyword().toUpperCase();
    const stageIndex = keyword === 'FROM' ? stages.length : stages.length - 1;
    const parsed = parseInstruction(inst, keyword, lines, escape, instructions.length, stageIndex);
    instructions.push(parsed);
    if (keyword === 'FROM') {
      stages.push({ index: stages.length, name: stageName(parsed), from: parsed, body: [] });
    } else if (stages.length === 0) {
      if (keyword === 'ARG') globalArgs.push(parsed);
      else problems.push(`line ${parsed.line}: ${keyword} before the first FROM`);
    } else {
      stages[stages.length - 1]!.body.push(parsed);
    }
  }
  if (stages.length === 0) problems.push('the Dockerfile has no FROM instruction');
  return { escape, lineEnding, instructions, globalArgs, stages, problems };
}

function stageName(from: ParsedInstruction): string | null {
  const words = from.args.split(/\s+/);
  if (words.length >= 3 && words[1]!.toLowerCase() === 'as') return words[2]!.toLowerCase();
  return null;
}

function parseInstruction(
  inst: Instruction,
  keyword: string,
  lines: readonly string[],
  escape: string,
  index: number,
  stageIndex: number,
): ParsedInstruction {
  const range = inst.getRange();
  const first = range.start.line;
  const last = Math.max(first, range.end.line);
  const own = lines.slice(first, last + 1);
  const hasHeredoc = heredocCount(inst) > 0;
  const dockerLine = joinDockerLine(own, escape, hasHeredoc);
  const { flags, rest } = splitFlags(dockerLine.replace(/^\s*\S+/, ''));
  return {
    index,
    keyword,
    line: first + 1,
    endLine: last + 1,
    text: displayText(own, escape, hasHeredoc),
    dockerLine,
    flags,
    args: rest,
    json: parseJsonArray(rest),
    hasHeredoc,
    stageIndex,
  };
}

function heredocCount(inst: Instruction): number {
  const withHeredocs = inst as unknown as { getHeredocs?: () => unknown[] };
  try {
    return typeof withHeredocs.getHeredocs === 'function' ? withHeredocs.getHeredocs().length : 0;
  } catch {
    return 0;
  }
}

const isCommentLine = (l: string): boolean => /^\s*#/.test(l);

/** Removes a trailing continuation character; returns null when the line does not continue. */
function stripContinuation(line: string, escape: string): string | null {
  const e = escape === '`' ? '`' : '\\\\';
  const m = new RegExp(`^(.*?)${e}[ \\t]*$`).exec(line);
  if (!m) return null;
  // Docker's regex `([^\\])\\[ \t]*$` needs a character before the escape; an escaped escape does not continue.
  if (m[1]!.endsWith(escape)) return null;
  return m[1]!;
}

/**
 * Docker's parser joining (parser.go): the first line is left-trimmed; a trailing escape character is removed
 * with the whitespace after it; continuation lines that are comments or blank are skipped; other continuation
 * lines are appended as they are, leading whitespace included. Heredoc bodies follow on their own lines.
 */
export function joinDockerLine(own: readonly string[], escape: string, hasHeredoc: boolean): string {
  let out = '';
  let i = 0;
  let continues = true;
  for (; i < own.length && continues; i++) {
    const raw = i === 0 ? own[i]!.replace(/^\s+/, '') : own[i]!;
    if (i > 0 && (isCommentLine(raw) || raw.trim() === '')) continue;
    const stripped = stripContinuation(raw, escape);
    continues = stripped !== null;
    out += stripped ?? raw;
  }
  if (hasHeredoc && i < own.length) out += '\n' + own.slice(i).join('\n');
  return hasHeredoc ? out : out.trim();
}

function displayText(own: readonly string[], escape: string, hasHeredoc: boolean): string {
  const parts: string[] = [];
  let i = 0;
  let continues = true;
  for (; i < own.length && continues; i++) {
    const raw = own[i]!;
    if (i > 0 && (isCommentLine(raw) || raw.trim() === '')) continue;
    const stripped = stripContinuation(raw, escape);
    continues = stripped !== null;
    const t = (stripped ?? raw).trim();
    if (t !== '') parts.push(t);
  }
  let text = parts.join(' ');
  if (hasHeredoc && i < own.length) text += '\n' + own.slice(i).join('\n');
  return text;
}

/** Docker's extractBuilderFlags: leading `--name[=value]` words; the rest keeps its inner whitespace. */
export function splitFlags(afterKeyword: string): { flags: InstructionFlag[]; rest: string } {
  const flags: InstructionFlag[] = [];
  let s = afterKeyword.replace(/^\s+/, '');
  for (;;) {
    const m = /^--([A-Za-z0-9-]+)(=(\S*))?(\s+|$)/.exec(s);
    if (!m) break;
    flags.push({ name: m[1]!.toLowerCase(), value: m[2] === undefined ? null : m[3]! });
    s = s.slice(m[0].length);
  }
  return { flags, rest: s.trim() };
}

function parseJsonArray(rest: string): string[] | null {
  if (!rest.startsWith('[')) return null;
  try {
    const v: unknown = JSON.parse(rest);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null;
  } catch {
    return null;
  }
}

export function flagValue(inst: ParsedInstruction, name: string): string | null {
  const f = inst.flags.find((x) => x.name === name);
  return f ? (f.value ?? '') : null;
}

/** The stages needed to build `target` (the last stage when null): the target and what it depends on. */
export function stagesNeeded(
  model: DockerfileModel,
  target: string | null,
  resolveFrom: (stage: StageModel) => string,
): { targetIndex: number; needed: Set<number> } | { error: string } {
  let targetIndex = model.stages.length - 1;
  if (target !== null) {
    const t = target.toLowerCase();
    targetIndex = model.stages.findIndex((s) => s.name === t);
    if (targetIndex < 0) {
      const named = model.stages.map((s) => s.name).filter((n): n is string => n !== null);
      return { error: `target stage "${target}" not found (stages: ${named.join(', ') || 'none named'})` };
    }
  }
  const needed = new Set<number>();
  const visit = (i: number): void => {
    if (needed.has(i)) return;
    needed.add(i);
    const stage = model.stages[i]!;
    const dep = stageRef(model, resolveFrom(stage), i);
    if (dep !== null) visit(dep);
    for (const inst of stage.body) {
      if (inst.keyword !== 'COPY' && inst.keyword !== 'ADD' && inst.keyword !== 'RUN') continue;
      for (const ref of stageReferences(inst)) {
        const r = stageRef(model, ref, i);
        if (r !== null) visit(r);
      }
    }
  };
  visit(targetIndex);
  return { targetIndex, needed };
}

/** Names of other stages an instruction reads from: `COPY --from=x`, `RUN --mount=from=x`. */
function stageReferences(inst: ParsedInstruction): string[] {
  const refs: string[] = [];
  for (const f of inst.flags) {
    if (f.name === 'from' && f.value) refs.push(f.value);
    if (f.name === 'mount' && f.value) {
      const m = /(?:^|,)from=([^,]+)/.exec(f.value);
      if (m) refs.push(m[1]!);
    }
  }
  return refs;
}

/** Resolves a stage reference (name or index) seen from stage `from`; only earlier stages count. */
export function stageRef(model: DockerfileModel, ref: string, from: number): number | null {
  const lower = ref.toLowerCase();
  for (let i = 0; i < from; i++) if (model.stages[i]!.name === lower) return i;
  if (/^\d+$/.test(ref)) {
    const n = Number(ref);
    if (n < from) return n;
  }
  return null;
}
