// Docker's word processing for Dockerfile arguments (BuildKit frontend/dockerfile/shell/lex.go semantics):
// quote removal, escapes and `$VAR` / `${VAR}` / `${VAR:-x}` / `${VAR:+x}` expansion. The builders apply it to
// ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR and ARG — never to RUN/CMD/ENTRYPOINT,
// whose text reaches the shell (and the cache key) unexpanded.

export type VarLookup = (name: string) => string | undefined;

/** Expand one word: quotes removed, escapes applied, variables substituted. Unknown variables expand to ''. */
export function processWord(word: string, lookup: VarLookup, escape = '\\'): string {
  return new WordLexer(word, lookup, escape).word();
}

/** Expand a whole argument string and split it into words on unquoted whitespace (for `ENV a b`, EXPOSE, …). */
export function processWords(text: string, lookup: VarLookup, escape = '\\'): string[] {
  return new WordLexer(text, lookup, escape).words();
}

class WordLexer {
  private pos = 0;

  constructor(
    private readonly src: string,
    private readonly lookup: VarLookup,
    private readonly escape: string,
  ) {}

  word(): string {
    return this.scan(false).join(' ');
  }

  words(): string[] {
    return this.scan(true);
  }

  private scan(split: boolean): string[] {
    const out: string[] = [];
    let cur = '';
    let started = false;
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos]!;
      if (split && /\s/.test(ch)) {
        this.pos++;
        if (started) {
          out.push(cur);
          cur = '';
          started = false;
        }
        continue;
      }
      started = true;
      if (ch === this.escape) {
        this.pos++;
        if (this.pos < this.src.length) cur += this.src[this.pos++];
        continue;
      }
      if (ch === "'") {
        this.pos++;
        cur += this.singleQuoted();
        continue;
      }
      if (ch === '"') {
        this.pos++;
        cur += this.doubleQuoted();
        continue;
      }
      if (ch === '$') {
        cur += this.dollar();
        continue;
      }
      cur += ch;
      this.pos++;
    }
    if (started || !split) out.push(cur);
    return out;
  }

  private singleQuoted(): string {
    let s = '';
    while (this.pos < this.src.length && this.src[this.pos] !== "'") s += this.src[this.pos++];
    this.pos++; // closing quote (a missing one is tolerated: Docker errors, we keep the text)
    return s;
  }

  private doubleQuoted(): string {
    let s = '';
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos]!;
      if (ch === '"') {
        this.pos++;
        return s;
      }
      if (ch === '$') {
        s += this.dollar();
        continue;
      }
      if (ch === this.escape) {
        const next = this.src[this.pos + 1];
        if (next === '"' || next === '$' || next === this.escape) {
          s += next;
          this.pos += 2;
          continue;
        }
      }
      s += ch;
      this.pos++;
    }
    return s;
  }

  /** At a '$': returns the expansion and advances. */
  private dollar(): string {
    this.pos++; // '$'
    const ch = this.src[this.pos];
    if (ch === '{') {
      this.pos++;
      const name = this.name();
      if (name === '') {
        // `${` followed by junk: Docker rejects it; keep it literally so nothing is lost in display.
        return '${';
      }
      const rest = this.src[this.pos];
      if (rest === '}') {
        this.pos++;
        return this.lookup(name) ?? '';
      }
      let op = '';
      if (rest === ':') {
        op = ':';
        this.pos++;
      }
      op += this.src[this.pos] ?? '';
      this.pos++;
      const word = this.untilBrace();
      const value = this.lookup(name);
      const unset = value === undefined;
      const empty = unset || value === '';
      switch (op) {
        case ':-':
          return empty ? word : value!;
        case '-':
          return unset ? word : value!;
        case ':+':
          return empty ? '' : word;
        case '+':
          return unset ? '' : word;
        default:
          // ${VAR:?msg} and friends: Docker errors when unset; the value is what matters here.
          return value ?? '';
      }
    }
    const name = this.name();
    if (name === '') return '$';
    return this.lookup(name) ?? '';
  }

  private name(): string {
    let n = '';
    while (this.pos < this.src.length && /[A-Za-z0-9_]/.test(this.src[this.pos]!)) n += this.src[this.pos++];
    return n;
  }

  /** The word inside `${VAR:-word}`, itself expanded, up to the matching '}'. */
  private untilBrace(): string {
    let s = '';
    while (this.pos < this.src.length && this.src[this.pos] !== '}') {
      const ch = this.src[this.pos]!;
      if (ch === '$') {
        s += this.dollar();
        continue;
      }
      if (ch === this.escape && this.pos + 1 < this.src.length) {
        s += this.src[this.pos + 1];
        this.pos += 2;
        continue;
      }
      if (ch === '"' || ch === "'") {
        this.pos++;
        s += ch === '"' ? this.doubleQuoted() : this.singleQuoted();
        continue;
      }
      s += ch;
      this.pos++;
    }
    this.pos++;
    return s;
  }
}
