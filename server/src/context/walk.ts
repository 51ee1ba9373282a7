// Walk a build context the way the docker CLI's tar writer does (filepath.Walk semantics: lstat, symlinks are
// recorded and never followed, children in byte order of their names), applying .dockerignore as it goes.
// Directories are read concurrently and the tree is put back into walk order at the end, because a sequential
// walk is too slow for large contexts (the LSP re-walks on .dockerignore edits).

import * as fs from 'fs';
import { Dirent, promises as fsp, Stats } from 'fs';
import * as path from 'path';
import { compareGo } from './goPath';
import { IgnoreMatcher, MatchState } from './dockerignore';
import { ContextEntry, EntryKind } from './types';

export const DEFAULT_MAX_ENTRIES = 2_000_000;

export interface WalkProblem {
  /** Context-relative path ('' = the context root). */
  readonly rel: string;
  readonly message: string;
}

export interface WalkOptions {
  /** .dockerignore matcher (with any CLI-added exceptions already appended); none = nothing ignored. */
  readonly matcher?: IgnoreMatcher | null;
  /** Fail with ContextTooLargeError past this many entries (default 2,000,000). */
  readonly maxEntries?: number;
  /** fs calls in flight (default 32). */
  readonly concurrency?: number;
  /**
   * Told the entries found so far every 250 ms once the walk has lasted `progressAfterMs` (default 500): never for a
   * quick walk. A huge context takes seconds; the editor and the CLI say so rather than look stuck.
   */
  readonly onProgress?: (entries: number, elapsedMs: number) => void;
  readonly progressAfterMs?: number;
}

export interface WalkResult {
  /** Included entries in walk order (pre-order, children by byte order of name). */
  readonly entries: Map<string, ContextEntry>;
  /** Unreadable directories, vanished files, sockets: reported, never thrown. */
  readonly problems: WalkProblem[];
  /** Paths .dockerignore left out; an excluded directory that is not descended into counts once. */
  readonly ignoredCount: number;
}

export class ContextTooLargeError extends Error {
  constructor(readonly limit: number, readonly contextDir: string) {
    super(`build context ${contextDir} has more than ${limit} entries (the limit); exclude large trees in .dockerignore`);
    this.name = 'ContextTooLargeError';
  }
}

