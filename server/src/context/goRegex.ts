// Translation of the Go RE2 regular expressions that Docker's .dockerignore matcher builds into JS RegExp source.
// .dockerignore patterns are compiled to Go regexps (moby/patternmatcher), and some user characters ('[', ']',
// backslash escapes, and for the old CLI matcher '+', '(', ')', '|', '{', '}') pass through into that regexp
// unescaped, so a pattern can mean whatever RE2 makes of it. We translate the RE2 syntax rather than the glob so
// those corner cases keep Go's meaning. Anything we cannot translate faithfully throws, and the caller treats the
// pattern as broken, as Docker does when regexp.Compile fails.

export class GoRegexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoRegexError';
  }
}

const JS_SYNTAX = new Set(['^', '$', '\\', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/']);

function lit(ch: string): string {
  return JS_SYNTAX.has(ch) ? '\\' + ch : ch;
}

function classLit(ch: string): string {
  return ch === '\\' || ch === ']' || ch === '[' || ch === '^' || ch === '-' ? '\\' + ch : ch;
}

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

function isAsciiAlnum(ch: string): boolean {
  return /^[0-9A-Za-z]$/.test(ch);
}

interface Escape {
  /** JS source for use outside a class. */
  outside: string;
  /** JS source for use inside a class; null when the escape is not a single character or class. */
  inside: string | null;
  /** The code point when the escape denotes one character (needed for ranges). */
  codePoint: number | null;
  next: number;
}

function parseEscape(chars: string[], i: number): Escape {
  // chars[i] is the character after the backslash.
  const e = chars[i];
  if (e === undefined) throw new GoRegexError('trailing backslash at end of expression');
  if (e.length === 1 && e.charCodeAt(0) < 0x80 && !isAsciiAlnum(e)) {
    return { outside: lit(e), inside: classLit(e), codePoint: e.charCodeAt(0), next: i + 1 };
  }
  const single = (code: number, src: string): Escape => ({ outside: src, inside: src, codePoint: code, next: i + 1 });
  switch (e) {
    case 'a':
      return single(7, '\\x07');
    case 'f':
      return single(12, '\\f');
    case 't':
      return single(9, '\\t');
    case 'n':
      return single(10, '\\n');
    case 'r':
      return single(13, '\\r');
    case 'v':
      return single(11, '\\v');
    case 'd':
    case 'D':
    case 'w':
    case 'W':
      return { outside: '\\' + e, inside: '\\' + e, codePoint: null, next: i + 1 };
    case 's':
      return { outside: '[\\t\\n\\f\\r ]', inside: '\\t\\n\\f\\r ', codePoint: null, next: i + 1 };
    case 'S':
      return { outside: '[^\\t\\n\\f\\r ]', inside: null, codePoint: null, next: i + 1 };
    case 'b':
    case 'B':
      return { outside: '\\' + e, inside: null, codePoint: null, next: i + 1 };
    case 'A':
      return { outside: '^', inside: null, codePoint: null, next: i + 1 };
    case 'z':
      return { outside: '$', inside: null, codePoint: null, next: i + 1 };
    case 'x': {
      let j = i + 1;
      let hex = '';
      if (chars[j] === '{') {
        j++;
        while (j < chars.length && chars[j] !== '}') hex += chars[j++];
        if (chars[j] !== '}' || !/^[0-9A-Fa-f]+$/.test(hex)) throw new GoRegexError('invalid escape sequence \\x');
        j++;
      } else {
        hex = (chars[j] ?? '') + (chars[j + 1] ?? '');
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new GoRegexError('invalid escape sequence \\x');
        j += 2;
      }
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) throw new GoRegexError('invalid escape sequence \\x');
      const src = `\\u{${code.toString(16)}}`;
      return { outside: src, inside: src, codePoint: code, next: j };
    }
    default:
      // Octal escapes, \p{…} classes, \C and the rest are either errors in Go or too rare to be worth modelling.
      throw new GoRegexError(`unsupported escape sequence \\${e}`);
  }
}

function parseClass(chars: string[], start: number): { src: string; next: number } {
  // chars[start] is the character after '['.
  let i = start;
  let negated = false;
  if (chars[i] === '^') {
    negated = true;
    i++;
  }
  let body = '';
  let first = true;
  for (;;) {
    if (i >= chars.length) throw new GoRegexError('missing closing ]');
    if (chars[i] === ']' && !first) {
      i++;
      break;
    }
    first = false;
    if (chars[i] === '[' && chars[i + 1] === ':') {
      const end = chars.indexOf(':', i + 2);
      if (end > 0 && chars[end + 1] === ']') {
        let name = chars.slice(i + 2, end).join('');
        const neg = name.startsWith('^');
        if (neg) name = name.slice(1);
        const ranges = POSIX[name];
        if (ranges === undefined) throw new GoRegexError(`invalid character class range [:${name}:]`);
        if (neg) throw new GoRegexError('negated POSIX classes are not supported');
        body += ranges;
        i = end + 2;
        continue;
      }
    }
    let loSrc: string;
    let loCode: number | null;
    if (chars[i] === '\\') {
      const esc = parseEscape(chars, i + 1);
      if (esc.inside === null) throw new GoRegexError('escape not allowed in class');
      loSrc = esc.inside;
      loCode = esc.codePoint;
      i = esc.next;
    } else {
      loSrc = classLit(chars[i]);
      loCode = chars[i].codePointAt(0) ?? 0;
      i++;
    }
    if (chars[i] === '-' && i + 1 < chars.length && chars[i + 1] !== ']') {
      i++;
      let hiSrc: string;
      let hiCode: number | null;
      if (chars[i] === '\\') {
        const esc = parseEscape(chars, i + 1);
        hiSrc = esc.inside ?? '';
        hiCode = esc.codePoint;
        i = esc.next;
      } else {
        hiSrc = classLit(chars[i]);
        hiCode = chars[i].codePointAt(0) ?? 0;
        i++;
      }
      if (loCode === null || hiCode === null || hiCode < loCode) throw new GoRegexError('invalid character class range');
      body += `${loSrc}-${hiSrc}`;
    } else {
      body += loSrc;
    }
  }
  return { src: `[${negated ? '^' : ''}${body}]`, next: i };
}

/** Translate an RE2 expression (as regexp.Compile would accept it, default flags) into a JS RegExp with the 'u' flag. */
export function goRegexToJs(re: string): RegExp {
  const chars = Array.from(re);
  let out = '';
  let depth = 0;
  let i = 0;
  while (i < chars.length) {
    const c = chars[i];
    switch (c) {
      case '\\': {
        if (chars[i + 1] === 'Q') {
          let j = i + 2;
          while (j < chars.length && !(chars[j] === '\\' && chars[j + 1] === 'E')) out += lit(chars[j++]);
          i = j < chars.length ? j + 2 : j;
          break;
        }
        const esc = parseEscape(chars, i + 1);
        out += esc.outside;
        i = esc.next;
        break;
      }
      case '[': {
        const cls = parseClass(chars, i + 1);
        out += cls.src;
        i = cls.next;
        break;
      }
      case '(':
        if (chars[i + 1] === '?') {
          if (chars[i + 2] !== ':') throw new GoRegexError('unsupported group flags');
          out += '(?:';
          i += 3;
        } else {
          out += '(';
          i++;
        }
        depth++;
        break;
      case ')':
        if (depth === 0) throw new GoRegexError('unexpected )');
        depth--;
        out += ')';
        i++;
        break;
      case '.':
        out += '[^\\n]';
        i++;
        break;
      case '^':
      case '$':
      case '|':
      case '*':
      case '+':
      case '?':
        out += c;
        i++;
        break;
      case '{': {
        const rest = chars.slice(i, i + 24).join('');
        const m = /^\{(\d+)(,(\d*))?\}/.exec(rest);
        if (m && Number(m[1]) <= 1000 && (m[3] === undefined || m[3] === '' || Number(m[3]) <= 1000)) {
          if (m[3] !== undefined && m[3] !== '' && Number(m[3]) < Number(m[1])) throw new GoRegexError('invalid repeat count');
          out += m[0];
          i += m[0].length;
        } else {
          out += '\\{';
          i++;
        }
        break;
      }
      default:
        out += lit(c);
        i++;
    }
  }
  if (depth !== 0) throw new GoRegexError('missing closing )');
  try {
    return new RegExp(out, 'u');
  } catch (e) {
    throw new GoRegexError(`invalid expression: ${(e as Error).message}`);
  }
}
