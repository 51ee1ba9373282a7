// A hashing thread of HashPool (hashPool.ts): reads the files of each batch one at a time, synchronously (this thread
// has nothing else to do), into one reused buffer, and answers for each with the sha256 of its content, the requested
// tarsums (a header string hashed before the content) and the file's fstat after the read. Bundled as
// dist/hashWorker.js beside the bundles that start it (esbuild.mjs).

import { createHash } from 'crypto';
import * as fs from 'fs';
import { parentPort } from 'worker_threads';
import type { BatchReply, BatchRequest, HashJob, HashResult } from './hashPool';

const CHUNK = 1024 * 1024;
const NONBLOCK = (fs.constants as { O_NONBLOCK?: number }).O_NONBLOCK;
const buf = Buffer.allocUnsafeSlow(CHUNK);
const port = parentPort!;

// A batch of files in, a batch of answers out (one message each way per batch).
port.on('message', (req: BatchRequest) => {
  const reply: BatchReply = {
    id: req.id,
    results: req.jobs.map((job) => {
      try {
        return hashFile(job);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        return { error: { message: err?.message ?? String(e), ...(err?.code ? { code: err.code } : {}) } };
      }
    }),
  };
  port.postMessage(reply);
});

function hashFile(job: HashJob): HashResult {
  // Non-blocking open: a file swapped for a FIFO since the walk would otherwise hold this thread forever (for a
  // regular file the flag changes nothing; the fstat after reading shows what was really read).
  const fd = fs.openSync(job.abs, NONBLOCK === undefined ? 'r' : fs.constants.O_RDONLY | NONBLOCK);
  try {
    const content = createHash('sha256');
    const tars = job.headers.map((h) => createHash('sha256').update(h, 'utf8'));
    // One byte more than expected so a file that fits the buffer is read to EOF in one call.
    const want = Math.min(CHUNK, job.expectedSize + 1);
    let total = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, want, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      content.update(chunk);
      for (const h of tars) h.update(chunk);
      total += n;
      if (n < want && total === job.expectedSize) break;
    }
    const st = fs.fstatSync(fd);
    return {
      sha256: content.digest('hex'),
      tars: tars.map((h) => h.digest('hex')),
      total,
      after: { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino },
    };
  } finally {
    fs.closeSync(fd);
  }
}
