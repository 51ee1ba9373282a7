// Threads that hash context files (hashWorker.ts), for batches: a cold context of 20,000 files / 500 MB hashed on the
// main thread took ~6 × as long as the same sha256 pass on two threads, because one thread did every update() and
// every read callback. The pool hashes whole files, one job at a time per thread, with synchronous reads (the
// fastest there); what to trust of the result (the stat check before and after) stays with HashCache. Started on
// the first batch worth it, kept while busy, closed after a quiet while; never keeps the process alive when idle.
// Anything wrong with a thread — no script beside this module, a crash — only means the main thread hashes.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Worker } from 'worker_threads';
import type { FileStatKey } from './hashCache';

/** One file to hash: `headers` are tarsum headers, each hashed before the content in its own sha256. */
export interface HashJob {
  readonly id: number;
  readonly abs: string;
  readonly expectedSize: number;
  readonly headers: readonly string[];
}

export interface HashResult {
  readonly sha256: string;
  /** Hex digests, in the order of the job's headers. */
  readonly tars: readonly string[];
  /** Bytes read. */
  readonly total: number;
  /** fstat of the open file after reading. */
  readonly after: FileStatKey;
}

export type HashReply = ({ readonly id: number } & HashResult) | { readonly id: number; readonly error: { readonly message: string; readonly code?: string } };

/**
 * Jobs a thread may hold, sent in messages of up to BATCH: one message per file cost more than hashing a small
 * file (20,000 round trips), so a thread gets files by the dozen and never idles between our event-loop turns.
 */
const PER_THREAD = 128;
const BATCH = 32;
/** Files worth having in flight at once from one batch of HashCache (fills every thread). */
export const POOL_OUTSTANDING = 256;
/** Threads close after this long without work (an editor re-hashes in bursts; a CLI run exits anyway). */
const IDLE_MS = 10_000;

interface Pending {
  readonly job: HashJob;
  readonly resolve: (r: HashResult) => void;
  readonly reject: (e: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly inFlight: Map<number, Pending>;
}

export class HashPool {
  private threads: Thread[] = [];
  private readonly queue: Pending[] = [];
  private queueHead = 0;
  private nextId = 1;
  private broken = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private pumpQueued = false;

  /** @param size threads (default: the CPUs, at most 4) */
  constructor(private readonly size = Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length))) {}

  /** Whether hashing can go to threads here (the script is beside this module and no thread has failed). */
  get usable(): boolean {
    return !this.broken && HashPool.script() !== null;
  }

  private static scriptPath: string | null | undefined;
  private static script(): string | null {
    if (HashPool.scriptPath === undefined) {
      const p = path.join(__dirname, 'hashWorker.js');
      HashPool.scriptPath = fs.existsSync(p) ? p : null;
    }
    return HashPool.scriptPath;
  }

  /** Hashes `abs` on a thread. Rejects with the file's error (ENOENT, EACCES…) or when the threads fail. */
  hash(abs: string, expectedSize: number, headers: readonly string[]): Promise<HashResult> {
    return new Promise<HashResult>((resolve, reject) => {
      if (this.broken) {
        reject(new PoolUnavailable('hashing threads unavailable'));
        return;
      }
      this.queue.push({ job: { id: this.nextId++, abs, expectedSize, headers }, resolve, reject });
      // Jobs asked for in the same turn go out together.
      if (!this.pumpQueued) {
        this.pumpQueued = true;
        queueMicrotask(() => {
          this.pumpQueued = false;
          this.pump();
        });
      }
    });
  }

  /** Stops the threads (pending jobs reject); a later hash() starts them again. */
  dispose(): void {
    this.fail(new PoolUnavailable('hash pool closed'), false);
  }

  private pump(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (this.threads.length === 0 && this.queueHead < this.queue.length && !this.start()) return;
    // Round-robin by batch, so that a short queue is shared rather than all given to the first thread.
    for (let sent = true; sent && this.queueHead < this.queue.length; ) {
      sent = false;
      for (const t of this.threads) {
        const room = Math.min(BATCH, PER_THREAD - t.inFlight.size, this.queue.length - this.queueHead);
        if (room <= 0) continue;
        const batch: HashJob[] = [];
        for (let i = 0; i < room; i++) {
          const p = this.queue[this.queueHead]!;
          this.queue[this.queueHead++] = undefined as unknown as Pending;
          t.inFlight.set(p.job.id, p);
          batch.push(p.job);
        }
        t.worker.ref(); // busy: the process waits for it
        t.worker.postMessage(batch);
        sent = true;
      }
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    if (this.threads.every((t) => t.inFlight.size === 0) && this.queueHead >= this.queue.length && this.threads.length > 0) {
      this.idleTimer = setTimeout(() => this.closeIdle(), IDLE_MS);
      this.idleTimer.unref();
    }
  }

  private start(): boolean {
    const script = HashPool.script();
    if (script === null) {
      this.fail(new PoolUnavailable('no hashWorker.js beside the hash pool'), true);
      return false;
    }
    try {
      const { Worker: WorkerClass } = require('worker_threads') as typeof import('worker_threads');
      for (let i = 0; i < this.size; i++) {
        const thread: Thread = { worker: new WorkerClass(script), inFlight: new Map() };
        thread.worker.on('message', (replies: HashReply[]) => this.settle(thread, replies));
        thread.worker.on('error', (e) => this.fail(new PoolUnavailable(`hashing thread failed: ${e.message}`), true));
        thread.worker.on('exit', (code) => {
          if (this.threads.includes(thread)) this.fail(new PoolUnavailable(`hashing thread exited (${code})`), true);
        });
        thread.worker.unref();
        this.threads.push(thread);
      }
      return true;
    } catch (e) {
      this.fail(new PoolUnavailable(`cannot start hashing threads: ${e instanceof Error ? e.message : String(e)}`), true);
      return false;
    }
  }

  private settle(thread: Thread, replies: readonly HashReply[]): void {
    for (const m of replies) {
      const p = thread.inFlight.get(m.id);
      if (!p) continue;
      thread.inFlight.delete(m.id);
      if ('error' in m) p.reject(Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {}));
      else p.resolve(m);
    }
    if (thread.inFlight.size === 0) thread.worker.unref();
    this.pump();
  }

  /** Closes the threads after a quiet while (nothing is queued or in flight then). */
  private closeIdle(): void {
    this.idleTimer = null;
    const threads = this.threads;
    this.threads = [];
    for (const t of threads) void t.worker.terminate();
  }

  /**
   * Closes every thread; what was queued or in flight rejects with `e` (callers hash those on the main thread).
   * `broken`: no thread is started again.
   */
  private fail(e: Error, broken: boolean): void {
    if (broken) this.broken = true;
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    const threads = this.threads;
    this.threads = [];
    const pending: Pending[] = [];
    for (const t of threads) {
      pending.push(...t.inFlight.values());
      void t.worker.terminate();
    }
    for (let i = this.queueHead; i < this.queue.length; i++) pending.push(this.queue[i]!);
    this.queue.length = 0;
    this.queueHead = 0;
    for (const p of pending) p.reject(e);
  }
}

/** The pool cannot take the job: hash it on the main thread instead. */
export class PoolUnavailable extends Error {}
