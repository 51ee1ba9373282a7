// Go standard-library path semantics that Docker's context handling depends on, re-implemented so our answers
// agree with the CLI and daemon byte for byte: path.Clean, filepath.Match (Unix flavour), strings.TrimSpace, and
// the byte-wise name ordering that filepath.Walk uses. Only '/'-separated paths are handled: context-relative paths
// are canonicalised to '/' before anything else touches them.

/** Thrown for a malformed glob, like Go's filepath.ErrBadPattern. */
export class BadPatternError extends Error {
  constructor(readonly pattern: string) {
    super(`syntax error in pattern: ${pattern}`);
    this.name = 'BadPatternError';
  }
}

/** Go's path.Clean: shortest equivalent path, '.' for empty, '..' kept only where it cannot be resolved. */
export function goClean(p: string): string {
  if (p === '') return '.';
  const rooted = p.charCodeAt(0) === 0x2f;
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

// unicode.IsSpace: the White_Space property, which differs from JS trim() (Go has U+0085, JS has U+FEFF).
const GO_SPACE = new Set<number>([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/** Go's strings.TrimSpace. */
export function goTrimSpace(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && GO_SPACE.has(s.charCodeAt(a))) a++;
  while (b > a && GO_SPACE.has(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/**
 * Compare two strings in Go's order (bytes of UTF-8, i.e. code point order). JS '<' compares UTF-16 code units,
 * which disagrees for astral characters versus U+E000..U+FFFF.
 */
export function compareGo(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if ((x >= 0xd800 && x <= 0xdfff) || (y >= 0xd800 && y <= 0xdfff)) {
      const cx = a.codePointAt(i) ?? x;
      const cy = b.codePointAt(i) ?? y;
      if (cx !== cy) return cx < cy ? -1 : 1;
      continue;
    }
    return x < y ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Sort in place in Go's string order; plain JS order agrees unless a string holds surrogate pairs. */
export function sortGo(items: string[]): string[] {
  return items.some((s) => /[\ud800-\udfff]/.test(s)) ? items.sort(compareGo) : items.sort();
}

/**
 * Order of filepath.Walk over a tree: pre-order, children sorted by name. For '/'-joined paths that is the
 * component-wise comparison, i.e. string order where '/' sorts below every other character ('a/x' before 'a-b').
 */
export function compareWalkOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === 0x2f) return -1;
    if (y === 0x2f) return 1;
    return compareGo(a.slice(i), b.slice(i));
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** The classic builder's containsWildcards (Unix): '*', '?' or '[' not preceded by a backslash escape. */
export function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

// ---- filepath.Match (Go ≥ 1.16 behaviour: the rest of the pattern is validated even after a mismatch) ----

interface Chunk {
  star: boolean;
  chunk: string[];
  rest: string[];
}

function scanChunk(pattern: string[]): Chunk {
  let p = pattern;
  let star = false;
  while (p.length > 0 && p[0] === '*') {
    p = p.slice(1);
    star = true;
  }
  let inrange = false;
  let i = 0;
  scan: for (i = 0; i < p.length; i++) {
    switch (p[i]) {
      case '\\':
        if (i + 1 < p.length) i++;
        break;
      case '[':
        inrange = true;
        break;
      case ']':
        inrange = false;
        break;
      case '*':
        if (!inrange) break scan;
        break;
    }
  }
  return { star, chunk: p.slice(0, i), rest: p.slice(i) };
}

/** Returns [rune, remaining chunk]; throws BadPatternError like Go's getEsc. */
function getEsc(chunk: string[], whole: string): [string, string[]] {
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') throw new BadPatternError(whole);
  let c = chunk;
  if (c[0] === '\\') {
    c = c.slice(1);
    if (c.length === 0) throw new BadPatternError(whole);
  }
  const r = c[0];
  const n = c.slice(1);
  if (n.length === 0) throw new BadPatternError(whole);
  return [r, n];
}

function cp(s: string): number {
  return s.codePointAt(0) ?? 0;
}

/** matchChunk: null when it does not match, else the unmatched rest of s. Throws on malformed chunks. */
function matchChunk(chunkIn: string[], sIn: string[], whole: string): string[] | null {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    switch (chunk[0]) {
      case '[': {
        let r = 0;
        if (!failed) {
          r = cp(s[0]);
          s = s.slice(1);
        }
        chunk = chunk.slice(1);
        let negated = false;
        if (chunk.length > 0 && chunk[0] === '^') {
          negated = true;
          chunk = chunk.slice(1);
        }
        let match = false;
        let nrange = 0;
        for (;;) {
          if (chunk.length > 0 && chunk[0] === ']' && nrange > 0) {
            chunk = chunk.slice(1);
            break;
          }
          let lo: string;
          [lo, chunk] = getEsc(chunk, whole);
          let hi = lo;
          if (chunk[0] === '-') [hi, chunk] = getEsc(chunk.slice(1), whole);
          if (cp(lo) <= r && r <= cp(hi)) match = true;
          nrange++;
        }
        if (match === negated) failed = true;
        break;
      }
      case '?':
        if (!failed) {
          if (s[0] === '/') failed = true;
          s = s.slice(1);
        }
        chunk = chunk.slice(1);
        break;
      default: {
        // A backslash escapes the next character, which is then matched literally.
        if (chunk[0] === '\\') {
          chunk = chunk.slice(1);
          if (chunk.length === 0) throw new BadPatternError(whole);
        }
        if (!failed) {
          if (chunk[0] !== s[0]) failed = true;
          s = s.slice(1);
        }
        chunk = chunk.slice(1);
      }
    }
  }
  return failed ? null : s;
}

/**
 * Go's filepath.Match on Unix: '*' and '?' never match '/', '[...]' classes with '^' negation and ranges,
 * backslash escapes. Throws BadPatternError for malformed patterns (as far as Go detects them).
 */
export function goMatch(pattern: string, name: string): boolean {
  let pat = Array.from(pattern);
  let nm = Array.from(name);
  outer: while (pat.length > 0) {
    const { star, chunk, rest } = scanChunk(pat);
    pat = rest;
    if (star && chunk.length === 0) return !nm.includes('/');
    const t = matchChunk(chunk, nm, pattern);
    if (t !== null && (t.length === 0 || pat.length > 0)) {
      nm = t;
      continue;
    }
    if (star) {
      for (let i = 0; i < nm.length && nm[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, nm.slice(i + 1), pattern);
        if (t2 !== null) {
          if (pat.length === 0 && t2.length > 0) continue;
          nm = t2;
          continue outer;
        }
      }
    }
    // Before returning false, Go checks that the remainder of the pattern is well-formed.
    while (pat.length > 0) {
      const c = scanChunk(pat);
      pat = c.rest;
      matchChunk(c.chunk, [], pattern);
    }
    return false;
  }
  return nm.length === 0;
}

/** Whether filepath.Match would reject the pattern (it is checked against '.', as patternmatcher does). */
export function isBadGoPattern(pattern: string): boolean {
  try {
    goMatch(pattern, '.');
    return false;
  } catch (e) {
    if (e instanceof BadPatternError) return true;
    throw e;
  }
}

/** Last path element, like path.Base for cleaned relative paths ('' stays ''). */
export function baseName(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? rel : rel.slice(i + 1);
}

/** Parent of a relative path; '' for top-level names. */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}
