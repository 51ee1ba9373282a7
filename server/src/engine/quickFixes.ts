// Rewrites for the diagnostics of diagnostics.ts, as LSP-shaped text edits over plain text. Pure.
//
// Every fix keeps what it does not need to touch: comments, other instructions, the escape directive (a backtick
// escape gets backtick continuations), line endings (CRLF stays CRLF) and indentation. A fix is offered only when
// the rewrite is safe to make blindly; otherwise the diagnostic stands alone and its message says what to do.
// Applying a fix removes its diagnostic, so a fix cannot be applied twice.

import { parseDockerfile, type DockerfileModel, type ParsedInstruction } from './dockerfileModel';
import {
  cachesLeftBy,
  consecutiveRunGroups,
  copyDest,
  findBroadCopyBeforeInstall,
  runFacts,
  splitLines,
  type CacheKind,
  type ContextFacts,
  type DiagnosticCode,
  type LayerDiagnostic,
  type Range,
} from './diagnostics';

export interface TextEdit {
  readonly range: Range;
  readonly newText: string;
}

export type FileChange =
  | { readonly kind: 'dockerfile'; readonly edits: readonly TextEdit[] }
  /** `rel` is relative to the build context; `create` when the file does not exist yet. */
  | { readonly kind: 'ignoreFile'; readonly rel: string; readonly create: boolean; readonly edits: readonly TextEdit[] };

export interface QuickFix {
  readonly title: string;
  readonly code: DiagnosticCode;
  readonly isPreferred: boolean;
  readonly changes: readonly FileChange[];
}

export interface QuickFixInput {
  readonly text: string;
  readonly model?: DockerfileModel;
  readonly context: ContextFacts | null;
  /** The ignore file to add entries to, with its current text (null: it does not exist yet). */
  readonly ignoreFile: { readonly rel: string; readonly text: string | null } | null;
}

export function quickFixesFor(input: QuickFixInput, diag: LayerDiagnostic): QuickFix[] {
  const model = input.model ?? parseDockerfile(input.text);
  const doc: Doc = { lines: splitLines(input.text), model, eol: model.lineEnding, escape: model.escape };
  const d = diag.data;
  let fix: QuickFix | null = null;
  switch (d.code) {
    case 'LL001':
      fix = moveInstallBeforeCopy(doc, input.context, d.copyLine, d.installLine);
      break;
    case 'LL002':
    case 'LL005':
      fix = addIgnoreEntries(input.ignoreFile, d.entries, d.code);
      break;
    case 'LL003':
      fix = cleanCache(doc, d.line, d.cache);
      break;
    case 'LL004':
      fix = mergeRuns(doc, d.lines);
      break;
  }
  return fix ? [fix] : [];
}

// ---------------------------------------------------------------------------------------------------------------

interface Doc {
  readonly lines: readonly string[];
  readonly model: DockerfileModel;
  readonly eol: string;
  readonly escape: string;
}

