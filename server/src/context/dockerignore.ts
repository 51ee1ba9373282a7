// .dockerignore parsing and matching with Docker's exact semantics.
//
// Parsing follows moby/patternmatcher/ignorefile.ReadAll (same as buildkit's dockerignore.ReadAll used by older
// CLIs): lines split like bufio.ScanLines (LF, optional CR before it), a UTF-8 BOM stripped from the first line,
// '#' comments recognised only in column 0 (before trimming!), whitespace trimmed, '!' exceptions, filepath.Clean,
// one leading '/' removed.
//
// Matching follows the two implementations Docker clients have shipped:
//  - 'patternmatcher' (moby/patternmatcher ≥ 0.5: docker CLI ≥ 23 via moby/go-archive, BuildKit's fsutil): patterns
//    compile to exact / prefix ('dir/**') / suffix ('**/x') / regexp matchers, and the walker evaluates
//    MatchesUsingParentResults, carrying each directory's per-pattern results down to its children.
//  - 'legacy' (docker/docker pkg/fileutils: docker CLI ≤ 22, and the 20.10 daemon when it drops the Dockerfile):
//    everything is a regexp, only '.' and '$' are escaped (so '+', '(', ')', '|', '{', '}' are regexp syntax), and
//    a path is also tested against the single ancestor at the pattern's depth.
// In both, the last matching pattern wins and a '!' pattern re-includes. The CLI walker additionally still descends
// into an excluded directory when some exception pattern's text starts with that directory (mayReincludeUnder).

import { promises as fsp } from 'fs';
import * as path from 'path';
import { goClean, goTrimSpace, isBadGoPattern } from './goPath';
import { goRegexToJs } from './goRegex';

export type IgnoreFlavor = 'patternmatcher' | 'legacy';

/** One non-comment line of a .dockerignore, as Docker's ReadAll turns it into a pattern string. */
export interface IgnoreRule {
  /** Cleaned pattern without the leading '!'. */
  readonly pattern: string;
  /** A '!' exception (re-includes what earlier patterns excluded). */
  readonly exclusion: boolean;
  /** 1-based line number in the file. */
  readonly line: number;
  /** The raw line. */
  readonly text: string;
}

/** Split like Go's bufio.ScanLines: on '\n', dropping one '\r' before it; no empty token after a final '\n'. */
function scanLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** The pattern strings Docker's ignorefile.ReadAll produces ('!' prefixed for exceptions), with their lines. */
function readAll(text: string): Array<{ value: string; line: number; text: string }> {
  const out: Array<{ value: string; line: number; text: string }> = [];
  const lines = scanLines(text);
  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i];
    if (i === 0 && raw.startsWith('\ufeff')) raw = raw.slice(1);
    // Comments are recognised before trimming: '  # x' is a pattern, not a comment.
    if (raw.startsWith('#')) continue;
    let pattern = goTrimSpace(raw);
    if (pattern === '') continue;
    const invert = pattern[0] === '!';
    if (invert) pattern = goTrimSpace(pattern.slice(1));
    if (pattern.length > 0) {
      pattern = goClean(pattern);
      if (pattern.length > 1 && pattern[0] === '/') pattern = pattern.slice(1);
    }
    out.push({ value: invert ? '!' + pattern : pattern, line: i + 1, text: lines[i] });
  }
  return out;
}

/**
 * Parse .dockerignore text into rules. The returned patterns are what patternmatcher.New would hold: it trims and
 * cleans each ReadAll string again (with the '!' still attached) before splitting off the '!'.
 */
export function parseDockerignore(text: string): IgnoreRule[] {
  return readAll(text).map(({ value, line, text: raw }) => toRule(value, line, raw));
}

function toRule(value: string, line: number, text: string): IgnoreRule {
  let p = goClean(goTrimSpace(value));
  const exclusion = p[0] === '!';
  if (exclusion) p = p.slice(1);
  return { pattern: p, exclusion, line, text };
}

