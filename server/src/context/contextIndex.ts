// One build context as the builder will see it: the walked entries after .dockerignore, kept current either by a
// full refresh or by cheap per-path updates driven by a file watcher, plus cached content hashes.
//
// Builder differences that decide which files COPY sees:
//  - 'buildkit': the ignore file is `<Dockerfile>.dockerignore` when present, else `<context>/.dockerignore`; the
//    Dockerfile and ignore file are ordinary context files unless a pattern excludes them.
//  - 'classic': only `<context>/.dockerignore`; the CLI always sends the Dockerfile and .dockerignore (it appends
//    '!Dockerfile' / '!.dockerignore' exceptions when they are excluded) and the daemon deletes them after unpacking
//    if .dockerignore matches them. The end result is the same file set, except that the CLI's extra exception can
//    make it walk into an excluded directory holding the Dockerfile (an implicit directory remains on the daemon),
//    and that removed files still have tarsums a symlink can reach.

import { createHash } from 'crypto';
import { FSWatcher, watch as fsWatch } from 'fs';
import * as path from 'path';
import {
  DockerignoreLocation,
  findDockerignore,
  IgnoreFlavor,
  IgnoreMatcher,
  IgnoreRule,
  loadDockerignore,
  MatchState,
} from './dockerignore';
import { compareWalkOrder, parentOf } from './goPath';
import { HashCache, TarsumRequest } from './hashCache';
import { tarHasBody, tarHeaderFor, tarsumHeaderString, tarsumWithoutBody } from './tarsum';
import { ContextEntry, TarModeVariant } from './types';
import { DEFAULT_MAX_ENTRIES, statEntry, walkContext, walkSubtree, WalkProblem } from './walk';

export type BuilderKind = 'buildkit' | 'classic';

export interface ContextIndexOptions {
  /** Which builder's view of the context to model (default 'buildkit'). */
  readonly builder?: BuilderKind;
  /** How the client matches .dockerignore: 'patternmatcher' (CLI ≥ 23, BuildKit; default) or 'legacy' (CLI ≤ 22). */
  readonly ignoreFlavor?: IgnoreFlavor;
  /**
   * Classic only: how the daemon decides to drop Dockerfile/.dockerignore. 'patternmatcher' = MatchesOrParentMatches
   * (daemon ≥ 23, default); 'legacy' = fileutils.Matches (daemon ≤ 22).
   */
  readonly daemonIgnoreFlavor?: IgnoreFlavor;
  readonly maxEntries?: number;
  /** Hash cache folder; null disables persistence; default `$LAYERLENS_CACHE_DIR` / XDG cache. */
  readonly cacheDir?: string | null;
  readonly hashConcurrency?: number;
  /**
   * Classic tarsum variants to compute whenever a file is read anyway, so a later classicSourceHash needs no second
   * pass over the content. Default: ['perm'] for builder 'classic' (docker CLI ≥ 24), none for 'buildkit'.
   */
  readonly tarVariants?: readonly TarModeVariant[];
  /**
   * A full walk that lasts more than half a second reports here: entries found so far every quarter second, then
   * once with `done` (only when something was reported before). Quick walks report nothing.
   */
  readonly onWalkProgress?: (p: WalkProgress) => void;
}

export interface WalkProgress {
  readonly contextDir: string;
  readonly entries: number;
  readonly elapsedMs: number;
  readonly done: boolean;
}

export interface Disposable {
  dispose(): void;
}

export interface WatchOptions {
  /** Quiet period before a batch of events is applied (default 40 ms). */
  readonly debounceMs?: number;
  /** Called after each applied batch with the context-relative paths that were reported. */
  readonly onChange?: (rels: string[]) => void;
  readonly onError?: (err: Error) => void;
}

