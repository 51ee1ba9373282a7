// Content hashes of context files, cached the way BuildKit's context sync decides a file is unchanged: by
// (path, size, mtime, inode). Besides the plain sha256 of the content, a record can hold classic-builder tarsums
// (sha256 over a tar-header string followed by the content), which cannot be derived from the content hash and
// would otherwise force re-reading every file. Records live in memory and in one binary file per context directory
// under the user cache folder (see encodeCacheFile), so a new process (CLI run, LSP restart) only has to walk and
// lstat.

import { createHash, Hash } from 'crypto';
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import { promisify } from 'util';
import * as os from 'os';
import * as path from 'path';
import { HashPool, POOL_BATCH, PoolUnavailable, type HashResult } from './hashPool';
import { Semaphore } from './pool';
import { ContextEntry } from './types';

// fd-based calls: FileHandle objects cost noticeably more per file when hashing tens of thousands of small files.
const fdOpen = promisify(fs.open);
const fdRead = promisify(fs.read);
const fdStat = promisify(fs.fstat);
const fdClose = promisify(fs.close);

/** Format of the persisted file (2: the binary layout of encodeCacheFile; 1 was JSON, no longer read). */
const CACHE_VERSION = 2;
const MAGIC = 'LLHC';
const CHUNK = 1024 * 1024;
/**
 * A batch goes to the hashing threads (HashPool) when its uncached files hold this much, or are this many: starting
 * the threads takes ~80 ms here, and the main thread alone hashes ~150 MB/s while it does everything else.
 */
const POOL_MIN_BYTES = 8 * 1024 * 1024;
const POOL_MIN_FILES = 1000;

/** One pool per process: threads are a process resource, shared by every context's cache. */
let sharedPool: HashPool | null = null;
function hashPool(): HashPool {
  sharedPool ??= new HashPool();
  return sharedPool;
}

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
  /** Files read at once on the main thread (default 12); batches for the hashing threads are bounded by the pool. */
  readonly concurrency?: number;
}

export interface HashCacheStats {
  filesRead: number;
  bytesRead: number;
  hits: number;
  /** Of filesRead, those hashed on the hashing threads (HashPool). */
  threadReads: number;
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
  return path.join(cacheDir, `context-${key}.bin`);
}

/**
 * The persisted cache, columnar so that loading 20,000 records is a few bulk decodes rather than a JSON parse of
 * 20,000 small arrays (the JSON form took ~0.3 s of a 1.6 s CLI run): the magic `LLHC`, u32 format, u32 record
 * count N, u32 length + the context root (UTF-8), u32 length + every path joined by NUL (a name cannot hold NUL),
 * N × (size, mtimeMs, ino) as little-endian float64, N × 32 bytes of content sha256, u32 length + JSON of the
 * tarsums as [[record index, {key: sum}], …], and last the sha256 of everything before it, so that a truncated or
 * damaged file is recognised as a whole instead of yielding wrong hashes.
 */
