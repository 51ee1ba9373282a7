// Size and cache rules over a Dockerfile: what makes the next builds slower or the image bigger, and that other
// Dockerfile tools do not already report (no syntax or casing checks here). Pure: text and plain data in, plain
// LSP-shaped diagnostics out; the language server adapts them, quickFixes.ts rewrites what they point at.

import { parseDockerfile, type DockerfileModel, type ParsedInstruction } from './dockerfileModel';
import { formatBytes } from './report';

// ---------------------------------------------------------------------------------------------------------------
// Shapes (0-based lines/characters, like LSP)

export interface Position {
  readonly line: number;
  readonly character: number;
}
export interface Range {
  readonly start: Position;
  readonly end: Position;
}
export type Severity = 'error' | 'warning' | 'information' | 'hint';

export type DiagnosticCode = 'LL001' | 'LL002' | 'LL003' | 'LL004' | 'LL005';

export interface RuleInfo {
  readonly title: string;
  readonly severity: Severity;
}

export const RULES: Readonly<Record<DiagnosticCode, RuleInfo>> = {
  LL001: { title: 'Broad COPY before a dependency install', severity: 'warning' },
  LL002: { title: 'Dockerfile or .dockerignore copied into the image', severity: 'warning' },
  LL003: { title: 'Package cache left in the layer', severity: 'warning' },
  LL004: { title: 'Consecutive RUN instructions', severity: 'information' },
  LL005: { title: 'Large or volatile path sent in the build context', severity: 'warning' },
};

/** The README documents each rule under an anchor named after its code. */
export const DOCS_URL = 'https://github.com/layerlens/layerlens';
export function ruleHref(code: DiagnosticCode): string {
  return `${DOCS_URL}#${code.toLowerCase()}`;
}

export type CacheKind = 'apt-lists' | 'pip' | 'npm' | 'yarn' | 'apk';

/** Where each package cache lives in an image (no leading '/'), for measuring it in a built layer. */
export const CACHE_PATHS: Readonly<Record<CacheKind, readonly string[]>> = {
  'apt-lists': ['var/lib/apt/lists/'],
  pip: ['root/.cache/pip/'],
  npm: ['root/.npm/'],
  yarn: ['usr/local/share/.cache/yarn/', 'root/.cache/yarn/'],
  apk: ['var/cache/apk/'],
};

export type DiagnosticData =
  | { readonly code: 'LL001'; readonly copyLine: number; readonly installLine: number }
  | { readonly code: 'LL002'; readonly entries: readonly string[] }
  | { readonly code: 'LL003'; readonly line: number; readonly cache: CacheKind }
  | { readonly code: 'LL004'; readonly lines: readonly number[] }
  | { readonly code: 'LL005'; readonly entries: readonly string[] };

export interface LayerDiagnostic {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly range: Range;
  readonly message: string;
  /** Other Dockerfile lines (1-based) the message is about. */
  readonly related: readonly { readonly line: number; readonly message: string }[];
  readonly data: DiagnosticData;
}

/** A context entry as rules need it: from the context index, after .dockerignore. */
export interface ContextEntryFact {
  readonly kind: 'file' | 'dir' | 'symlink' | 'other';
  readonly size: number;
}

export interface ContextFacts {
  /** Entries COPY can see, by context-relative '/'-separated path. */
  readonly entries: ReadonlyMap<string, ContextEntryFact>;
  /** The Dockerfile's path inside the context; null when it lies outside. */
  readonly dockerfileRel: string | null;
  /** The ignore file in effect, context-relative; null when there is none. */
  readonly dockerignoreRel: string | null;
  readonly builder: 'buildkit' | 'classic';
}

export interface DiagnosticsInput {
  readonly text: string;
  /** The parsed text, when the caller already has it. */
  readonly model?: DockerfileModel;
  /** Null when the build context is not known (yet): context rules stay quiet. */
  readonly context: ContextFacts | null;
  /** Package-cache bytes measured in the layer each RUN (1-based line) made in the last build. */
  readonly cacheBytes?: ReadonlyMap<number, Readonly<Partial<Record<CacheKind, number>>>>;
}

