// Threads that hash context files (hashWorker.ts), for big batches: a cold context of 20,000 files / 500 MB hashed on
// the main thread took 2.0-2.4 s here, against 0.5 s for a bare sha256 pass on two threads, because one thread did
// every update() and every read callback. Files go to the threads in batches (one message per file cost more than
// hashing a small one); each thread reads its files synchronously, the fastest there. What to trust of a result
// (the stat check around the read) stays with HashCache. Threads start with the first batch, are kept while busy,
// close after a quiet while, and never keep the process alive when idle. Anything wrong with a thread — no script
// beside this module, a crash — only means the main thread hashes.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Worker } from 'worker_threads';
import type { FileStatKey } from './hashCache';

/** One file to hash: `headers` are tarsum headers, each hashed before the content in its own sha256. */
export interface HashJob {
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

/** A file's own failure (ENOENT, EACCES…), as the thread saw it. */
export interface HashFailure {
  readonly error: { readonly message: string; readonly code?: string };
}

/** Main thread → hashing thread. */
export interface BatchRequest {
  readonly id: number;
  readonly jobs: readonly HashJob[];
}

/** Hashing thread → main thread: one answer per job, in order. */
export interface BatchReply {
  readonly id: number;
  readonly results: ReadonlyArray<HashResult | HashFailure>;
}

/** Files per message: enough that messaging costs little per file, few enough that threads share a batch evenly. */
export const POOL_BATCH = 32;
/** Batches a thread holds, so that it never idles between our event-loop turns. */
const BATCHES_PER_THREAD = 4;
/** Threads close after this long without work (an editor re-hashes in bursts; a CLI run exits anyway). */
const IDLE_MS = 10_000;

interface Pending {
  readonly request: BatchRequest;
  readonly resolve: (r: Array<HashResult | Error>) => void;
  readonly reject: (e: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly inFlight: Map<number, Pending>;
}

/** The threads cannot take the batch (none can start, one failed, the pool closed): hash it on the main thread. */
export class PoolUnavailable extends Error {}

export class HashPool {
  private threads: Thread[] = [];
  private readonly queue: Pending[] = [];
  private queueHead = 0;
  private nextId = 1;
  private broken = false;
  private idleTimer: NodeJS.Timeout | null = null;

  /** @param size threads (default: the CPUs, at most 4) */
  constructor(private readonly size = Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length))) {}

  private static scriptPath: string | null | undefined;
  private static script(): string | null {
    if (HashPool.scriptPath === undefined) {
      const p = path.join(__dirname, 'hashWorker.js');
      HashPool.scriptPath = fs.existsSync(p) ? p : null;
    }
    return HashPool.scriptPath;
  }

  /** Whether hashing can go to threads here (the script is beside this module and no thread has failed). */
  get usable(): boolean {
    return !this.broken && HashPool.script() !== null;
  }

  /**
   * Hashes the files on a thread: one result per job, in order — a HashResult, or the file's own Error (with its
   * `code`). Rejects with PoolUnavailable when the threads cannot do it.
   */
  hashBatch(jobs: readonly HashJob[]): Promise<Array<HashResult | Error>> {
    return new Promise((resolve, reject) => {
      if (this.broken) {
        reject(new PoolUnavailable('hashing threads unavailable'));
        return;
      }
      this.queue.push({ request: { id: this.nextId++, jobs }, resolve, reject });
      this.pump();
    });
  }

  /** Stops the threads (what they held rejects with PoolUnavailable); a later batch starts them again. */
  dispose(): void {
    this.fail(new PoolUnavailable('hash pool closed'), false);
  }

  private pump(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (this.threads.length === 0 && this.queueHead < this.queue.length && !this.start()) return;
    // Round-robin, so that a short queue is shared rather than all given to the first thread.
    for (let sent = true; sent; ) {
      sent = false;
      for (const t of this.threads) {
        if (t.inFlight.size >= BATCHES_PER_THREAD || this.queueHead >= this.queue.length) continue;
        const p = this.queue[this.queueHead]!;
        this.queue[this.queueHead++] = undefined as unknown as Pending;
        t.inFlight.set(p.request.id, p);
        t.worker.ref(); // busy: the process waits for it
        t.worker.postMessage(p.request);
        sent = true;
      }
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    if (this.threads.length > 0 && this.queueHead >= this.queue.length && this.threads.every((t) => t.inFlight.size === 0)) {
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
        thread.worker.on('message', (reply: BatchReply) => this.settle(thread, reply));
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

  private settle(thread: Thread, reply: BatchReply): void {
    const p = thread.inFlight.get(reply.id);
    if (!p) return;
    thread.inFlight.delete(reply.id);
    if (thread.inFlight.size === 0) thread.worker.unref();
    p.resolve(reply.results.map((r) => ('error' in r ? Object.assign(new Error(r.error.message), r.error.code ? { code: r.error.code } : {}) : r)));
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