/** Read access to a context that sources.ts resolves COPY/ADD sources against. */
export interface ContextView {
  /** Entries COPY can see, in walk order. */
  readonly entries: ReadonlyMap<string, ContextEntry>;
  get(rel: string): ContextEntry | undefined;
  /** Entries strictly below `rel` in walk order ('' = the whole context). */
  subtree(rel: string): ContextEntry[];
  /** Content sha256 (files), sha256 of the link text (symlinks), '' (directories and others). */
  contentHash(rel: string): Promise<string>;
  /** contentHash for many paths at once (files read in parallel). */
  contentHashes(rels: readonly string[]): Promise<Map<string, string>>;
  /** Classic tarsums of entries the CLI sent (including ones the daemon then removed); undefined if not sent. */
  tarsums(rels: readonly string[], variant: TarModeVariant): Promise<Map<string, string | undefined>>;
}

function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** Normalise a path given by a caller or watcher to our context-relative form. */
function normRel(rel: string): string {
  // Fast path: already canonical (hot: sources.ts looks up every entry of a large COPY through get()).
  const n = rel.length;
  if (n > 0 && rel.charCodeAt(0) !== 0x2f && rel.charCodeAt(0) !== 0x2e && rel.charCodeAt(n - 1) !== 0x2f && (path.sep === '/' || !rel.includes(path.sep))) {
    return rel;
  }
  let r = rel.split(path.sep).join('/');
  while (r.startsWith('./')) r = r.slice(2);
  r = r.replace(/^\/+/, '').replace(/\/+$/, '');
  return r === '.' ? '' : r;
}

export class ContextIndex implements ContextView {
  readonly contextDir: string;
  readonly dockerfilePath: string | null;
  readonly builder: BuilderKind;
  readonly hashCache: HashCache;
  private readonly opts: ContextIndexOptions;

  private keys: string[] = [];
  private store = new Map<string, ContextEntry>();
  private ordered: Map<string, ContextEntry> | null = null;
  /** Classic: entries the CLI sent that the daemon deletes (Dockerfile/.dockerignore listed in .dockerignore). */
  private removed = new Map<string, ContextEntry>();
  private leaders: Map<string, string> | null = null;
  private ignoreLoc: DockerignoreLocation | null = null;
  private rules: IgnoreRule[] = [];
  private walkMatcher = new IgnoreMatcher([]);
  private removeSet = new Set<string>();
  private ignored = 0;
  private walkProblems: WalkProblem[] = [];
  private hashProblems = new Map<string, string>();
  private watchers = new Set<Disposable>();
  private fullWalks = 0;

  private constructor(contextDir: string, dockerfilePath: string | null, hashCache: HashCache, opts: ContextIndexOptions) {
    this.contextDir = contextDir;
    this.dockerfilePath = dockerfilePath;
    this.hashCache = hashCache;
    this.builder = opts.builder ?? 'buildkit';
    this.opts = opts;
  }

  /**
   * Index a context. `dockerfilePath` may be absolute or relative to the context directory (null: none known,
   * which only matters for the Dockerfile-specific ignore file and the classic Dockerfile removal).
   */
  static async open(contextDir: string, dockerfilePath: string | null, opts: ContextIndexOptions = {}): Promise<ContextIndex> {
    const ctx = path.resolve(contextDir);
    const df = dockerfilePath ? path.resolve(ctx, dockerfilePath) : null;
    const cache = HashCache.create(ctx, { cacheDir: opts.cacheDir, concurrency: opts.hashConcurrency });
    const idx = new ContextIndex(ctx, df, cache, opts);
    // The walk waits on lstat calls (libuv threads) while the persisted hashes are parsed (main thread).
    await Promise.all([cache.loadPersisted(), idx.refresh()]);
    return idx;
  }