// ---------------------------------------------------------------------------------------------------------------
// Shell reading: enough of POSIX sh to find commands, never to run them.

export interface ShellCommand {
  /** Words with quotes removed; leading `VAR=x`, `sudo`, `env` and `time` dropped. */
  readonly words: readonly string[];
}

export interface ShellScan {
  readonly commands: readonly ShellCommand[];
  /** A `#` comment appears outside quotes: appending to the line would land inside it. */
  readonly hasComment: boolean;
}

const WRAPPERS = new Set(['sudo', 'env', 'time', 'nice', 'nohup', 'exec']);

export function scanShell(src: string): ShellScan {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let hasComment = false;
  const endWord = (): void => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  const endCommand = (): void => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === "'") {
      const close = src.indexOf("'", i + 1);
      const end = close < 0 ? src.length : close;
      word += src.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < src.length && src[j] !== '"'; j++) {
        if (src[j] === '\\' && j + 1 < src.length) j++;
        word += src[j];
      }
      inWord = true;
      i = j;
    } else if (c === '\\') {
      if (src[i + 1] !== '\n' && i + 1 < src.length) {
        word += src[i + 1];
        inWord = true;
      }
      i++;
    } else if (c === '#' && !inWord) {
      hasComment = true;
      const nl = src.indexOf('\n', i);
      i = (nl < 0 ? src.length : nl) - 1;
    } else if (c === '$' && src[i + 1] === '(') {
      // Command substitution stays one word: its inner commands run in a subshell we do not need.
      let depth = 0;
      let j = i + 1;
      for (; j < src.length; j++) {
        if (src[j] === '(') depth++;
        else if (src[j] === ')' && --depth === 0) break;
      }
      word += src.slice(i, j + 1);
      inWord = true;
      i = j;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      endWord();
    } else if (c === '\n' || c === ';' || c === '&' || c === '|' || c === '(' || c === ')') {
      endCommand();
    } else {
      word += c;
      inWord = true;
    }
  }
  endCommand();
  return { commands: commands.map((w) => ({ words: stripWrappers(w) })).filter((c) => c.words.length > 0), hasComment };
}

function stripWrappers(words: readonly string[]): string[] {
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) i++;
    else if (WRAPPERS.has(w)) {
      i++;
      while (i < words.length && words[i]!.startsWith('-')) i++;
    } else break;
  }
  return words.slice(i);
}

// ---------------------------------------------------------------------------------------------------------------
// Dependency installs

export type PackageManager =
  | 'npm' | 'yarn' | 'pnpm' | 'bun' | 'pip' | 'poetry' | 'uv' | 'pipenv' | 'go' | 'cargo' | 'bundler' | 'composer'
  | 'maven' | 'gradle' | 'apt' | 'apk';

export interface InstallCommand {
  readonly manager: PackageManager;
  /** What it is called in messages, e.g. `npm ci`. */
  readonly label: string;
  /** Context files it reads besides sources: required ones must exist, optional ones are copied when present. */
  readonly manifests: readonly { readonly path: string; readonly required: boolean }[];
  /** It needs nothing but its manifests, so running it before the sources are copied is safe. */
  readonly movable: boolean;
}

const PY_REQUIREMENT_FLAGS = new Set(['-r', '--requirement', '-c', '--constraint']);

const OPTIONAL_MANIFESTS: Readonly<Partial<Record<PackageManager, readonly string[]>>> = {
  npm: ['package-lock.json', 'npm-shrinkwrap.json', '.npmrc'],
  yarn: ['yarn.lock', '.yarnrc', '.yarnrc.yml', '.npmrc', '.yarn/releases'],
  pnpm: ['pnpm-lock.yaml', '.npmrc', '.pnpmfile.cjs'],
  bun: ['bun.lockb', 'bun.lock', 'bunfig.toml'],
  poetry: ['poetry.lock', 'poetry.toml'],
  uv: ['uv.lock', '.python-version'],
  pipenv: ['Pipfile.lock'],
  go: ['go.sum'],
  bundler: ['Gemfile.lock', '.ruby-version'],
  composer: ['composer.lock'],
  maven: ['mvnw', '.mvn'],
};

