// Content hashes of context files, cached the way BuildKit's context sync decides a file is unchanged: by
// (path, size, mtime, inode). Besides the plain sha256 of the content, a record can hold classic-builder tarsums
// (sha256 over a tar-header string followed by the content), which cannot be derived from the content hash and
// would otherwise force re-reading every file. Records live in memory and in one JSON file per context directory
// under the user cache folder, so a new process (CLI run, LSP restart) only has to walk and lstat.

import { createHash, Hash } from 'crypto';
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import { promisify } from 'util';
import * as os from 'os';
import * as path from 'path';
import { Semaphore } from './pool';
import { ContextEntry } from './types';

// fd-based calls: FileHandle objects cost noticeably more per file when hashing tens of thousands of small files.
const fdOpen = promisify(fs.open);
const fdRead = promisify(fs.read);
const fdStat = promisify(fs.fstat);
const fdClose = promisify(fs.close);

const CACHE_VERSION = 1;
const CHUNK = 1024 * 1024;

/** The stat fields a cached hash is keyed on. */
export interface FileStatKey {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

/** A classic tarsum to compute alongside the content hash: `header` is hashed before the body. */
export interface TarsumRequest {
  /** Cache key within the file's record (not integer-like); the caller guarantees key + stat key determine `header`. */
  readonly key: string;
  readonly header: string;
}

export interface FileHashes {
  readonly sha256: string;
  readonly tar: Readonly<Record<string, string>>;
}

interface FileRecord {
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
  tar: Record<string, string>;
}

export interface HashCacheOptions {
  /** Directory for the persisted cache; null disables persistence; default defaultCacheDir(). */
  readonly cacheDir?: string | null;
  /** Files hashed at once (default 12). */
  readonly concurrency?: number;
}

export interface HashCacheStats {
  filesRead: number;
  bytesRead: number;
  hits: number;
}

/** `$LAYERLENS_CACHE_DIR`, else `$XDG_CACHE_HOME/layerlens`, else `~/.cache/layerlens`. */
export function defaultCacheDir(): string {
  const env = process.env.LAYERLENS_CACHE_DIR;
  if (env) return path.resolve(env);
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'layerlens');
  return path.join(os.homedir(), '.cache', 'layerlens');
}

/** The cache file for one context: keyed by sha256 of its absolute path. */
export function cacheFileFor(cacheDir: string, contextDir: string): string {
  const key = createHash('sha256').update(path.resolve(contextDir), 'utf8').digest('hex');
  return path.join(cacheDir, `context-${key}.json`);
}

function sameKey(r: FileStatKey, k: FileStatKey): boolean {
  return r.size === k.size && r.mtimeMs === k.mtimeMs && r.ino === k.ino;
}

function isRecordTuple(v: unknown): v is [number, number, number, string, Record<string, string>?] {
  return (
    Array.isArray(v) &&
    v.length >= 4 &&
    typeof v[0] === 'number' &&
    typeof v[1] === 'number' &&
    typeof v[2] === 'number' &&
    typeof v[3] === 'string' &&
    (v[4] === undefined || (typeof v[4] === 'object' && v[4] !== null && !Array.isArray(v[4])))
  );
}

export class HashCache {
  readonly stats: HashCacheStats = { filesRead: 0, bytesRead: 0, hits: 0 };
  private readonly records = new Map<string, FileRecord>();
  private readonly inflight = new Map<string, Promise<FileHashes>>();
  private readonly sem: Semaphore;
  private readonly concurrency: number;
  /** Read buffers reused across files (one per concurrent read): a fresh buffer per file made GC dominate. */
  private readonly buffers: Buffer[] = [];
  private readonly file: string | null;
  private dirty = false;

  private constructor(readonly contextDir: string, opts: HashCacheOptions) {
    const dir = opts.cacheDir === undefined ? defaultCacheDir() : opts.cacheDir;
    this.file = dir === null ? null : cacheFileFor(dir, contextDir);
    this.concurrency = Math.max(1, opts.concurrency ?? 12);
    this.sem = new Semaphore(this.concurrency);
  }

  /** Create a cache for `contextDir`, loading the persisted file when there is one; a bad file is ignored. */
  static async load(contextDir: string, opts: HashCacheOptions = {}): Promise<HashCache> {
    const c = HashCache.create(contextDir, opts);
    await c.loadPersisted();
    return c;
  }