  /**
   * Which walk a Dockerfile sees in a context, as a key: Dockerfiles with the same key see the same entries and can
   * share one index (one walk, one watcher, one hash cache). `dockerfilePath` is what to open that index with: null
   * when the Dockerfile changes nothing in the walk, the Dockerfile itself when it does — BuildKit's
   * `<Dockerfile>.dockerignore` in effect, a Dockerfile outside the context (its own ignore file is watched there), or
   * for the classic builder a .dockerignore that matches the Dockerfile (the CLI force-includes it, the daemon then
   * deletes it). Costs a stat or two (and, classic with a .dockerignore, reading it): asked before every analysis.
   */
  static async walkIdentity(contextDir: string, dockerfilePath: string | null, opts: Pick<ContextIndexOptions, 'builder' | 'ignoreFlavor' | 'daemonIgnoreFlavor'> = {}): Promise<{ key: string; dockerfilePath: string | null }> {
    const ctx = path.resolve(contextDir);
    const df = dockerfilePath ? path.resolve(ctx, dockerfilePath) : null;
    const own = { key: `dockerfile\0${df ?? ''}`, dockerfilePath: df };
    const shared = { key: 'shared', dockerfilePath: null };
    if (df === null) return shared;
    const dfRel = relInside(ctx, df);
    if (dfRel === null) return own;
    const builder = opts.builder ?? 'buildkit';
    const loc = await findDockerignore(ctx, df, { builder });
    if (loc?.kind === 'dockerfile') return own;
    if (builder === 'buildkit' || loc === null) return shared;
    let rules: IgnoreRule[];
    try {
      rules = (await loadDockerignore(loc)).rules;
    } catch {
      rules = [];
    }
    return classicRules(rules, opts, dfRel, true).dockerfileMatters ? own : shared;
  }

  // ---- read access ----

  /** Included entries in walk order. */
  get entries(): ReadonlyMap<string, ContextEntry> {
    if (this.ordered === null) {
      const m = new Map<string, ContextEntry>();
      for (const k of this.keys) m.set(k, this.store.get(k)!);
      this.ordered = m;
    }
    return this.ordered;
  }

  get(rel: string): ContextEntry | undefined {
    return this.store.get(normRel(rel));
  }

  get size(): number {
    return this.keys.length;
  }

  /** The ignore file in effect, or null. */
  get dockerignoreFile(): DockerignoreLocation | null {
    return this.ignoreLoc;
  }

  get dockerignoreRules(): readonly IgnoreRule[] {
    return this.rules;
  }

  /** Pattern errors Docker would fail the build on. */
  get dockerignoreErrors(): readonly string[] {
    return this.walkMatcher.errors;
  }

  /** Paths .dockerignore left out at the last full walk (an excluded directory counts once). */
  get ignoredCount(): number {
    return this.ignored;
  }

  /** Unreadable directories, sockets (from the last walk) and files that could not be hashed. */
  get problems(): readonly WalkProblem[] {
    if (this.hashProblems.size === 0) return this.walkProblems;
    return [...this.walkProblems, ...[...this.hashProblems].map(([rel, message]) => ({ rel, message }))];
  }

  /** Context-relative Dockerfile path, or null when there is none or it lies outside the context. */
  get dockerfileRel(): string | null {
    return this.dockerfilePath ? relInside(this.contextDir, this.dockerfilePath) : null;
  }

  /**
   * Context-relative path of `dockerfile` (absolute), or null when it lies outside the context: for an index shared
   * by several Dockerfiles (opened without one), each asks with its own.
   */
  dockerfileRelOf(dockerfile: string): string | null {
    return relInside(this.contextDir, path.resolve(dockerfile));
  }

  /** Full walks of the context so far (the first one included). */
  get walks(): number {
    return this.fullWalks;
  }

  /** File watchers open on this context. */
  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Classic-builder caveats (e.g. a Dockerfile outside the context makes the CLI rewrite .dockerignore). */
  get warnings(): string[] {
    const w: string[] = [];
    if (this.builder === 'classic' && this.dockerfilePath && this.dockerfileRel === null && this.store.has('.dockerignore')) {
      w.push(
        'The Dockerfile is outside the context: the docker CLI appends a random name to .dockerignore inside the ' +
          'context it sends, so COPY sources that include .dockerignore get a new classic hash on every build.',
      );
    }
    return w;
  }

  subtree(rel: string): ContextEntry[] {
    const r = normRel(rel);
    if (r === '') return this.keys.map((k) => this.store.get(k)!);
    let i = this.indexOf(r);
    if (i < 0) return [];
    const out: ContextEntry[] = [];
    const prefix = r + '/';
    for (i++; i < this.keys.length && this.keys[i].startsWith(prefix); i++) out.push(this.store.get(this.keys[i])!);
    return out;
  }