function withManifests(manager: PackageManager, required: readonly string[]): InstallCommand['manifests'] {
  return [...required.map((path) => ({ path, required: true })), ...(OPTIONAL_MANIFESTS[manager] ?? []).map((path) => ({ path, required: false }))];
}

function isPip(words: readonly string[]): number {
  // `pip install`, `pip3.12 install`, `python -m pip install`; `uv pip install` is uv's own (different flags).
  if (/^pip[0-9.]*$/.test(words[0] ?? '')) return 1;
  if (/^python[0-9.]*$/.test(words[0] ?? '') && words[1] === '-m' && words[2] === 'pip') return 3;
  return -1;
}

/** The dependency install a simple command performs, if any. */
export function installOf(words: readonly string[]): InstallCommand | null {
  const [w0 = '', w1 = '', w2 = ''] = words;
  const rest = words.slice(2);
  const args = rest.filter((w) => !w.startsWith('-'));
  const label = (n: number): string => words.slice(0, n).join(' ');
  const node = (m: PackageManager, n: number, explicit: boolean): InstallCommand =>
    explicit
      ? { manager: m, label: label(n), manifests: [], movable: true }
      : { manager: m, label: label(n), manifests: withManifests(m, ['package.json']), movable: true };
  if (w0 === 'npm' && ['install', 'i', 'ci', 'add', 'install-clean'].includes(w1)) return node('npm', 2, args.length > 0);
  const yarnInfo = ['--version', '-v', '--help', '-h'].includes(w1);
  if (w0 === 'yarn' && !yarnInfo && (w1 === '' || w1 === 'install' || w1.startsWith('-'))) return node('yarn', w1 === 'install' ? 2 : 1, false);
  if (w0 === 'yarn' && w1 === 'global' && w2 === 'add') return node('yarn', 3, true);
  if (w0 === 'pnpm' && ['install', 'i', 'add'].includes(w1)) return node('pnpm', 2, w1 === 'add' || args.length > 0);
  if (w0 === 'bun' && ['install', 'i'].includes(w1)) return node('bun', 2, args.length > 0);
  const pip = isPip(words);
  if (pip >= 0 && words[pip] === 'install') {
    const after = words.slice(pip + 1);
    const files: string[] = [];
    let needsSources = false;
    for (let i = 0; i < after.length; i++) {
      const w = after[i]!;
      const eq = /^(--requirement|--constraint)=(.+)$/.exec(w);
      if (eq) files.push(eq[2]!);
      else if (PY_REQUIREMENT_FLAGS.has(w) && after[i + 1]) files.push(after[++i]!);
      else if (/^-r./.test(w)) files.push(w.slice(2));
      else if (w === '-e' || w === '--editable' || w === '.' || w.startsWith('./') || w.startsWith('/') || w.startsWith('..')) needsSources = true;
    }
    return { manager: 'pip', label: words.slice(0, pip + 1).join(' '), manifests: files.map((path) => ({ path, required: true })), movable: !needsSources };
  }
  if (w0 === 'poetry' && w1 === 'install') {
    return { manager: 'poetry', label: label(2), manifests: withManifests('poetry', ['pyproject.toml']), movable: words.includes('--no-root') };
  }
  if (w0 === 'uv' && w1 === 'sync') {
    return { manager: 'uv', label: label(2), manifests: withManifests('uv', ['pyproject.toml']), movable: words.includes('--no-install-project') };
  }
  if (w0 === 'uv' && w1 === 'pip' && w2 === 'install') {
    const local = rest.slice(1).some((w) => w === '.' || w === '-e' || w.startsWith('./'));
    return { manager: 'uv', label: label(3), manifests: [], movable: !local && !rest.some((w) => w === '-r' || w.startsWith('--requirement')) };
  }
  if (w0 === 'pipenv' && (w1 === 'install' || w1 === 'sync')) return { manager: 'pipenv', label: label(2), manifests: withManifests('pipenv', ['Pipfile']), movable: true };
  if (w0 === 'go' && w1 === 'mod' && w2 === 'download') return { manager: 'go', label: label(3), manifests: withManifests('go', ['go.mod']), movable: true };
  // cargo resolves targets from the sources: without them it fails, so no safe move exists (a dummy main does).
  if (w0 === 'cargo' && ['build', 'fetch', 'install'].includes(w1)) return { manager: 'cargo', label: label(2), manifests: [], movable: false };
  if ((w0 === 'bundle' || w0 === 'bundler') && w1 === 'install') return { manager: 'bundler', label: label(2), manifests: withManifests('bundler', ['Gemfile']), movable: true };
  // Composer scripts (post-install) usually run project code, so only `--no-scripts` installs move safely.
  if (w0 === 'composer' && w1 === 'install') return { manager: 'composer', label: label(2), manifests: withManifests('composer', ['composer.json']), movable: words.includes('--no-scripts') };
  if (w0 === 'mvn' || w0 === './mvnw' || w0 === 'mvnw') {
    const offline = words.some((w) => /^dependency:(go-offline|resolve|resolve-plugins)$/.test(w));
    return { manager: 'maven', label: words.slice(0, 2).join(' '), manifests: withManifests('maven', ['pom.xml']), movable: offline };
  }
  if (w0 === 'gradle' || w0 === './gradlew' || w0 === 'gradlew') return { manager: 'gradle', label: label(2), manifests: [], movable: false };
  if ((w0 === 'apt-get' || w0 === 'apt') && (w1 === 'install' || words.slice(1).includes('install'))) return { manager: 'apt', label: `${w0} install`, manifests: [], movable: true };
  if (w0 === 'apk' && words.slice(1).includes('add')) return { manager: 'apk', label: 'apk add', manifests: [], movable: true };
  return null;
}