  /** An empty cache for `contextDir`; loadPersisted() fills it (so that loading can overlap the context walk). */
  static create(contextDir: string, opts: HashCacheOptions = {}): HashCache {
    return new HashCache(path.resolve(contextDir), opts);
  }

  /** Adds the persisted records (a missing or bad file adds none); records already in memory are newer and kept. */
  async loadPersisted(): Promise<void> {
    if (this.file !== null) await this.readPersisted(this.file);
  }

  /** Path of the persisted cache file (null when persistence is off). */
  get cacheFile(): string | null {
    return this.file;
  }

  private async readPersisted(file: string): Promise<void> {
    let text: string;
    try {
      // As bytes, decoded in one go: readFile(…, 'utf8') decodes chunk by chunk through a StringDecoder, which
      // cost more than the JSON parse for a 20,000-file cache.
      text = (await fsp.readFile(file)).toString('utf8');
    } catch {
      return;
    }
    const loaded = new Map<string, FileRecord>();
    try {
      const data = JSON.parse(text) as { v?: unknown; root?: unknown; files?: unknown };
      if (data.v !== CACHE_VERSION || data.root !== this.contextDir || typeof data.files !== 'object' || data.files === null) return;
      for (const [rel, v] of Object.entries(data.files as Record<string, unknown>)) {
        if (!isRecordTuple(v)) continue;
        const tar: Record<string, string> = {};
        if (v[4]) for (const [k, s] of Object.entries(v[4])) if (typeof s === 'string') tar[k] = s;
        loaded.set(rel, { size: v[0], mtimeMs: v[1], ino: v[2], sha256: v[3], tar });
      }
    } catch {
      return; // A corrupt or truncated cache file is just a cold cache.
    }
    for (const [rel, r] of loaded) if (!this.records.has(rel)) this.records.set(rel, r);
  }

  /** Cached hashes for `rel` if its stat key still matches; never reads the file. */
  peek(rel: string, key: FileStatKey): FileHashes | undefined {
    const r = this.records.get(rel);
    return r && sameKey(r, key) ? r : undefined;
  }

  /**
   * sha256 of the file's content (and the requested tarsums), from the cache when the stat key matches, else by
   * streaming the file once. Concurrent calls for the same path share one read.
   */
  async hash(rel: string, entry: ContextEntry, tar: readonly TarsumRequest[] = []): Promise<FileHashes> {
    const r = this.records.get(rel);
    if (r && sameKey(r, entry) && tar.every((t) => r.tar[t.key] !== undefined)) {
      this.stats.hits++;
      return r;
    }
    const running = this.inflight.get(rel);
    if (running) {
      const res = await running;
      const again = this.records.get(rel);
      if (again && sameKey(again, entry) && tar.every((t) => again.tar[t.key] !== undefined)) return again;
      if (tar.every((t) => res.tar[t.key] !== undefined)) return res;
    }
    const p = this.sem.run(() => this.read(rel, entry, tar));
    this.inflight.set(rel, p);
    try {
      return await p;
    } finally {
      if (this.inflight.get(rel) === p) this.inflight.delete(rel);
    }
  }

  /** Content sha256 only. */
  async contentHash(rel: string, entry: ContextEntry): Promise<string> {
    return (await this.hash(rel, entry)).sha256;
  }

  /**
   * Hash many files with bounded parallelism (reads only cache misses). A fixed set of workers pulls from the list,
   * so tens of thousands of files never mean tens of thousands of pending promises (that tripled GC time).
   */
  async hashMany(items: ReadonlyArray<{ rel: string; entry: ContextEntry; tar?: readonly TarsumRequest[] }>): Promise<FileHashes[]> {
    const settled = await this.hashManySettled(items);
    for (const r of settled) if (r instanceof Error) throw r;
    return settled as FileHashes[];
  }

