// Benchmark (e), the hashing limit: sha256 of every context file, as fast as Node can do it here.
// - one worker thread per core (plus none on the main thread, which only waits), started before timing;
// - the file list (largest first) is handed over once; workers pull the next index from a shared atomic counter,
//   so big and small files balance themselves without any message per file;
// - synchronous open/read/close into one reusable 4 MiB buffer per worker (no promise, no allocation per file).
// The timed part is one full pass: read + hash of every byte, digests combined so nothing can be skipped.

import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import { isMainThread, parentPort, Worker, workerData } from 'worker_threads';

const BUF = 4 * 1024 * 1024;

interface Init {
  readonly files: readonly string[];
  readonly counter: SharedArrayBuffer;
}

interface Done {
  readonly bytes: number;
  readonly files: number;
  readonly combined: string;
}

function workerMain(): void {
  const { files, counter } = workerData as Init;
  const next = new Int32Array(counter);
  const buf = Buffer.allocUnsafeSlow(BUF);
  parentPort!.on('message', (msg: string) => {
    if (msg !== 'go') return;
    let bytes = 0;
    let count = 0;
    const combined = createHash('sha256');
    for (let i = Atomics.add(next, 0, 1); i < files.length; i = Atomics.add(next, 0, 1)) {
      const fd = fs.openSync(files[i]!, 'r');
      const h = createHash('sha256');
      try {
        for (;;) {
          const n = fs.readSync(fd, buf, 0, BUF, null);
          if (n === 0) break;
          h.update(n === BUF ? buf : buf.subarray(0, n));
          bytes += n;
        }
      } finally {
        fs.closeSync(fd);
      }
      combined.update(h.digest());
      count++;
    }
    const done: Done = { bytes, files: count, combined: combined.digest('hex') };
    parentPort!.postMessage(done);
  });
  parentPort!.postMessage('ready');
}

export class Sha256Pool {
  private constructor(
    private readonly workers: Worker[],
    private readonly counter: Int32Array,
    readonly fileCount: number,
  ) {}

  /** Start `threads` workers (default: one per core) over this file list. */
  static async start(files: readonly string[], threads = os.availableParallelism()): Promise<Sha256Pool> {
    const sab = new SharedArrayBuffer(4);
    const init: Init = { files, counter: sab };
    const workers = Array.from({ length: Math.max(1, threads) }, () => new Worker(__filename, { workerData: init }));
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      w.once('error', reject);
      w.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(`unexpected worker message ${String(m)}`))));
    })));
    return new Sha256Pool(workers, new Int32Array(sab), files.length);
  }

  get threads(): number {
    return this.workers.length;
  }

  /** One timed pass over every file. */
  async pass(): Promise<{ ms: number; bytes: number; files: number }> {
    Atomics.store(this.counter, 0, 0);
    const t0 = process.hrtime.bigint();
    const results = await Promise.all(this.workers.map((w) => new Promise<Done>((resolve, reject) => {
      const onErr = (e: Error): void => reject(e);
      w.once('error', onErr);
      w.once('message', (m: Done) => {
        w.off('error', onErr);
        resolve(m);
      });
      w.postMessage('go');
    })));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const files = results.reduce((s, r) => s + r.files, 0);
    if (files !== this.fileCount) throw new Error(`sha256 pass hashed ${files} of ${this.fileCount} files`);
    return { ms, bytes: results.reduce((s, r) => s + r.bytes, 0), files };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

if (!isMainThread && (workerData as Init | undefined)?.counter) workerMain();