/** Commands that may share a RUN with an install without tying it to the sources. */
function isInstallHelper(words: readonly string[]): boolean {
  const [w0 = '', w1 = ''] = words;
  if ((w0 === 'apt-get' || w0 === 'apt') && ['update', 'clean', 'autoremove', 'autoclean', 'upgrade', 'dist-upgrade'].includes(w1)) return true;
  if (w0 === 'apk' && ['update', 'upgrade'].includes(w1)) return true;
  if (w0 === 'rm' || w0 === 'true' || w0 === 'echo') return true;
  if ((w0 === 'npm' || w0 === 'yarn' || w0 === 'pnpm') && w1 === 'cache') return true;
  if (w0 === 'set') return true;
  return false;
}

export interface RunFacts {
  readonly shell: boolean;
  readonly scan: ShellScan;
  readonly installs: readonly InstallCommand[];
  /** Every command is an install or a helper, and every install is movable. */
  readonly movable: boolean;
}

/** What a RUN does, as far as these rules care. */
export function runFacts(inst: ParsedInstruction): RunFacts {
  const src = inst.json ? inst.json.join(' ') : inst.args;
  const scan = scanShell(src);
  const installs: InstallCommand[] = [];
  let movable = true;
  for (const c of scan.commands) {
    const i = installOf(c.words);
    if (i) {
      installs.push(i);
      if (!i.movable) movable = false;
    } else if (!isInstallHelper(c.words)) movable = false;
  }
  return { shell: inst.json === null, scan, installs, movable: movable && installs.length > 0 };
}

// ---------------------------------------------------------------------------------------------------------------
// COPY sources