/** The pattern list as Docker passes it around ('!'-prefixed exceptions), e.g. to append CLI-added exceptions. */
export function rulesToExcludes(rules: readonly IgnoreRule[]): string[] {
  return rules.map((r) => (r.exclusion ? '!' + r.pattern : r.pattern));
}

/** Turn pattern strings ('!x' for exceptions) back into rules (line 0 = added by the tool, not from a file). */
export function excludesToRules(excludes: readonly string[]): IgnoreRule[] {
  const out: IgnoreRule[] = [];
  for (const e of excludes) {
    if (goTrimSpace(e) === '') continue;
    out.push(toRule(e, 0, e));
  }
  return out;
}

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

interface CompiledPattern {
  readonly rule: IgnoreRule;
  readonly exclusion: boolean;
  readonly cleaned: string;
  /** Number of path elements in the pattern (legacy parent check). */
  readonly depth: number;
  readonly type: MatchType;
  readonly re: RegExp | null;
  /** Set when Docker would fail on this pattern; it then never matches here. */
  readonly error: string | null;
}

const PM_ESCAPE = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);
const LEGACY_ESCAPE = new Set(['.', '$']);

/** Build the Go regexp source and match type exactly as (*Pattern).compile does, for one flavor. */
function compileGo(pattern: string, flavor: IgnoreFlavor): { type: MatchType; goRe: string } {
  const chars = Array.from(pattern);
  const escape = flavor === 'legacy' ? LEGACY_ESCAPE : PM_ESCAPE;
  let re = '^';
  let type: MatchType = 'exact';
  let pos = 0;
  const peek = (): string | undefined => chars[pos];
  for (let i = 0; pos < chars.length; i++) {
    const ch = chars[pos++];
    if (ch === '*') {
      if (peek() === '*') {
        pos++;
        if (peek() === '/') pos++;
        if (peek() === undefined) {
          if (flavor === 'legacy') re += '.*';
          else if (type === 'exact') type = 'prefix';
          else {
            re += '.*';
            type = 'regexp';
          }
        } else {
          re += '(.*/)?';
          type = 'regexp';
        }
        if (flavor === 'patternmatcher' && i === 0) type = 'suffix';
      } else {
        re += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      type = 'regexp';
    } else if (escape.has(ch)) {
      re += '\\' + ch;
    } else if (ch === '\\') {
      if (peek() !== undefined) {
        re += '\\' + chars[pos++];
        type = 'regexp';
      } else {
        re += '\\';
      }
    } else if (flavor === 'patternmatcher' && (ch === '[' || ch === ']')) {
      re += ch;
      type = 'regexp';
    } else {
      re += ch;
    }
  }
  if (flavor === 'legacy') type = 'regexp';
  if (type === 'regexp') re += '$';
  return { type, goRe: re };
}

function compilePattern(rule: IgnoreRule, flavor: IgnoreFlavor): CompiledPattern {
  const base = {
    rule,
    exclusion: rule.exclusion,
    cleaned: rule.pattern,
    depth: rule.pattern.split('/').length,
  };
  if (rule.exclusion && rule.pattern === '') {
    return { ...base, type: 'exact', re: null, error: 'illegal exclusion pattern: "!"' };
  }
  if (isBadGoPattern(rule.pattern)) {
    return { ...base, type: 'exact', re: null, error: `syntax error in pattern: ${rule.pattern}` };
  }
  const { type, goRe } = compileGo(rule.pattern, flavor);
  if (type !== 'regexp') return { ...base, type, re: null, error: null };
  try {
    return { ...base, type, re: goRegexToJs(goRe), error: null };
  } catch (e) {
    return { ...base, type, re: null, error: `cannot compile pattern ${rule.pattern}: ${(e as Error).message}` };
  }
}

function matchOne(p: CompiledPattern, file: string): boolean {
  if (p.error !== null) return false;
  switch (p.type) {
    case 'exact':
      return file === p.cleaned;
    case 'prefix':
      return file.startsWith(p.cleaned.slice(0, -2));
    case 'suffix': {
      const suffix = p.cleaned.slice(2);
      if (file.endsWith(suffix)) return true;
      // '**/foo' also matches 'foo'
      return suffix[0] === '/' && file === suffix.slice(1);
    }
    case 'regexp':
      return p.re !== null && p.re.test(file);
  }
}

/** Per-directory state carried down the walk (patternmatcher's MatchInfo). Opaque to callers. */
export interface MatchState {
  readonly parentMatched: readonly boolean[];
}

export interface IgnoreMatcherOptions {
  readonly flavor?: IgnoreFlavor;
}

export class IgnoreMatcher {
  readonly flavor: IgnoreFlavor;
  readonly rules: readonly IgnoreRule[];
  /** Patterns Docker would reject (the build would fail); they never match here. */
  readonly errors: readonly string[];
  /** Whether any '!' exception exists (patternmatcher's Exclusions()). */
  readonly hasExclusions: boolean;
  private readonly patterns: readonly CompiledPattern[];

  constructor(rules: readonly IgnoreRule[] | readonly string[], opts: IgnoreMatcherOptions = {}) {
    this.flavor = opts.flavor ?? 'patternmatcher';
    const rs: IgnoreRule[] =
      rules.length > 0 && typeof rules[0] === 'string'
        ? excludesToRules(rules as readonly string[])
        : (rules as readonly IgnoreRule[]).slice();
    this.rules = rs;
    this.patterns = rs.map((r) => compilePattern(r, this.flavor));
    this.errors = this.patterns.filter((p) => p.error !== null).map((p) => (p.rule.line > 0 ? `line ${p.rule.line}: ` : '') + p.error);
    this.hasExclusions = rs.some((r) => r.exclusion);
  }

  get isEmpty(): boolean {
    return this.patterns.length === 0;
  }

  /**
   * The CLI walker's decision for one path given its parent directory's state (undefined for top-level paths).
   * Returns the state to pass to this path's children when it is a directory.
   */
  matchChild(rel: string, parent: MatchState | undefined): { excluded: boolean; state: MatchState } {
    if (this.flavor === 'legacy') {
      return { excluded: this.legacyMatches(rel), state: EMPTY_STATE };
    }
    return this.matchesUsingParentResults(rel, parent);
  }

  /**
   * Whether the CLI's context walker would leave `rel` out because of a pattern (the path's ancestors are assumed
   * walked; whether they are walked at all is mayReincludeUnder's business). isDir does not change Docker's answer:
   * 'dir/' patterns are cleaned to 'dir' and match files and directories alike.
   */
  isExcluded(rel: string, _isDir = false): boolean {
    if (this.patterns.length === 0 || rel === '' || rel === '.') return false;
    if (this.flavor === 'legacy') return this.legacyMatches(rel);
    let state: MatchState | undefined;
    let excluded = false;
    let idx = -1;
    do {
      idx = rel.indexOf('/', idx + 1);
      const prefix = idx < 0 ? rel : rel.slice(0, idx);
      const r = this.matchesUsingParentResults(prefix, state);
      state = r.state;
      excluded = r.excluded;
    } while (idx >= 0);
    return excluded;
  }

  /**
   * The CLI's rule for an excluded directory: it is still walked when some exception pattern's text, plus '/',
   * starts with the directory path plus '/' (a literal prefix test: '!**\/keep' does not qualify).
   */
  mayReincludeUnder(dirRel: string): boolean {
    if (!this.hasExclusions) return false;
    const dirSlash = dirRel + '/';
    return this.patterns.some((p) => p.exclusion && (p.cleaned + '/').startsWith(dirSlash));
  }

  /** patternmatcher.MatchesUsingParentResults. */
  private matchesUsingParentResults(file: string, parent: MatchState | undefined): { excluded: boolean; state: MatchState } {
    const parentMatched = parent !== undefined && parent.parentMatched.length === this.patterns.length ? parent.parentMatched : null;
    const info = new Array<boolean>(this.patterns.length).fill(false);
    let matched = false;
    for (let i = 0; i < this.patterns.length; i++) {
      const p = this.patterns[i];
      let match = parentMatched !== null && parentMatched.length > 0 ? parentMatched[i] : false;
      if (!match) {
        // Skipped patterns leave info[i] false, which changes what children inherit: that is Docker's behaviour.
        if (p.exclusion !== matched) continue;
        match = matchOne(p, file);
        if (!match && (parentMatched === null || parentMatched.length === 0)) match = this.anyParentMatches(p, file);
      }
      info[i] = match;
      if (match) matched = !p.exclusion;
    }
    return { excluded: matched, state: { parentMatched: info } };
  }

  private anyParentMatches(p: CompiledPattern, file: string): boolean {
    let idx = file.indexOf('/');
    while (idx >= 0) {
      if (matchOne(p, file.slice(0, idx))) return true;
      idx = file.indexOf('/', idx + 1);
    }
    return false;
  }

  /** patternmatcher.MatchesOrParentMatches (stateless; newer daemons use it to drop Dockerfile/.dockerignore). */
  matchesOrParentMatches(rel: string): boolean {
    const file = goClean(rel);
    if (file === '.') return false;
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      let match = matchOne(p, file);
      if (!match) match = this.anyParentMatches(p, file);
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * The deprecated single-parent Matches (pkg/fileutils.Matches and patternmatcher.Matches): the path itself, or
   * its ancestor at the pattern's depth. Used by the CLI to decide whether to keep Dockerfile/.dockerignore, by the
   * 20.10 daemon to drop them, and by CLI ≤ 22 for every path (with the 'legacy' flavor).
   */
  legacyMatches(rel: string): boolean {
    const file = goClean(rel);
    if (file === '.') return false;
    const slash = file.lastIndexOf('/');
    const parentDirs = slash < 0 ? null : file.slice(0, slash).split('/');
    let matched = false;
    for (const p of this.patterns) {
      let match = matchOne(p, file);
      if (!match && parentDirs !== null && p.depth <= parentDirs.length) {
        match = matchOne(p, parentDirs.slice(0, p.depth).join('/'));
      }
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  /** A matcher with extra '!' exceptions appended (what the CLI does for the Dockerfile and .dockerignore). */
  withExceptions(rels: readonly string[]): IgnoreMatcher {
    const extra = rels.map((r) => toRule('!' + r, 0, '!' + r));
    return new IgnoreMatcher([...this.rules, ...extra], { flavor: this.flavor });
  }
}

const EMPTY_STATE: MatchState = { parentMatched: [] };

/** Which ignore file applies to a build. */
export interface DockerignoreLocation {
  /** Absolute path of the file. */
  readonly path: string;
  /** 'dockerfile': `<Dockerfile>.dockerignore` next to the Dockerfile; 'context': `<context>/.dockerignore`. */
  readonly kind: 'dockerfile' | 'context';
}

export interface FindDockerignoreOptions {
  /**
   * 'buildkit' (default): BuildKit's Dockerfile frontend reads `<Dockerfile path>.dockerignore` first and falls back
   * to `<context>/.dockerignore`. 'classic': the CLI's legacy-builder path only ever reads `<context>/.dockerignore`.
   */
  readonly builder?: 'buildkit' | 'classic';
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Locate the ignore file for a build; null when there is none. */
export async function findDockerignore(
  contextDir: string,
  dockerfilePath: string | null,
  opts: FindDockerignoreOptions = {},
): Promise<DockerignoreLocation | null> {
  const ctx = path.resolve(contextDir);
  if ((opts.builder ?? 'buildkit') === 'buildkit' && dockerfilePath) {
    const specific = path.resolve(ctx, dockerfilePath) + '.dockerignore';
    if (await isFile(specific)) return { path: specific, kind: 'dockerfile' };
  }
  const common = path.join(ctx, '.dockerignore');
  if (await isFile(common)) return { path: common, kind: 'context' };
  return null;
}

/** Read and parse an ignore file; a missing file yields no rules. */
export async function loadDockerignore(loc: DockerignoreLocation | null): Promise<{ text: string; rules: IgnoreRule[] }> {
  if (loc === null) return { text: '', rules: [] };
  const text = await fsp.readFile(loc.path, 'utf8');
  return { text, rules: parseDockerignore(text) };
}