export function encodeCacheFile(root: string, records: ReadonlyMap<string, { readonly size: number; readonly mtimeMs: number; readonly ino: number; readonly sha256: string; readonly tar: Readonly<Record<string, string>> }>): Buffer {
  const n = records.size;
  const rels: string[] = [];
  const nums = Buffer.allocUnsafe(24 * n);
  const hex: string[] = [];
  const tars: Array<[number, Readonly<Record<string, string>>]> = [];
  let i = 0;
  for (const [rel, r] of records) {
    rels.push(rel);
    nums.writeDoubleLE(r.size, 24 * i);
    nums.writeDoubleLE(r.mtimeMs, 24 * i + 8);
    nums.writeDoubleLE(r.ino, 24 * i + 16);
    hex.push(r.sha256);
    if (Object.keys(r.tar).length > 0) tars.push([i, r.tar]);
    i++;
  }
  const rootBytes = Buffer.from(root, 'utf8');
  const relBytes = Buffer.from(rels.join('\0'), 'utf8');
  const hashes = Buffer.from(hex.join(''), 'hex');
  const tarBytes = Buffer.from(JSON.stringify(tars), 'utf8');
  const u32 = (v: number): Buffer => {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v);
    return b;
  };
  const body = Buffer.concat([Buffer.from(MAGIC, 'latin1'), u32(CACHE_VERSION), u32(n), u32(rootBytes.length), rootBytes,
    u32(relBytes.length), relBytes, nums, hashes, u32(tarBytes.length), tarBytes]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** Reads a file written by encodeCacheFile for `root`; null when it is damaged, of another format or another root. */
export function decodeCacheFile(buf: Buffer, root: string): Map<string, FileRecord> | null {
  const end = buf.length - 32;
  if (end < 16 || buf.toString('latin1', 0, 4) !== MAGIC || buf.readUInt32LE(4) !== CACHE_VERSION) return null;
  if (!createHash('sha256').update(buf.subarray(0, end)).digest().equals(buf.subarray(end))) return null;
  let off = 8;
  const take = (len: number): number => {
    if (len < 0 || off + len > end) throw new RangeError('cache file ends early');
    const at = off;
    off += len;
    return at;
  };
  const u32 = (): number => buf.readUInt32LE(take(4));
  try {
    const n = u32();
    const rootLen = u32();
    const rootAt = take(rootLen);
    if (buf.toString('utf8', rootAt, rootAt + rootLen) !== root) return null;
    const relLen = u32();
    const relAt = take(relLen);
    const rels = n === 0 ? [] : buf.toString('utf8', relAt, relAt + relLen).split('\0');
    if (rels.length !== n) return null;
    const numAt = take(24 * n);
    const hashAt = take(32 * n);
    const hex = buf.toString('hex', hashAt, hashAt + 32 * n);
    const tarLen = u32();
    const tarAt = take(tarLen);
    if (off !== end) return null;
    const out = new Map<string, FileRecord>();
    for (let i = 0; i < n; i++) {
      const o = numAt + 24 * i;
      out.set(rels[i]!, { size: buf.readDoubleLE(o), mtimeMs: buf.readDoubleLE(o + 8), ino: buf.readDoubleLE(o + 16), sha256: hex.slice(64 * i, 64 * i + 64), tar: {} });
    }
    const tars = JSON.parse(buf.toString('utf8', tarAt, tarAt + tarLen)) as unknown;
    if (!Array.isArray(tars)) return null;
    for (const t of tars as unknown[]) {
      if (!Array.isArray(t) || typeof t[0] !== 'number' || typeof t[1] !== 'object' || t[1] === null) return null;
      const rel = rels[t[0] as number];
      if (rel === undefined) return null;
      const rec = out.get(rel)!;
      for (const [k, v] of Object.entries(t[1] as Record<string, unknown>)) if (typeof v === 'string') rec.tar[k] = v;
    }
    return out;
  } catch {
    return null;
  }
}

/**
 * Reads a file once on this thread: sha256 of the content and of each header followed by the content, and the fstat
 * after reading. fd-based calls: the caller's lstat is the version expected, the fstat proves what was read
 * belongs to it, and small files stay at four fs calls (open, read, fstat, close).
 */
async function readHere(abs: string, expectedSize: number, headers: readonly string[], buf: Buffer): Promise<HashResult> {
  const fd = await fdOpen(abs, 'r');
  try {
    const content = createHash('sha256');
    const tarHashes: Hash[] = headers.map((h) => createHash('sha256').update(h, 'utf8'));
    // One byte more than expected so a file that fits the buffer is read to EOF in one call.
    const want = Math.min(buf.length, expectedSize + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await fdRead(fd, buf, 0, want, null);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      content.update(chunk);
      for (const h of tarHashes) h.update(chunk);
      total += bytesRead;
      if (bytesRead < want && total === expectedSize) break;
    }
    const after = await fdStat(fd);
    return { sha256: content.digest('hex'), tars: tarHashes.map((h) => h.digest('hex')), total, after: { size: after.size, mtimeMs: after.mtimeMs, ino: after.ino } };
  } finally {
    await fdClose(fd);
  }
}

function sameKey(r: FileStatKey, k: FileStatKey): boolean {
  return r.size === k.size && r.mtimeMs === k.mtimeMs && r.ino === k.ino;
}

export class HashCache {
  readonly stats: HashCacheStats = { filesRead: 0, bytesRead: 0, hits: 0, threadReads: 0 };
  private readonly recordMap = new Map<string, FileRecord>();
  /**
   * The persisted file, read but not decoded yet: decoding 20,000 records takes ~150 ms, and a run that finds nothing
   * changed since the last verified build (the verified store answers) never needs a hash.
   */
  private undecoded: Buffer | null = null;
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
    try {
      this.undecoded = await fsp.readFile(file);
    } catch {
      // No file (or an unreadable one): a cold cache.
    }
  }

  /** The records, the persisted ones decoded on first use (records already in memory are newer and kept). */
  private get records(): Map<string, FileRecord> {
    const bytes = this.undecoded;
    if (bytes !== null) {
      this.undecoded = null;
      // A corrupt, truncated or foreign cache file is just a cold cache.
      const loaded = decodeCacheFile(bytes, this.contextDir);
      if (loaded !== null) for (const [rel, r] of loaded) if (!this.recordMap.has(rel)) this.recordMap.set(rel, r);
    }
    return this.recordMap;
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
    const r = this.cached(rel, entry, tar);
    if (r) {
      this.stats.hits++;
      return r;
    }
    const running = this.inflight.get(rel);
    if (running) {
      const res = await running;
      const again = this.cached(rel, entry, tar);
      if (again) return again;
      if (tar.every((t) => res.tar[t.key] !== undefined)) return res;
    }
    const p = this.read(rel, entry, tar);
    this.inflight.set(rel, p);
    try {
      return await p;
    } finally {
      if (this.inflight.get(rel) === p) this.inflight.delete(rel);
    }
  }

  /** The record for this version of the file when it holds every requested tarsum. */
  private cached(rel: string, entry: FileStatKey, tar: readonly TarsumRequest[]): FileRecord | undefined {
    const r = this.records.get(rel);
    return r && sameKey(r, entry) && tar.every((t) => r.tar[t.key] !== undefined) ? r : undefined;
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
    // Cached ones are answered now; what is left decides where the rest is read (see POOL_MIN_BYTES).
    const misses: number[] = [];
    let missBytes = 0;
    items.forEach((it, i) => {
      const hit = this.cached(it.rel, it.entry, it.tar ?? []);
      if (hit) {
        this.stats.hits++;
        out[i] = hit;
      } else {
        misses.push(i);
        missBytes += it.entry.size;
      }
    });
    const pool = misses.length >= POOL_MIN_FILES || missBytes >= POOL_MIN_BYTES ? hashPool() : null;
    const here = pool?.usable ? await this.hashOnThreads(pool, items, misses, out) : misses;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let k = next++; k < here.length; k = next++) {
        const it = items[here[k]!]!;
        try {
          out[here[k]!] = await this.hash(it.rel, it.entry, it.tar ?? []);
        } catch (e) {
          out[here[k]!] = e instanceof Error ? e : new Error(String(e));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, here.length) }, worker));
    return out;
  }

  /**
   * Hashes the files at `misses` (uncached) on the threads, POOL_BATCH files per message, and fills `out` with what
   * they give. Returns the indices left for this thread: files that changed while a thread read them (read again
   * here, with its retries), and every file the threads could not take.
   */
  private async hashOnThreads(
    pool: HashPool,
    items: ReadonlyArray<{ rel: string; entry: ContextEntry; tar?: readonly TarsumRequest[] }>,
    misses: readonly number[],
    out: Array<FileHashes | Error>,
  ): Promise<number[]> {
    const left: number[] = [];
    const chunks: number[][] = [];
    for (let i = 0; i < misses.length; i += POOL_BATCH) chunks.push(misses.slice(i, i + POOL_BATCH));
    await Promise.all(chunks.map(async (ids) => {
      const plans = ids.map((i) => this.plan(items[i]!.rel, items[i]!.entry, items[i]!.tar ?? []));
      let results: Array<HashResult | Error>;
      try {
        results = await pool.hashBatch(ids.map((i, k) => ({
          abs: path.join(this.contextDir, items[i]!.rel),
          expectedSize: items[i]!.entry.size,
          headers: plans[k]!.wanted.map((t) => t.header),
        })));
      } catch (e) {
        if (!(e instanceof PoolUnavailable)) throw e;
        left.push(...ids);
        return;
      }
      ids.forEach((i, k) => {
        const r = results[k]!;
        if (r instanceof Error) {
          out[i] = r; // the file's own error, as reading it here would give
          return;
        }
        this.stats.threadReads++;
        const settled = this.settleRead(items[i]!.rel, items[i]!.entry, items[i]!.entry, plans[k]!, r);
        if (settled.stable) out[i] = settled.hashes;
        else left.push(i);
      });
    }));
    return left;
  }

  private async read(rel: string, entry: ContextEntry, tar: readonly TarsumRequest[]): Promise<FileHashes> {
    // The caller's lstat is the version we expect; the fstat after reading proves the content belongs to it.
    let expected: FileStatKey = entry;
    for (let attempt = 0; ; attempt++) {
      const result = await this.readOnce(rel, entry, expected, tar);
      if (result.stable || attempt >= 2) return result.hashes;
      expected = result.after; // changed since the lstat, or while we read: read again
    }
  }

  /** One read on this thread, bounded by the semaphore, with one of the reused buffers. */
  private readLocally(abs: string, expectedSize: number, headers: readonly string[]): Promise<HashResult> {
    return this.sem.run(async () => {
      const buf = this.buffers.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
      try {
        return await readHere(abs, expectedSize, headers, buf);
      } finally {
        this.buffers.push(buf);
      }
    });
  }

  private async readOnce(
    rel: string,
    entry: ContextEntry,
    expected: FileStatKey,
    tar: readonly TarsumRequest[],
  ): Promise<{ stable: boolean; after: FileStatKey; hashes: FileHashes }> {
    const plan = this.plan(rel, expected, tar);
    const read = await this.readLocally(path.join(this.contextDir, rel), expected.size, plan.wanted.map((t) => t.header));
    return this.settleRead(rel, entry, expected, plan, read);
  }

  /** Tarsums already known for this exact file version are kept; the missing ones are computed in the same pass. */
  private plan(rel: string, expected: FileStatKey, tar: readonly TarsumRequest[]): { known: Record<string, string>; wanted: TarsumRequest[] } {
    const prev = this.records.get(rel);
    const known: Record<string, string> = prev && sameKey(prev, expected) ? { ...prev.tar } : {};
    return { known, wanted: tar.filter((t) => known[t.key] === undefined) };
  }

  /** What a read (here or on a thread) gives: remembered only when the file stayed the version expected around it. */
  private settleRead(
    rel: string,
    entry: ContextEntry,
    expected: FileStatKey,
    plan: { known: Record<string, string>; wanted: readonly TarsumRequest[] },
    read: HashResult,
  ): { stable: boolean; after: FileStatKey; hashes: FileHashes } {
    this.stats.filesRead++;
    this.stats.bytesRead += read.total;
    const { after, total, sha256 } = read;
    const stable = sameKey(expected, after) && total === after.size;
    const computed: Record<string, string> = {};
    plan.wanted.forEach((t, i) => (computed[t.key] = read.tars[i]!));
    if (stable) {
      // Only results that belong to one stable version of the file are remembered. Tar headers were built from
      // the caller's stat, so their sums belong to the record only if that stat is the current one.
      const rec: FileRecord = { size: after.size, mtimeMs: after.mtimeMs, ino: after.ino, sha256, tar: plan.known };
      if (sameKey(entry, after)) Object.assign(rec.tar, computed);
      this.records.set(rel, rec);
      this.dirty = true;
    }
    return { stable, after, hashes: { sha256, tar: { ...plan.known, ...computed } } };
  }

  /** Drop a path's record (e.g. the file was deleted). */
  forget(rel: string): void {
    if (this.records.delete(rel)) this.dirty = true;
  }

  /** Keep only records for which `keep(rel)` holds (run before persisting so deleted files do not accumulate). */
  retain(keep: (rel: string) => boolean): void {
    // Never used since it was read: nothing in memory to drop, and the file is only rewritten when dirty anyway.
    if (this.undecoded !== null) return;
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
    const body = encodeCacheFile(this.contextDir, this.records);
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