/** Source arguments of a COPY/ADD from the build context; null for `--from` copies and exec-form oddities. */
export function contextSources(inst: ParsedInstruction): string[] | null {
  if (inst.keyword !== 'COPY' && inst.keyword !== 'ADD') return null;
  if (inst.flags.some((f) => f.name === 'from')) return null;
  if (inst.hasHeredoc) return null;
  const words = inst.json ?? inst.args.split(/\s+/).filter((w) => w !== '');
  if (words.length < 2) return null;
  return words.slice(0, -1).filter((w) => !/^[a-z]+:\/\//i.test(w)); // ADD of a URL reads no context
}

export function copyDest(inst: ParsedInstruction): string {
  const words = inst.json ?? inst.args.split(/\s+/).filter((w) => w !== '');
  return words[words.length - 1] ?? '.';
}

function normSource(s: string): string {
  let r = s;
  while (r.startsWith('./')) r = r.slice(2);
  r = r.replace(/\/+$/, '');
  return r === '.' ? '' : r;
}

/** The source set takes (almost) the whole context: `.`, `./`, `*`. */
export function isBroadCopy(inst: ParsedInstruction): boolean {
  const src = contextSources(inst);
  return src !== null && src.some((s) => ['', '*'].includes(normSource(s)));
}

function globSegment(pattern: string): RegExp {
  const re = pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${re}$`);
}

/** A COPY source includes this context path (itself or something above it). */
export function sourceCovers(source: string, rel: string): boolean {
  const s = normSource(source);
  if (s === '') return true;
  const sp = s.split('/');
  const rp = rel.split('/');
  if (sp.length > rp.length) return false;
  return sp.every((seg, i) => (/[*?[]/.test(seg) ? globSegment(seg).test(rp[i]!) : seg === rp[i]));
}

function coveringCopies(model: DockerfileModel, rel: string): ParsedInstruction[] {
  return model.instructions.filter((i) => (contextSources(i) ?? []).some((s) => sourceCovers(s, rel)));
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const lineRange = (lines: readonly string[], line1: number): Range => {
  const text = lines[line1 - 1] ?? '';
  const start = text.length - text.trimStart().length;
  return { start: { line: line1 - 1, character: start }, end: { line: line1 - 1, character: text.trimEnd().length } };
};

export function splitLines(text: string): string[] {
  return text.split(/\r?\n/);
}

function stageOf(model: DockerfileModel, inst: ParsedInstruction): readonly ParsedInstruction[] {
  return inst.stageIndex < 0 ? model.globalArgs : [model.stages[inst.stageIndex]!.from, ...model.stages[inst.stageIndex]!.body];
}

const short = (inst: ParsedInstruction): string => {
  const t = inst.text.split('\n')[0]!;
  return t.length > 60 ? `${t.slice(0, 57)}…` : t;
};

// ---------------------------------------------------------------------------------------------------------------
// The rules

export function computeDiagnostics(input: DiagnosticsInput): LayerDiagnostic[] {
  const model = input.model ?? parseDockerfile(input.text);
  const lines = splitLines(input.text);
  return [
    ...broadCopyBeforeInstall(model, lines),
    ...buildFilesCopied(model, lines, input.context),
    ...cachesLeft(model, lines, input.cacheBytes),
    ...consecutiveRuns(model, lines),
    ...volatileContextPaths(model, lines, input.context),
  ].sort((a, b) => a.range.start.line - b.range.start.line || a.code.localeCompare(b.code));
}

/** LL001: the broad COPY and the first install after it, per stage. */
export function findBroadCopyBeforeInstall(model: DockerfileModel): { copy: ParsedInstruction; install: ParsedInstruction; facts: RunFacts }[] {
  const out: { copy: ParsedInstruction; install: ParsedInstruction; facts: RunFacts }[] = [];
  for (const stage of model.stages) {
    let copy: ParsedInstruction | null = null;
    for (const inst of stage.body) {
      if (copy === null && isBroadCopy(inst)) copy = inst;
      else if (copy !== null && inst.keyword === 'RUN') {
        const facts = runFacts(inst);
        if (facts.installs.length > 0) {
          out.push({ copy, install: inst, facts });
          break;
        }
      }
    }
  }
  return out;
}

function broadCopyBeforeInstall(model: DockerfileModel, lines: readonly string[]): LayerDiagnostic[] {
  return findBroadCopyBeforeInstall(model).map(({ copy, install, facts }) => {
    const what = facts.installs.map((i) => `\`${i.label}\``).join(', ');
    const system = facts.installs.every((i) => i.manager === 'apt' || i.manager === 'apk');
    return {
      code: 'LL001' as const,
      severity: RULES.LL001.severity,
      range: lineRange(lines, copy.line),
      message:
        `\`${short(copy)}\` comes before ${what} (line ${install.line}): every source edit ` +
        (system ? 'reinstalls these packages. Install them before copying the sources.' : 'reinstalls every dependency. Copy the dependency manifests and install first, then copy the sources.'),
      related: [{ line: install.line, message: `${what} runs after the broad copy` }],
      data: { code: 'LL001' as const, copyLine: copy.line, installLine: install.line },
    };
  });
}