function kindOf(st: Stats): EntryKind {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** Build a ContextEntry from lstat results. */
export function entryFromStats(rel: string, st: Stats, linkTarget?: string, implicit?: boolean): ContextEntry {
  const kind = kindOf(st);
  const e: {
    rel: string;
    kind: EntryKind;
    mode: number;
    size: number;
    mtimeMs: number;
    ctimeMs: number;
    ino: number;
    dev: number;
    nlink: number;
    uid: number;
    gid: number;
    linkTarget?: string;
    rdev?: number;
    implicit?: boolean;
  } = { rel, kind, mode: st.mode, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, dev: st.dev, nlink: st.nlink, uid: st.uid, gid: st.gid };
  if (kind === 'symlink' && linkTarget !== undefined) e.linkTarget = linkTarget;
  if (st.isCharacterDevice() || st.isBlockDevice()) e.rdev = st.rdev;
  if (implicit) e.implicit = true;
  return e;
}

function errMessage(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  // Node's messages already start with the code ("EACCES: permission denied, scandir …"): do not say it twice.
  if (err && err.code) return err.message.startsWith(`${err.code}:`) ? err.message : `${err.code}: ${err.message}`;
  return String(e);
}

interface Node {
  readonly name: string;
  readonly rel: string;
  entry: ContextEntry | null;
  /** Excluded directory walked only because an exception may re-include something below it. */
  readonly excludedDir: boolean;
  children: Node[] | null;
}

/** lstat + readlink for one path; null when it vanished. */
export async function statEntry(root: string, rel: string, implicit?: boolean): Promise<ContextEntry | null> {
  const abs = path.join(root, rel);
  let st: Stats;
  try {
    st = await fsp.lstat(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
  let link: string | undefined;
  if (st.isSymbolicLink()) link = await fsp.readlink(abs);
  return entryFromStats(rel, st, link, implicit);
}

type Job = { readonly kind: 'stat'; readonly node: Node; readonly state: MatchState | undefined } | { readonly kind: 'readdir'; readonly node: Node; readonly state: MatchState | undefined };

/**
 * The walk runs as a job queue over callback-style fs calls with a fixed number in flight: on slow machines the
 * per-call overhead of promise wrappers and a semaphore queue doubled the walk time of a 20,000-file context.
 */
class Walker {
  private readonly matcher: IgnoreMatcher | null;
  private readonly max: number;
  private readonly limit: number;
  readonly problems: WalkProblem[] = [];
  ignored = 0;
  private count = 0;
  private queue: Job[] = [];
  private head = 0;
  private inflight = 0;
  private failure: Error | null = null;
  private done: (() => void) | null = null;
  private fail: ((e: Error) => void) | null = null;

  constructor(private readonly root: string, private readonly opts: WalkOptions) {
    this.matcher = opts.matcher && !opts.matcher.isEmpty ? opts.matcher : null;
    this.max = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.limit = Math.max(1, opts.concurrency ?? 32);
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : this.root + path.sep + rel;
  }

  private bump(): void {
    if (++this.count > this.max) throw new ContextTooLargeError(this.max, this.root);
  }

  /** Run the queue until it drains. */
  async run(first: Job): Promise<void> {
    const onProgress = this.opts.onProgress;
    const t0 = performance.now();
    // A timer rather than a count: the walk's callbacks return to the event loop between fs calls, so it fires on time.
    const after = this.opts.progressAfterMs ?? 500;
    const timer = onProgress ? setInterval(() => {
      const elapsed = performance.now() - t0;
      if (elapsed >= after) onProgress(this.count, elapsed);
    }, 250) : null;
    try {
      await new Promise<void>((resolve, reject) => {
        this.done = resolve;
        this.fail = reject;
        this.queue.push(first);
        this.pump();
      });
    } finally {
      if (timer) clearInterval(timer);
    }
  }

  private pump(): void {
    while (this.failure === null && this.inflight < this.limit && this.head < this.queue.length) {
      const job = this.queue[this.head++];
      if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.inflight++;
      if (job.kind === 'stat') this.stat(job.node, job.state);
      else this.readdir(job.node, job.state);
    }
    if (this.inflight === 0 && (this.head >= this.queue.length || this.failure !== null)) {
      if (this.failure !== null) this.fail?.(this.failure);
      else this.done?.();
      this.done = this.fail = null;
    }
  }

  private finish(): void {
    this.inflight--;
    this.pump();
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (this.failure === null) this.failure = e instanceof Error ? e : new Error(String(e));
    }
    this.finish();
  }

  private readdir(node: Node, state: MatchState | undefined): void {
    fs.readdir(this.abs(node.rel), { withFileTypes: true }, (err, dirents) =>
      this.guard(() => {
        if (err) {
          this.problems.push({ rel: node.rel, message: `cannot read directory: ${errMessage(err)}` });
          node.children = [];
          return;
        }
        this.children(node, state, dirents);
      }),
    );
  }

  private children(node: Node, state: MatchState | undefined, dirents: Dirent[]): void {
    const children: Node[] = [];
    for (const d of dirents) {
      const name = d.name;
      const rel = node.rel === '' ? name : node.rel + '/' + name;
      let excluded = false;
      let childState: MatchState | undefined;
      if (this.matcher) {
        const r = this.matcher.matchChild(rel, state);
        excluded = r.excluded;
        childState = r.state;
        if (excluded) {
          const isDir = d.isDirectory();
          const typeKnown = isDir || d.isFile() || d.isSymbolicLink() || d.isFIFO() || d.isSocket() || d.isCharacterDevice() || d.isBlockDevice();
          // Excluded files need no lstat; an excluded directory is only walked for possible '!' exceptions.
          if ((typeKnown && !isDir) || (isDir && !this.matcher.mayReincludeUnder(rel))) {
            this.ignored++;
            continue;
          }
        }
      }
      const child: Node = { name, rel, entry: null, excludedDir: excluded, children: null };
      children.push(child);
      this.queue.push({ kind: 'stat', node: child, state: childState });
    }
    node.children = children;
  }

  private stat(node: Node, state: MatchState | undefined): void {
    const abs = this.abs(node.rel);
    fs.lstat(abs, (err, st) => {
      if (err) {
        this.guard(() => {
          if (err.code !== 'ENOENT' && err.code !== 'ENOTDIR') this.problems.push({ rel: node.rel, message: `cannot stat: ${errMessage(err)}` });
          // readdir decoded a name that is not UTF-8 (bytes became U+FFFD), so it cannot be opened by that name:
          // say so rather than let the file vanish from the context without a word.
          else if (node.name.includes('\uFFFD')) this.problems.push({ rel: node.rel, message: 'the name is not valid UTF-8: left out of the analysis (docker build would send it)' });
        });
        return;
      }
      if (st.isSymbolicLink()) {
        fs.readlink(abs, (err2, link) =>
          this.guard(() => {
            if (err2) {
              this.problems.push({ rel: node.rel, message: `cannot read link: ${errMessage(err2)}` });
              return;
            }
            this.accept(node, st, link, state);
          }),
        );
        return;
      }
      this.guard(() => this.accept(node, st, undefined, state));
    });
  }

  private accept(node: Node, st: Stats, link: string | undefined, state: MatchState | undefined): void {
    const excluded = node.excludedDir;
    if (excluded && !st.isDirectory()) {
      // d_type was unknown; now that we know it is not a directory the exclusion applies.
      this.ignored++;
      return;
    }
    if (st.isSocket()) {
      this.problems.push({ rel: node.rel, message: 'socket: the docker CLI cannot put sockets in the build context (skipped)' });
      return;
    }
    node.entry = entryFromStats(node.rel, st, link, excluded || undefined);
    if (!excluded) this.bump();
    if (node.entry.kind === 'dir') this.queue.push({ kind: 'readdir', node, state });
  }

  /** Emit nodes in walk order; excluded directories only when something below them was included. */
  emit(node: Node, out: Map<string, ContextEntry>): boolean {
    const kids = node.children;
    if (!kids) return false;
    kids.sort((a, b) => compareGo(a.name, b.name));
    let any = false;
    for (const k of kids) {
      if (!k.entry) continue;
      if (k.excludedDir) {
        const sub = new Map<string, ContextEntry>();
        if (this.emit(k, sub)) {
          this.bump();
          out.set(k.rel, k.entry);
          for (const [r, e] of sub) out.set(r, e);
          any = true;
        } else {
          this.ignored++;
        }
        continue;
      }
      out.set(k.rel, k.entry);
      any = true;
      if (k.entry.kind === 'dir') this.emit(k, out);
    }
    return any;
  }
}

/** Walk the context directory `root`, returning included entries in walk order. */
export async function walkContext(root: string, opts: WalkOptions = {}): Promise<WalkResult> {
  return walkSubtree(root, '', undefined, opts);
}

/**
 * Walk the directory `under` (context-relative, '' = root) whose own entry the caller already has; `state` is the
 * matcher state computed for `under` itself (undefined for the root). Only entries below `under` are returned.
 */
export async function walkSubtree(
  root: string,
  under: string,
  state: MatchState | undefined,
  opts: WalkOptions = {},
): Promise<WalkResult> {
  const w = new Walker(path.resolve(root), opts);
  const top: Node = { name: '', rel: under, entry: null, excludedDir: false, children: null };
  await w.run({ kind: 'readdir', node: top, state });
  const entries = new Map<string, ContextEntry>();
  w.emit(top, entries);
  return { entries, problems: w.problems, ignoredCount: w.ignored };
}