  /** Binary search in walk order: index of rel, or -(insertion point) - 1. */
  private indexOf(rel: string): number {
    let lo = 0;
    let hi = this.keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareWalkOrder(this.keys[mid], rel);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  // ---- hashing ----

  async contentHash(rel: string): Promise<string> {
    const r = normRel(rel);
    const e = this.store.get(r) ?? this.removed.get(r);
    if (!e) throw new Error(`not in the build context: ${r}`);
    return this.hashOf(e);
  }

  private async hashOf(e: ContextEntry): Promise<string> {
    if (e.kind === 'file') return this.hashCache.contentHash(e.rel, e);
    if (e.kind === 'symlink') return sha256(e.linkTarget ?? '');
    return '';
  }

  /**
   * Content hashes for many paths, read in parallel (cache misses only). Paths that are not in the context, or
   * whose file cannot be read (listed in `problems` then), are left out of the result.
   */
  async contentHashes(rels: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const reads: Array<{ rel: string; entry: ContextEntry; tar: TarsumRequest[] }> = [];
    const leaders = this.tarVariants.length > 0 ? this.hardlinkLeaders() : null;
    for (const rel of rels) {
      const e = this.store.get(rel) ?? this.removed.get(rel);
      if (!e) continue;
      if (e.kind !== 'file') {
        out.set(rel, e.kind === 'symlink' ? sha256(e.linkTarget ?? '') : '');
        continue;
      }
      // Synchronous cache hits: re-fingerprinting a large context after one change must not cost a promise per file.
      const hit = this.hashCache.peek(rel, e);
      if (hit) out.set(rel, hit.sha256);
      else reads.push({ rel, entry: e, tar: leaders ? this.tarRequests(e, this.tarVariants, leaders) : [] });
    }
    if (reads.length > 0) {
      const results = await this.hashCache.hashManySettled(reads);
      reads.forEach((r, i) => {
        const res = results[i];
        if (res instanceof Error) this.hashProblems.set(r.rel, `cannot read: ${res.message}`);
        else {
          this.hashProblems.delete(r.rel);
          out.set(r.rel, res.sha256);
        }
      });
    }
    return out;
  }

  private get tarVariants(): readonly TarModeVariant[] {
    return this.opts.tarVariants ?? (this.builder === 'classic' ? ['perm'] : []);
  }

  /** Tarsum requests for a regular file with a body, one per variant (deduplicated by mode value). */
  private tarRequests(e: ContextEntry, variants: readonly TarModeVariant[], leaders: Map<string, string>): TarsumRequest[] {
    const reqs: TarsumRequest[] = [];
    for (const v of variants) {
      const h = tarHeaderFor(e, v, leaders.get(e.rel));
      if (!tarHasBody(h)) continue;
      const key = 'm' + h.mode; // not an array index: integer-like keys made V8 allocate a 3 KB elements array per record
      if (!reqs.some((r) => r.key === key)) reqs.push({ key, header: tarsumHeaderString(h) });
    }
    return reqs;
  }

  /** First path (walk order) of each hardlink set among the entries the CLI sends, keyed by every later path. */
  private hardlinkLeaders(): Map<string, string> {
    if (this.leaders) return this.leaders;
    const linked: ContextEntry[] = [];
    for (const e of this.store.values()) if (e.nlink > 1 && e.kind !== 'dir' && !e.implicit) linked.push(e);
    for (const e of this.removed.values()) if (e.nlink > 1 && e.kind !== 'dir') linked.push(e);
    linked.sort((a, b) => compareWalkOrder(a.rel, b.rel));
    // pkg/archive keys its "seen" map by inode number alone.
    const first = new Map<number, string>();
    const leaders = new Map<string, string>();
    for (const e of linked) {
      const f = first.get(e.ino);
      if (f === undefined) first.set(e.ino, e.rel);
      else leaders.set(e.rel, f);
    }
    this.leaders = leaders;
    return leaders;
  }

  /**
   * The entries the client puts in the context tar, in walk order: the included entries without the directories
   * that exist only because an exception re-included something below them (the CLI writes no header for those),
   * plus, for the classic builder, the Dockerfile and .dockerignore the CLI sends although the daemon deletes them.
   */
  sentEntries(): ContextEntry[] {
    const out = this.keys.map((k) => this.store.get(k)!).filter((e) => !e.implicit);
    if (this.removed.size === 0) return out;
    return out.concat([...this.removed.values()]).sort((a, b) => compareWalkOrder(a.rel, b.rel));
  }

  /** Hardlink target the CLI writes for `rel` (second and later paths of a set), if any. */
  hardlinkLeader(rel: string): string | undefined {
    return this.hardlinkLeaders().get(normRel(rel));
  }

  async tarsums(rels: readonly string[], variant: TarModeVariant): Promise<Map<string, string | undefined>> {
    const leaders = this.hardlinkLeaders();
    const variants = this.tarVariants.includes(variant) ? this.tarVariants : [variant, ...this.tarVariants];
    const out = new Map<string, string | undefined>();
    const reads: Array<{ rel: string; entry: ContextEntry; key: string; tar: TarsumRequest[] }> = [];
    for (const rel of rels) {
      const e = this.store.get(rel) ?? this.removed.get(rel);
      if (!e || e.implicit) {
        out.set(rel, undefined);
        continue;
      }
      const h = tarHeaderFor(e, variant, leaders.get(rel));
      if (!tarHasBody(h)) {
        out.set(rel, tarsumWithoutBody(h));
        continue;
      }
      // For a regular file the header is fixed by path + stat (which key the record) and the mode value.
      const key = 'm' + h.mode; // not an array index: integer-like keys made V8 allocate a 3 KB elements array per record
      const cached = this.hashCache.peek(rel, e)?.tar[key];
      if (cached !== undefined) out.set(rel, cached);
      else reads.push({ rel, entry: e, key, tar: this.tarRequests(e, variants, leaders) });
    }
    if (reads.length > 0) {
      const results = await this.hashCache.hashMany(reads);
      reads.forEach((r, i) => out.set(r.rel, results[i].tar[r.key]));
    }
    return out;
  }

  /** Persist the hash cache (records of paths no longer in the context are dropped first). */
  async persist(): Promise<void> {
    this.hashCache.retain((rel) => this.store.has(rel) || this.removed.has(rel));
    await this.hashCache.persist();
  }

  // ---- updates ----

  private async loadIgnore(): Promise<void> {
    this.ignoreLoc = await findDockerignore(this.contextDir, this.dockerfilePath, { builder: this.builder });
    try {
      this.rules = (await loadDockerignore(this.ignoreLoc)).rules;
    } catch {
      this.rules = [];
    }
    if (this.builder === 'classic') {
      const c = classicRules(this.rules, this.opts, this.dockerfileRel, this.ignoreLoc !== null);
      this.walkMatcher = c.walkMatcher;
      this.removeSet = c.removeSet;
    } else {
      this.walkMatcher = new IgnoreMatcher(this.rules, { flavor: this.opts.ignoreFlavor ?? 'patternmatcher' });
      this.removeSet = new Set();
    }
  }

  /** Full re-walk (re-reads the ignore file). Hashes stay cached by stat key. */
  async refresh(): Promise<void> {
    this.fullWalks++;
    await this.loadIgnore();
    const report = this.opts.onWalkProgress;
    let reported = false;
    const t0 = performance.now();
    let res;
    try {
      res = await walkContext(this.contextDir, {
        matcher: this.walkMatcher,
        maxEntries: this.opts.maxEntries ?? DEFAULT_MAX_ENTRIES,
        ...(report ? { onProgress: (entries: number, elapsedMs: number) => {
          reported = true;
          report({ contextDir: this.contextDir, entries, elapsedMs, done: false });
        } } : {}),
      });
    } finally {
      // Also when the walk failed (too large, unreadable root): whoever showed progress must close it.
      if (report && reported) report({ contextDir: this.contextDir, entries: res?.entries.size ?? 0, elapsedMs: performance.now() - t0, done: true });
    }
    this.store = res.entries;
    this.keys = [...res.entries.keys()];
    this.ordered = res.entries;
    this.removed = new Map();
    for (const f of this.removeSet) this.detachRemoved(f);
    this.leaders = null;
    this.ignored = res.ignoredCount;
    this.walkProblems = res.problems;
    this.hashProblems.clear();
  }

  /** Classic: move a daemon-deleted file from the visible set to `removed`. */
  private detachRemoved(rel: string): void {
    const e = this.store.get(rel);
    if (!e) return;
    this.removed.set(rel, e);
    this.deleteKeys(rel);
  }

  private isIgnoreFileRel(rel: string): boolean {
    if (rel === '.dockerignore') return true;
    if (this.builder === 'buildkit' && this.dockerfilePath) {
      const specific = path.relative(this.contextDir, this.dockerfilePath + '.dockerignore');
      if (normRel(specific) === rel) return true;
    }
    return false;
  }

  /**
   * Re-stat just these context-relative paths (from a file watcher). A change to the ignore file triggers a full
   * refresh; anything else touches only the named paths (and walks a directory that appeared).
   */
  async markChanged(rels: readonly string[]): Promise<void> {
    const todo = [...new Set(rels.map(normRel))].filter((r) => r !== '' && !r.startsWith('../') && r !== '..');
    if (todo.some((r) => this.isIgnoreFileRel(r))) {
      await this.refresh();
      return;
    }
    // Parents first so a new directory is walked once rather than per child.
    todo.sort(compareWalkOrder);
    for (const rel of todo) await this.updatePath(rel);
  }

  /** Matcher state along rel's ancestors; null when an ancestor is excluded and not walked into at all. */
  private chainState(rel: string): { state: MatchState | undefined; excludedAncestors: string[] } | null {
    let state: MatchState | undefined;
    const excludedAncestors: string[] = [];
    let idx = rel.indexOf('/');
    while (idx >= 0) {
      const anc = rel.slice(0, idx);
      const r = this.walkMatcher.matchChild(anc, state);
      if (r.excluded) {
        if (!this.walkMatcher.mayReincludeUnder(anc)) return null;
        excludedAncestors.push(anc);
      }
      state = r.state;
      idx = rel.indexOf('/', idx + 1);
    }
    return { state, excludedAncestors };
  }

  /**
   * Whether every ancestor of rel is a real directory (a watcher can report paths through a symlinked directory,
   * which are not context paths: the CLI never follows links while walking).
   */
  private async ancestorsAreDirs(rel: string): Promise<boolean> {
    for (let p = parentOf(rel); p !== ''; p = parentOf(p)) {
      const known = this.store.get(p);
      if (known) return known.kind === 'dir';
      const st = await statEntry(this.contextDir, p).catch(() => null);
      if (!st || st.kind !== 'dir') return false;
    }
    return true;
  }

  private async updatePath(rel: string): Promise<void> {
    const chain = this.chainState(rel);
    if (chain === null) return; // inside a directory .dockerignore skips wholesale
    if (!(await this.ancestorsAreDirs(rel))) {
      if (this.store.has(rel) || this.removed.has(rel)) this.removeSubtree(rel);
      return;
    }
    const own = this.walkMatcher.matchChild(rel, chain.state);
    const entry = await statEntry(this.contextDir, rel).catch(() => null);
    const previous = this.store.get(rel) ?? this.removed.get(rel);

    if (entry === null) {
      if (previous) this.removeSubtree(rel);
      this.pruneImplicitAncestors(rel);
      return;
    }
    if (own.excluded && !(entry.kind === 'dir' && this.walkMatcher.mayReincludeUnder(rel))) {
      if (previous) this.removeSubtree(rel);
      this.pruneImplicitAncestors(rel);
      return;
    }
    const implicit = own.excluded;
    const e: ContextEntry = implicit ? { ...entry, implicit: true } : entry;
    const wasDir = previous?.kind === 'dir';
    if (previous && (previous.kind !== e.kind || !!previous.implicit !== implicit)) this.removeSubtree(rel);

    if (e.kind === 'dir' && !(wasDir && this.store.has(rel))) {
      // A directory that is new to us: walk it.
      const sub = await walkSubtree(this.contextDir, rel, own.state, { matcher: this.walkMatcher });
      if (implicit && sub.entries.size === 0) {
        this.pruneImplicitAncestors(rel);
        return;
      }
      await this.ensureAncestors(rel, chain.excludedAncestors);
      this.upsert(e);
      for (const se of sub.entries.values()) this.upsert(se);
      for (const f of this.removeSet) if (f.startsWith(rel + '/')) this.detachRemoved(f);
      return;
    }
    await this.ensureAncestors(rel, chain.excludedAncestors);
    if (this.removeSet.has(rel)) {
      this.removed.set(rel, e);
      this.leaders = null;
      return;
    }
    this.upsert(e);
  }

  /** Make sure every ancestor of rel is present (a file can be reported before its new parent directory). */
  private async ensureAncestors(rel: string, excludedAncestors: readonly string[]): Promise<void> {
    const missing: string[] = [];
    for (let p = parentOf(rel); p !== ''; p = parentOf(p)) {
      if (this.store.has(p)) break;
      missing.push(p);
    }
    for (const p of missing.reverse()) {
      const st = await statEntry(this.contextDir, p).catch(() => null);
      if (st) this.upsert(excludedAncestors.includes(p) ? { ...st, implicit: true } : st);
    }
  }

  private upsert(e: ContextEntry): void {
    const had = this.store.has(e.rel);
    this.store.set(e.rel, e);
    if (!had) {
      const i = this.indexOf(e.rel);
      this.keys.splice(-i - 1, 0, e.rel);
      this.ordered = null;
    } else if (this.ordered !== null) {
      this.ordered.set(e.rel, e); // same position, new value
    }
    if (e.nlink > 1 || had) this.leaders = null;
  }

  private deleteKeys(rel: string): void {
    const i = this.indexOf(rel);
    if (i < 0) return;
    let j = i + 1;
    const prefix = rel + '/';
    while (j < this.keys.length && this.keys[j].startsWith(prefix)) j++;
    for (let k = i; k < j; k++) {
      this.store.delete(this.keys[k]);
      this.hashCache.forget(this.keys[k]);
      this.hashProblems.delete(this.keys[k]);
    }
    this.keys.splice(i, j - i);
    this.ordered = null;
    this.leaders = null;
  }

  private removeSubtree(rel: string): void {
    if (this.removed.delete(rel)) this.leaders = null;
    this.deleteKeys(rel);
  }

  /** Implicit directories exist only while something below them is included. */
  private pruneImplicitAncestors(rel: string): void {
    for (let p = parentOf(rel); p !== ''; p = parentOf(p)) {
      const e = this.store.get(p);
      if (!e || !e.implicit) return;
      const i = this.indexOf(p);
      const next = this.keys[i + 1];
      if (next !== undefined && next.startsWith(p + '/')) return;
      this.deleteKeys(p);
    }
  }

  /**
   * Watch the context recursively and feed changes into markChanged (debounced). Dispose to stop. Node 20 supports
   * recursive fs.watch on Linux.
   */
  watch(opts: WatchOptions = {}): Disposable {
    const pending = new Set<string>();
    let timer: NodeJS.Timeout | null = null;
    let running: Promise<void> = Promise.resolve();
    let closed = false;
    const flush = (): void => {
      timer = null;
      if (closed || pending.size === 0) return;
      const batch = [...pending];
      pending.clear();
      running = running
        .then(() => this.markChanged(batch))
        .then(() => opts.onChange?.(batch))
        .catch((e: unknown) => opts.onError?.(e instanceof Error ? e : new Error(String(e))));
    };
    let w: FSWatcher;
    try {
      w = fsWatch(this.contextDir, { recursive: true, persistent: false }, (_event, filename) => {
        if (closed) return;
        if (filename === null || filename === undefined) {
          // The platform did not say what changed: fall back to a full refresh.
          running = running.then(() => this.refresh()).catch((e: unknown) => opts.onError?.(e instanceof Error ? e : new Error(String(e))));
          return;
        }
        pending.add(normRel(filename.toString()));
        if (timer) clearTimeout(timer);
        timer = setTimeout(flush, opts.debounceMs ?? 40);
      });
    } catch (e) {
      opts.onError?.(e instanceof Error ? e : new Error(String(e)));
      return { dispose: () => undefined };
    }
    w.on('error', (e: Error) => opts.onError?.(e));
    // BuildKit's `<Dockerfile>.dockerignore` can live outside the context (next to a Dockerfile elsewhere).
    let side: FSWatcher | null = null;
    if (this.builder === 'buildkit' && this.dockerfilePath && this.dockerfileRel === null) {
      const dir = path.dirname(this.dockerfilePath);
      const name = path.basename(this.dockerfilePath) + '.dockerignore';
      try {
        side = fsWatch(dir, { persistent: false }, (_event, filename) => {
          if (closed || (filename !== null && filename !== undefined && filename.toString() !== name)) return;
          running = running
            .then(() => this.refresh())
            .then(() => opts.onChange?.([]))
            .catch((e: unknown) => opts.onError?.(e instanceof Error ? e : new Error(String(e))));
        });
        side.on('error', (e: Error) => opts.onError?.(e));
      } catch {
        side = null; // the Dockerfile's directory is gone; nothing to watch
      }
    }
    const d: Disposable = {
      dispose: () => {
        if (closed) return;
        closed = true;
        if (timer) clearTimeout(timer);
        w.close();
        side?.close();
        this.watchers.delete(d);
      },
    };
    this.watchers.add(d);
    return d;
  }

  /** Stop all watchers. */
  dispose(): void {
    for (const d of [...this.watchers]) d.dispose();
  }
}

/** `file` relative to `contextDir` in our form, or null when it is the context itself or lies outside it. */
function relInside(contextDir: string, file: string): string | null {
  const rel = path.relative(contextDir, file);
  if (rel === '' || rel.startsWith('..' + path.sep) || rel === '..' || path.isAbsolute(rel)) return null;
  return normRel(rel);
}

/**
 * The classic builder's view of a .dockerignore: the docker CLI (TrimBuildFilesFromExcludes) keeps .dockerignore and
 * the Dockerfile in the sent context by adding exceptions, and the daemon deletes them after unpacking when its own
 * check matches (only if a .dockerignore was sent). `dockerfileMatters`: the Dockerfile's path changed either.
 */
function classicRules(rules: IgnoreRule[], opts: Pick<ContextIndexOptions, 'ignoreFlavor' | 'daemonIgnoreFlavor'>, dfRel: string | null, ignoreFileSent: boolean): { walkMatcher: IgnoreMatcher; removeSet: Set<string>; dockerfileMatters: boolean } {
  const flavor = opts.ignoreFlavor ?? 'patternmatcher';
  const base = new IgnoreMatcher(rules, { flavor });
  const keep: string[] = [];
  if (base.legacyMatches('.dockerignore')) keep.push('.dockerignore');
  const keepDockerfile = dfRel !== null && base.legacyMatches(dfRel);
  if (keepDockerfile) keep.push(dfRel);
  const removeSet = new Set<string>();
  let removeDockerfile = false;
  if (ignoreFileSent) {
    const daemonFlavor = opts.daemonIgnoreFlavor ?? 'patternmatcher';
    const daemon = daemonFlavor === flavor ? base : new IgnoreMatcher(rules, { flavor: daemonFlavor });
    const removes = (f: string): boolean => (daemonFlavor === 'legacy' ? daemon.legacyMatches(f) : daemon.matchesOrParentMatches(f));
    if (removes('.dockerignore')) removeSet.add('.dockerignore');
    if (dfRel !== null && removes(dfRel)) {
      removeSet.add(dfRel);
      removeDockerfile = true;
    }
  }
  return { walkMatcher: keep.length > 0 ? base.withExceptions(keep) : base, removeSet, dockerfileMatters: keepDockerfile || removeDockerfile };
}