/** LL002: paths of the Dockerfile and ignore file a COPY takes in (context-relative), per covering COPY. */
export function buildFilesInContext(model: DockerfileModel, ctx: ContextFacts): { copy: ParsedInstruction; paths: string[] }[] {
  const files = [ctx.dockerfileRel, ctx.dockerignoreRel].filter((p): p is string => p !== null && ctx.entries.has(p));
  const byCopy = new Map<ParsedInstruction, string[]>();
  for (const f of files) {
    for (const c of coveringCopies(model, f)) {
      // Naming the file itself is deliberate; only sets that take it in by accident count.
      if ((contextSources(c) ?? []).some((s) => normSource(s) === f)) continue;
      byCopy.set(c, [...(byCopy.get(c) ?? []), f]);
    }
  }
  return [...byCopy].map(([copy, paths]) => ({ copy, paths }));
}

function buildFilesCopied(model: DockerfileModel, lines: readonly string[], ctx: ContextFacts | null): LayerDiagnostic[] {
  if (!ctx) return [];
  return buildFilesInContext(model, ctx).map(({ copy, paths }) => {
    const names = paths.map((p) => `\`${p}\``).join(' and ');
    return {
      code: 'LL002' as const,
      severity: RULES.LL002.severity,
      range: lineRange(lines, copy.line),
      message:
        `\`${short(copy)}\` copies ${names} into the image (not excluded by .dockerignore): every edit of ` +
        `${paths.length > 1 ? 'these files' : 'that file'}, even a comment, rebuilds this layer and every step after it.`,
      related: [],
      data: { code: 'LL002' as const, entries: paths },
    };
  });
}

// ---- LL003 ----

function cacheMounted(inst: ParsedInstruction, needle: RegExp): boolean {
  return inst.flags.some((f) => f.name === 'mount' && f.value !== null && /type=cache/.test(f.value) && needle.test(f.value));
}

function removes(scan: ShellScan, needle: RegExp): boolean {
  return scan.commands.some((c) => c.words[0] === 'rm' && c.words.some((w) => needle.test(w)));
}

function envBefore(model: DockerfileModel, inst: ParsedInstruction, name: string): boolean {
  return stageOf(model, inst).some((i) => i.line < inst.line && i.keyword === 'ENV' && new RegExp(`(^|\\s)${name}[=\\s]`).test(i.args));
}

/** Package caches a RUN leaves in its own layer. */
export function cachesLeftBy(model: DockerfileModel, inst: ParsedInstruction): CacheKind[] {
  if (inst.keyword !== 'RUN') return [];
  const { scan } = runFacts(inst);
  const has = (p: (w: readonly string[]) => boolean): boolean => scan.commands.some((c) => p(c.words));
  const out: CacheKind[] = [];
  if (
    has((w) => (w[0] === 'apt-get' || w[0] === 'apt') && w[1] === 'update') &&
    !removes(scan, /^\/var\/lib\/apt\/lists/) &&
    !cacheMounted(inst, /\/var\/lib\/apt/)
  ) out.push('apt-lists');
  if (
    has((w) => { const p = isPip(w); return p >= 0 && w[p] === 'install' && !w.includes('--no-cache-dir'); }) &&
    !envBefore(model, inst, 'PIP_NO_CACHE_DIR') &&
    !cacheMounted(inst, /\.cache/) &&
    !removes(scan, /\.cache(\/pip)?\/?$/)
  ) out.push('pip');
  if (has((w) => w[0] === 'npm' && ['install', 'i', 'ci'].includes(w[1] ?? '')) && !has((w) => w[0] === 'npm' && w[1] === 'cache') && !cacheMounted(inst, /\.npm/) && !removes(scan, /\.npm/)) out.push('npm');
  if (has((w) => installOf(w)?.manager === 'yarn') && !has((w) => w[0] === 'yarn' && w[1] === 'cache') && !cacheMounted(inst, /yarn/) && !removes(scan, /yarn/)) out.push('yarn');
  if (has((w) => w[0] === 'apk' && w.includes('add') && !w.includes('--no-cache')) && !removes(scan, /^\/var\/cache\/apk/) && !cacheMounted(inst, /\/var\/cache\/apk/)) out.push('apk');
  return out;
}