const pos = (line: number, character: number): Range['start'] => ({ line, character });
const range = (l1: number, c1: number, l2: number, c2: number): Range => ({ start: pos(l1, c1), end: pos(l2, c2) });
const isCommentOrBlank = (l: string): boolean => /^\s*(#|$)/.test(l);
const instAt = (doc: Doc, line: number): ParsedInstruction | undefined => doc.model.instructions.find((i) => i.line === line);

/** 0-based index of the last line of an instruction that carries code (comments and blank lines skipped). */
function lastCodeLine(doc: Doc, inst: ParsedInstruction): number {
  for (let l = inst.endLine - 1; l >= inst.line - 1; l--) if (!isCommentOrBlank(doc.lines[l]!)) return l;
  return inst.line - 1;
}

/**
 * Where text can be appended to a shell-form RUN without changing what runs: not after a shell comment (it would be
 * commented out), not after a trailing operator or a continuation. Returns the edit range (trailing blanks replaced).
 */
function appendRange(doc: Doc, inst: ParsedInstruction): Range | null {
  if (inst.keyword !== 'RUN' || inst.json !== null || inst.hasHeredoc) return null;
  if (runFacts(inst).scan.hasComment) return null;
  const l = lastCodeLine(doc, inst);
  const text = doc.lines[l]!;
  const trimmed = text.trimEnd();
  if (/(&&|\|\||[;&|])$/.test(trimmed) || trimmed.endsWith(doc.escape)) return null;
  return range(l, trimmed.length, l, text.length);
}

// ---- LL001 ----

/** Instructions a RUN does not read: moving a RUN above them changes nothing it sees. */
const INERT = new Set(['LABEL', 'EXPOSE', 'CMD', 'ENTRYPOINT', 'HEALTHCHECK', 'STOPSIGNAL', 'MAINTAINER']);
const NODE_MANAGERS = new Set(['npm', 'yarn', 'pnpm', 'bun']);

function moveInstallBeforeCopy(doc: Doc, ctx: ContextFacts | null, copyLine: number, installLine: number): QuickFix | null {
  const found = findBroadCopyBeforeInstall(doc.model).find((f) => f.copy.line === copyLine && f.install.line === installLine);
  if (!found || !found.facts.movable || !found.facts.shell) return null;
  const { copy, install, facts } = found;
  const between = doc.model.instructions.filter((i) => i.line > copy.line && i.line < install.line);
  if (between.some((i) => !INERT.has(i.keyword))) return null;

  // Manifests: required ones must be in the context; optional ones go along when present.
  const wanted = new Map<string, boolean>();
  for (const ins of facts.installs) for (const m of ins.manifests) wanted.set(m.path, (wanted.get(m.path) ?? false) || m.required);
  const manifests: string[] = [];
  for (const [p, required] of wanted) {
    if (p.startsWith('/') || p.includes('..') || p.includes('$')) return null;
    const present = ctx ? ctx.entries.has(p) : required;
    if (required && ctx && !present) return null;
    if (present) manifests.push(p);
  }
  // A workspace (monorepo) needs every member's manifest: too much to guess.
  if (ctx && facts.installs.some((i) => NODE_MANAGERS.has(i.manager))) {
    for (const rel of ctx.entries.keys()) {
      if (rel.endsWith('/package.json') && !rel.includes('node_modules/') && rel.split('/').length <= 4) return null;
    }
    if (ctx.entries.has('pnpm-workspace.yaml')) return null;
  }

  const copyText = doc.lines[copy.line - 1]!;
  const indent = /^\s*/.exec(copyText)![0];
  // Manifests are plain files: COPY even when the broad copy was an ADD; keep the author's keyword case.
  const keyword = isUpper(copyText) ? 'COPY' : 'copy';
  const flags = copy.flags.filter((f) => ['chown', 'chmod', 'link'].includes(f.name)).map((f) => `--${f.name}${f.value !== null ? `=${f.value}` : ''} `).join('');
  const dest = copyDest(copy);
  const destDir = dest === '.' ? './' : dest.endsWith('/') ? dest : `${dest}/`;
  const byDir = new Map<string, string[]>();
  const dirCopies: string[] = [];
  for (const m of manifests) {
    if (ctx?.entries.get(m)?.kind === 'dir') {
      dirCopies.push(`${indent}${keyword} ${flags}${m} ${destDir}${m}/`);
      continue;
    }
    const dir = m.includes('/') ? m.slice(0, m.lastIndexOf('/')) : '';
    byDir.set(dir, [...(byDir.get(dir) ?? []), m]);
  }
  const copies = [
    ...[...byDir].sort(([a], [b]) => a.localeCompare(b)).map(([dir, files]) => `${indent}${keyword} ${flags}${files.join(' ')} ${dir === '' ? destDir : `${destDir}${dir}/`}`),
    ...dirCopies,
  ];

  // The RUN moves with the comment lines right above it (they describe it); a blank line ends that block.
  let first = install.line - 1;
  while (first - 1 > copy.endLine - 1 && /^\s*#/.test(doc.lines[first - 1]!) && !isDirective(doc, first - 1)) first--;
  const block = doc.lines.slice(first, install.endLine);
  const eol = doc.eol;
  const inserted = [...copies, ...block].map((l) => l + eol).join('');
  const hasNext = install.endLine < doc.lines.length;
  const del = hasNext
    ? range(first, 0, install.endLine, 0)
    : range(first - 1, doc.lines[first - 1]!.length, install.endLine - 1, doc.lines[install.endLine - 1]!.length);
  const run = `run \`${facts.installs.map((i) => i.label).join(', ')}\` before \`${copy.text}\``;
  return {
    title: manifests.length > 0 ? `Copy ${manifests.join(', ')} and ${run}` : run[0]!.toUpperCase() + run.slice(1),
    code: 'LL001',
    isPreferred: true,
    changes: [{ kind: 'dockerfile', edits: [{ range: range(copy.line - 1, 0, copy.line - 1, 0), newText: inserted }, { range: del, newText: '' }] }],
  };
}

function isUpper(line: string): boolean {
  const w = /^\s*(\S+)/.exec(line)?.[1] ?? '';
  return w === w.toUpperCase();
}

/** Parser directives (`# escape=`, `# syntax=`) only count at the top; never move them. */
function isDirective(doc: Doc, line0: number): boolean {
  const first = doc.model.instructions[0];
  return first !== undefined && line0 < first.line - 1 && /^\s*#\s*[a-z]+\s*=/i.test(doc.lines[line0]!);
}

// ---- LL002 / LL005 ----

function addIgnoreEntries(file: QuickFixInput['ignoreFile'], entries: readonly string[], code: DiagnosticCode): QuickFix | null {
  if (!file || entries.length === 0) return null;
  const text = file.text ?? '';
  const lines = splitLines(text);
  const existing = new Set(lines.map((l) => l.trim().replace(/^\/+/, '').replace(/\/+$/, '')));
  const add = entries.filter((e) => !existing.has(e));
  if (add.length === 0) return null;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const last = lines.length - 1;
  const lead = text === '' || text.endsWith('\n') ? '' : eol;
  const what = add.map((e) => `\`${e}\``).join(', ');
  return {
    title: file.text === null ? `Create ${file.rel} excluding ${what}` : `Add ${what} to ${file.rel}`,
    code,
    isPreferred: true,
    changes: [{
      kind: 'ignoreFile',
      rel: file.rel,
      create: file.text === null,
      edits: [{ range: range(last, lines[last]!.length, last, lines[last]!.length), newText: lead + add.join(eol) + eol }],
    }],
  };
}

// ---- LL003 ----

const CLEANUP: Partial<Record<CacheKind, string>> = {
  'apt-lists': 'rm -rf /var/lib/apt/lists/*',
  npm: 'npm cache clean --force',
  yarn: 'yarn cache clean',
};
const FLAG: Partial<Record<CacheKind, { re: RegExp; flag: string }>> = {
  // `uv pip install` takes `--no-cache`, not pip's flag: the look-behind leaves it alone.
  pip: { re: /(?<!\buv\s+)(?<![\w./-])(?:pip[0-9.]*|python[0-9.]*\s+-m\s+pip)\s+install\b/g, flag: '--no-cache-dir' },
  apk: { re: /(?<![\w./-])apk\s+add\b/g, flag: '--no-cache' },
};

function cleanCache(doc: Doc, line: number, kind: CacheKind): QuickFix | null {
  const inst = instAt(doc, line);
  if (!inst || !cachesLeftBy(doc.model, inst).includes(kind)) return null;
  const cleanup = CLEANUP[kind];
  if (cleanup) {
    const r = appendRange(doc, inst);
    if (!r) return null;
    return { title: `Run \`${cleanup}\` in the same RUN`, code: 'LL003', isPreferred: true, changes: [{ kind: 'dockerfile', edits: [{ range: r, newText: ` && ${cleanup}` }] }] };
  }
  const f = FLAG[kind]!;
  if (inst.json !== null) return null;
  const edits: TextEdit[] = [];
  for (let l = inst.line - 1; l < inst.endLine; l++) {
    const text = doc.lines[l]!;
    if (isCommentOrBlank(text) && l > inst.line - 1) continue;
    for (const m of text.matchAll(f.re)) {
      const end = m.index! + m[0].length;
      if (!commandSegment(doc, inst, l, end).split(/\s+/).includes(f.flag)) edits.push({ range: range(l, end, l, end), newText: ` ${f.flag}` });
    }
  }
  if (edits.length === 0) return null;
  return { title: `Add \`${f.flag}\``, code: 'LL003', isPreferred: true, changes: [{ kind: 'dockerfile', edits }] };
}

/** The rest of the simple command from (line, col): up to the next `&&`, `||`, `;` or `|`, across continuations. */
function commandSegment(doc: Doc, inst: ParsedInstruction, line0: number, col: number): string {
  let out = '';
  for (let l = line0; l < inst.endLine; l++) {
    const raw = l === line0 ? doc.lines[l]!.slice(col) : doc.lines[l]!;
    if (l > line0 && isCommentOrBlank(raw)) continue;
    const stop = /&&|\|\||[;|]/.exec(raw);
    if (stop) return out + raw.slice(0, stop.index);
    const t = raw.trimEnd();
    if (!t.endsWith(doc.escape)) return out + t;
    out += t.slice(0, -1) + ' ';
  }
  return out;
}

// ---- LL004 ----

/** Shell state one RUN sets that would leak into the next once joined (`cd`, `export`, …), or an early exit. */
const STATEFUL = new Set(['cd', 'pushd', 'popd', 'export', 'unset', 'source', '.', 'umask', 'ulimit', 'alias', 'shopt', 'exit', 'exec', 'trap']);

function mergeRuns(doc: Doc, lines: readonly number[]): QuickFix | null {
  const group = consecutiveRunGroups(doc.model).find((g) => g.length === lines.length && g.every((i, k) => i.line === lines[k]));
  if (!group) return null;
  const stage = doc.model.stages[group[0]!.stageIndex];
  const shell = stage?.body.filter((i) => i.keyword === 'SHELL' && i.line < group[0]!.line).pop();
  if (shell && /powershell|pwsh/i.test(shell.args)) return null;
  const edits: TextEdit[] = [];
  const indent = continuationIndent(doc, group[0]!);
  for (let k = 0; k < group.length; k++) {
    const inst = group[k]!;
    if (k < group.length - 1) {
      if (runFacts(inst).scan.commands.some((c) => STATEFUL.has(c.words[0]!))) return null;
      const r = appendRange(doc, inst);
      if (!r) return null;
      edits.push({ range: r, newText: ` && ${doc.escape}` });
      // Blank lines between would become empty continuation lines, which Docker warns about.
      for (let l = inst.endLine; l < group[k + 1]!.line - 1; l++) {
        if (doc.lines[l]!.trim() === '') edits.push({ range: range(l, 0, l + 1, 0), newText: '' });
      }
    }
    if (k > 0) {
      const first = doc.lines[inst.line - 1]!;
      const m = /^\s*RUN((?:\s+--\S+)*)\s+/i.exec(first);
      if (!m || first.slice(m[0].length).trim() === '' || first.slice(m[0].length).trim() === doc.escape) return null;
      edits.push({ range: range(inst.line - 1, 0, inst.line - 1, m[0].length), newText: indent });
    }
  }
  return { title: `Join these ${group.length} RUN instructions into one layer`, code: 'LL004', isPreferred: true, changes: [{ kind: 'dockerfile', edits }] };
}

/** Indentation of the first RUN's own continuation lines, else four spaces. */
function continuationIndent(doc: Doc, inst: ParsedInstruction): string {
  for (let l = inst.line; l < inst.endLine; l++) {
    const t = doc.lines[l]!;
    if (!isCommentOrBlank(t)) {
      const ws = /^\s*/.exec(t)![0];
      if (ws !== '') return ws;
    }
  }
  return '    ';
}