  /** Like hashMany, but a file that cannot be read yields its Error instead of failing the batch. */
  async hashManySettled(items: ReadonlyArray<{ rel: string; entry: ContextEntry; tar?: readonly TarsumRequest[] }>): Promise<Array<FileHashes | Error>> {
    const out = new Array<FileHashes | Error>(items.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < items.length; i = next++) {
        try {
          out[i] = await this.hash(items[i].rel, items[i].entry, items[i].tar ?? []);
        } catch (e) {
          out[i] = e instanceof Error ? e : new Error(String(e));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, items.length) }, worker));
    return out;
  }

  private async read(rel: string, entry: ContextEntry, tar: readonly TarsumRequest[]): Promise<FileHashes> {
    const abs = path.join(this.contextDir, rel);
    // The caller's lstat is the version we expect; fstat after reading proves the content belongs to it. That
    // keeps small files at four fs calls (open, read, fstat, close), which dominates hashing many small files.
    let expected: FileStatKey = entry;
    const buf = this.buffers.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
    try {
      for (let attempt = 0; ; attempt++) {
        const result = await this.readOnce(abs, rel, entry, expected, tar, buf);
        if (result.stable || attempt >= 2) return result.hashes;
        expected = result.after; // changed since the lstat, or while we read: read again
      }
    } finally {
      this.buffers.push(buf);
    }
  }

  private async readOnce(
    abs: string,
    rel: string,
    entry: ContextEntry,
    expected: FileStatKey,
    tar: readonly TarsumRequest[],
    buf: Buffer,
  ): Promise<{ stable: boolean; after: FileStatKey; hashes: FileHashes }> {
    const fd = await fdOpen(abs, 'r');
    try {
      const prev = this.records.get(rel);
      // Keep tarsums already known for this exact file version; compute the missing ones in the same pass.
      const known: Record<string, string> = prev && sameKey(prev, expected) ? { ...prev.tar } : {};
      const content = createHash('sha256');
      const tarHashes: Array<[string, Hash]> = tar
        .filter((t) => known[t.key] === undefined)
        .map((t) => [t.key, createHash('sha256').update(t.header, 'utf8')]);
      // One byte more than expected so a file that fits the buffer is read to EOF in one call.
      const want = Math.min(buf.length, expected.size + 1);
      let total = 0;
      for (;;) {
        const { bytesRead } = await fdRead(fd, buf, 0, want, null);
        if (bytesRead === 0) break;
        const chunk = buf.subarray(0, bytesRead);
        content.update(chunk);
        for (const [, h] of tarHashes) h.update(chunk);
        total += bytesRead;
        if (bytesRead < want && total === expected.size) break;
      }
      const after = await fdStat(fd);
      this.stats.filesRead++;
      this.stats.bytesRead += total;
      const stable = sameKey(expected, after) && total === after.size;
      const afterKey: FileStatKey = { size: after.size, mtimeMs: after.mtimeMs, ino: after.ino };
      const sha256 = content.digest('hex');
      const computed: Record<string, string> = {};
      for (const [k, h] of tarHashes) computed[k] = h.digest('hex');
      if (stable) {
        // Only results that belong to one stable version of the file are remembered. Tar headers were built from
        // the caller's stat, so their sums belong to the record only if that stat is the current one.
        const rec: FileRecord = { ...afterKey, sha256, tar: known };
        if (sameKey(entry, after)) Object.assign(rec.tar, computed);
        this.records.set(rel, rec);
        this.dirty = true;
      }
      return { stable, after: afterKey, hashes: { sha256, tar: { ...known, ...computed } } };
    } finally {
      await fdClose(fd);
    }
  }

  /** Drop a path's record (e.g. the file was deleted). */
  forget(rel: string): void {
    if (this.records.delete(rel)) this.dirty = true;
  }

  /** Keep only records for which `keep(rel)` holds (run before persisting so deleted files do not accumulate). */
  retain(keep: (rel: string) => boolean): void {
    for (const rel of [...this.records.keys()]) {
      if (!keep(rel)) {
        this.records.delete(rel);
        this.dirty = true;
      }
    }
  }

  get size(): number {
    return this.records.size;
  }

  /** Write the cache file atomically (temp file + rename). No-op when nothing changed or persistence is off. */
  async persist(force = false): Promise<void> {
    if (this.file === null || (!this.dirty && !force)) return;
    const files: Record<string, unknown[]> = {};
    for (const [rel, r] of this.records) {
      const t: unknown[] = [r.size, r.mtimeMs, r.ino, r.sha256];
      if (Object.keys(r.tar).length > 0) t.push(r.tar);
      files[rel] = t;
    }
    const body = JSON.stringify({ v: CACHE_VERSION, root: this.contextDir, files });
    await fsp.mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await fsp.writeFile(tmp, body, { mode: 0o600 });
      await fsp.rename(tmp, this.file);
      this.dirty = false;
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    }
  }
}