const CACHE_TEXT: Record<CacheKind, { what: string; fix: string }> = {
  'apt-lists': { what: '`apt-get update` leaves the package lists (/var/lib/apt/lists)', fix: 'remove them in the same RUN' },
  pip: { what: '`pip install` keeps its download cache (/root/.cache/pip)', fix: 'add `--no-cache-dir`' },
  npm: { what: '`npm` keeps its cache (/root/.npm)', fix: 'run `npm cache clean --force` in the same RUN' },
  yarn: { what: '`yarn` keeps its cache', fix: 'run `yarn cache clean` in the same RUN' },
  apk: { what: '`apk add` keeps its index (/var/cache/apk)', fix: 'add `--no-cache`' },
};

function cachesLeft(model: DockerfileModel, lines: readonly string[], bytes: DiagnosticsInput['cacheBytes']): LayerDiagnostic[] {
  const out: LayerDiagnostic[] = [];
  for (const inst of model.instructions) {
    for (const kind of cachesLeftBy(model, inst)) {
      const b = bytes?.get(inst.line)?.[kind];
      const cost = b !== undefined && b > 0 ? ` — ${formatBytes(b)} in the last build` : '';
      out.push({
        code: 'LL003',
        severity: RULES.LL003.severity,
        range: lineRange(lines, inst.line),
        message: `${CACHE_TEXT[kind].what} in this layer${cost}: ${CACHE_TEXT[kind].fix} (a later RUN cannot shrink the image).`,
        related: [],
        data: { code: 'LL003', line: inst.line, cache: kind },
      });
    }
  }
  return out;
}

// ---- LL004 ----

/** Groups (2+) of RUNs with nothing but comments and blank lines between them, same flags, shell form. */
export function consecutiveRunGroups(model: DockerfileModel): ParsedInstruction[][] {
  const groups: ParsedInstruction[][] = [];
  let current: ParsedInstruction[] = [];
  const flush = (): void => {
    if (current.length > 1) groups.push(current);
    current = [];
  };
  const flagText = (i: ParsedInstruction): string => i.flags.map((f) => `${f.name}=${f.value ?? ''}`).join(' ');
  for (const inst of model.instructions) {
    const mergeable = inst.keyword === 'RUN' && inst.json === null && !inst.hasHeredoc;
    if (!mergeable) {
      flush();
      continue;
    }
    const prev = current[current.length - 1];
    if (prev && (prev.stageIndex !== inst.stageIndex || prev.index !== inst.index - 1 || flagText(prev) !== flagText(inst))) flush();
    current.push(inst);
  }
  flush();
  return groups;
}

function consecutiveRuns(model: DockerfileModel, lines: readonly string[]): LayerDiagnostic[] {
  return consecutiveRunGroups(model).map((g) => ({
    code: 'LL004' as const,
    severity: RULES.LL004.severity,
    range: lineRange(lines, g[1]!.line),
    message: `${g.length} consecutive RUN instructions (lines ${g.map((i) => i.line).join(', ')}) make ${g.length} layers; joined with \`&&\` they make one, and files one step deletes stop weighing in the other's layer.`,
    related: g.filter((_, i) => i !== 1).map((i) => ({ line: i.line, message: 'RUN in the same group' })),
    data: { code: 'LL004' as const, lines: g.map((i) => i.line) },
  }));
}

// ---- LL005 ----

/** Always regenerated or machine-specific: never useful as a build input. */
const VOLATILE_ANY_DEPTH = new Set(['node_modules', '__pycache__', '.venv', '.pytest_cache', '.mypy_cache']);
/** Build output: only at the top (a `build/` package inside the sources is code). */
const VOLATILE_SHALLOW = new Set(['dist', 'build', 'target', '.next']);

export interface VolatilePath {
  /** Ignore-file entry that excludes it: the path, or `**\/name` for a name found in several places. */
  readonly entry: string;
  readonly paths: readonly string[];
  readonly files: number;
  readonly bytes: number;
}

const volatileMemo = new WeakMap<ReadonlyMap<string, ContextEntryFact>, VolatilePath[]>();

/** Volatile directories among the context entries (the entries map is already filtered by .dockerignore). */
export function volatilePaths(entries: ReadonlyMap<string, ContextEntryFact>): VolatilePath[] {
  const memo = volatileMemo.get(entries);
  if (memo) return memo;
  const roots = new Map<string, { files: number; bytes: number }>();
  for (const [rel, e] of entries) {
    const segs = rel.split('/');
    let cut = -1;
    for (let i = 0; i < segs.length && i < 6; i++) {
      const s = segs[i]!;
      if (((s === '.git' || VOLATILE_SHALLOW.has(s)) && i === 0) || VOLATILE_ANY_DEPTH.has(s)) {
        cut = i;
        break;
      }
    }
    if (cut < 0) continue;
    const root = segs.slice(0, cut + 1).join('/');
    const acc = roots.get(root) ?? { files: 0, bytes: 0 };
    if (root !== rel && e.kind !== 'dir') {
      acc.files++;
      acc.bytes += e.size;
    }
    roots.set(root, acc);
  }
  // One entry per name: a name found in several places is excluded everywhere with `**/`.
  const byName = new Map<string, string[]>();
  for (const r of roots.keys()) {
    const name = r.slice(r.lastIndexOf('/') + 1);
    byName.set(name, [...(byName.get(name) ?? []), r]);
  }
  const out: VolatilePath[] = [];
  for (const [name, all] of byName) {
    // A file named `build` is a script, and a `.git` file points elsewhere: only directories count.
    const paths = all.filter((p) => entries.get(p)?.kind === 'dir');
    if (paths.length === 0) continue;
    const sum = paths.reduce((a, p) => ({ files: a.files + roots.get(p)!.files, bytes: a.bytes + roots.get(p)!.bytes }), { files: 0, bytes: 0 });
    out.push({ entry: paths.length === 1 ? paths[0]! : `**/${name}`, paths: paths.sort(), ...sum });
  }
  out.sort((a, b) => b.bytes - a.bytes || a.entry.localeCompare(b.entry));
  volatileMemo.set(entries, out);
  return out;
}

function volatileContextPaths(model: DockerfileModel, lines: readonly string[], ctx: ContextFacts | null): LayerDiagnostic[] {
  if (!ctx || model.stages.length === 0) return [];
  const out: LayerDiagnostic[] = [];
  const usesGit = model.instructions.some((i) => i.keyword === 'RUN' && /\bgit\b/.test(i.args));
  for (const v of volatilePaths(ctx.entries).slice(0, 8)) {
    if (v.entry === '.git' && usesGit) continue;
    // A COPY that names the path (or something inside it) wants it: `COPY dist /srv` deploys a build output.
    const named = model.instructions.some((i) => (contextSources(i) ?? []).some((s) => {
      const n = normSource(s);
      return n !== '' && n !== '*' && v.paths.some((p) => sourceCovers(n, p) || sourceCovers(p, n));
    }));
    if (named) continue;
    const copy = model.instructions.find((i) => isBroadCopy(i) && v.paths.some((p) => coveringCopies(model, p).includes(i)));
    // BuildKit only transfers what COPY asks for: an uncopied directory costs nothing there.
    if (!copy && ctx.builder === 'buildkit') continue;
    const size = `${formatBytes(v.bytes)} in ${v.files} file${v.files === 1 ? '' : 's'}`;
    const what = v.paths.length === 1 ? `\`${v.paths[0]}\`` : `${v.paths.length} \`${v.entry.slice(3)}\` folders`;
    out.push({
      code: 'LL005',
      severity: RULES.LL005.severity,
      range: lineRange(lines, (copy ?? model.stages[0]!.from).line),
      message: copy
        ? `${what} (${size}) is sent in the build context and copied by \`${short(copy)}\`: it changes without any source edit and rebuilds this layer. Add it to .dockerignore.`
        : `${what} (${size}) is sent to the daemon with every build. Add it to .dockerignore.`,
      related: [],
      data: { code: 'LL005', entries: [v.entry] },
    });
  }
  return out;
}
