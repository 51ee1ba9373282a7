// Hashing on threads (context/hashPool.ts): a batch worth it goes to the threads and gives exactly what the main
// thread gives (content sha256 and tarsums); a file's own error comes back as that error; closed threads only mean
// the main thread hashes.
import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { HashCache } from '../../server/src/context/hashCache';
import { HashPool, PoolUnavailable, type HashResult } from '../../server/src/context/hashPool';
import { statEntry } from '../../server/src/context/walk';
import { ContextEntry } from '../../server/src/context/types';
import { tmpDir, write } from './contextFixtures.test';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe('context/hashPool', function () {
  this.timeout(120_000);
  let ctx = '';
  beforeEach(() => {
    ctx = tmpDir('layerlens-hp-ctx-');
  });
  afterEach(() => {
    fs.rmSync(ctx, { recursive: true, force: true });
  });

  /** 1,200 files (the batch threshold is 1,000 uncached files), one of several chunks, one empty. */
  async function manyFiles(): Promise<{ rel: string; entry: ContextEntry; body: Buffer }[]> {
    const out: { rel: string; entry: ContextEntry; body: Buffer }[] = [];
    for (let i = 0; i < 1200; i++) {
      const rel = `d${i % 7}/f${i}.txt`;
      const body = i === 0 ? Buffer.alloc(0) : i === 1 ? Buffer.alloc(2 * 1024 * 1024 + 5, 3) : Buffer.from(`file ${i}\n`.repeat(i % 50));
      write(ctx, rel, body);
      out.push({ rel, entry: (await statEntry(ctx, rel))!, body });
    }
    return out;
  }

  it('a large batch is hashed on threads, with the content hashes and tarsums the main thread computes', async () => {
    const files = await manyFiles();
    const tar = (rel: string): { key: string; header: string }[] => [{ key: 'h', header: `header of ${rel}` }];
    const threads = await HashCache.load(ctx, { cacheDir: null });
    const batch = await threads.hashMany(files.map((f) => ({ rel: f.rel, entry: f.entry, tar: tar(f.rel) })));
    assert.strictEqual(threads.stats.threadReads, files.length, 'every file of the batch was read on a thread');
    assert.strictEqual(threads.stats.filesRead, files.length);
    assert.strictEqual(threads.stats.bytesRead, files.reduce((n, f) => n + f.body.length, 0));

    const main = await HashCache.load(ctx, { cacheDir: null });
    for (const [i, f] of files.entries()) {
      assert.strictEqual(batch[i]!.sha256, sha(f.body), f.rel);
      const one = await main.hash(f.rel, f.entry, tar(f.rel)); // one file: the main thread
      assert.deepStrictEqual(batch[i], one, f.rel);
      assert.strictEqual(one.tar.h, sha(Buffer.concat([Buffer.from(`header of ${f.rel}`), f.body])));
    }
    assert.strictEqual(main.stats.threadReads, 0);

    // Cached now: a second batch reads nothing.
    await threads.hashMany(files.map((f) => ({ rel: f.rel, entry: f.entry, tar: tar(f.rel) })));
    assert.strictEqual(threads.stats.filesRead, files.length);
  });

  it('files changed since their lstat: what a thread read is not remembered under the old stat, the main thread reads them again', async () => {
    const files = await manyFiles();
    const changed = [10, 500, 1100];
    for (const i of changed) write(ctx, files[i]!.rel, `changed ${i}, longer than before ${'x'.repeat(100)}`);
    const c = await HashCache.load(ctx, { cacheDir: null });
    const r = await c.hashMany(files.map((f) => ({ rel: f.rel, entry: f.entry }))); // the stale entries
    for (const i of changed) assert.strictEqual(r[i]!.sha256, sha(`changed ${i}, longer than before ${'x'.repeat(100)}`));
    assert.strictEqual(c.stats.threadReads, files.length, 'all were first read on a thread');
    assert.ok(c.stats.filesRead >= files.length + changed.length, 'the changed ones were read again here');
    // Remembered under their current stat: asking with a fresh lstat reads nothing.
    const before = c.stats.filesRead;
    for (const i of changed) await c.contentHash(files[i]!.rel, (await statEntry(ctx, files[i]!.rel))!);
    assert.strictEqual(c.stats.filesRead, before);
  });

  it('small batches stay on the main thread', async () => {
    write(ctx, 'a', 'a');
    write(ctx, 'b', 'b');
    const c = await HashCache.load(ctx, { cacheDir: null });
    const r = await c.hashMany([{ rel: 'a', entry: (await statEntry(ctx, 'a'))! }, { rel: 'b', entry: (await statEntry(ctx, 'b'))! }]);
    assert.deepStrictEqual(r.map((x) => x.sha256), [sha('a'), sha('b')]);
    assert.strictEqual(c.stats.threadReads, 0);
  });

  it('a file that vanished before a thread read it fails with its own error; the rest of the batch is hashed', async () => {
    const files = await manyFiles();
    fs.rmSync(path.join(ctx, files[5]!.rel));
    const c = await HashCache.load(ctx, { cacheDir: null });
    const r = await c.hashManySettled(files.map((f) => ({ rel: f.rel, entry: f.entry })));
    const err = r[5];
    assert.ok(err instanceof Error, 'the deleted file yields an Error');
    assert.strictEqual((err as NodeJS.ErrnoException).code, 'ENOENT');
    assert.match(err.message, /ENOENT/);
    for (const [i, f] of files.entries()) if (i !== 5) assert.strictEqual((r[i] as { sha256: string }).sha256, sha(f.body), f.rel);
  });

  it('batches: one answer per file in order, a file\'s own error in its place; closing the threads rejects what they held, and the pool starts again', async () => {
    const files = await manyFiles();
    fs.rmSync(path.join(ctx, files[9]!.rel));
    const pool = new HashPool(2);
    try {
      const jobs = files.map((f) => ({ abs: path.join(ctx, f.rel), expectedSize: f.body.length, headers: [] as string[] }));
      const first = await pool.hashBatch(jobs.slice(0, 40));
      assert.strictEqual(first.length, 40);
      first.forEach((r, i) => {
        if (i === 9) {
          assert.ok(r instanceof Error);
          assert.strictEqual((r as NodeJS.ErrnoException).code, 'ENOENT');
        } else {
          assert.strictEqual((r as { sha256: string }).sha256, sha(files[i]!.body), files[i]!.rel);
        }
      });

      const batches = [];
      for (let i = 0; i < jobs.length; i += 32) batches.push(pool.hashBatch(jobs.slice(i, i + 32)).then((r) => r, (e: unknown) => e));
      pool.dispose();
      const settled = await Promise.all(batches);
      assert.ok(settled.some((x) => x instanceof PoolUnavailable), 'batches still held when the pool closed are handed back');

      const again = await pool.hashBatch([{ abs: path.join(ctx, files[3]!.rel), expectedSize: files[3]!.body.length, headers: ['x'] }]);
      const r = again[0] as HashResult;
      assert.strictEqual(r.sha256, sha(files[3]!.body));
      assert.deepStrictEqual(r.tars, [sha(Buffer.concat([Buffer.from('x'), files[3]!.body]))]);
    } finally {
      pool.dispose();
    }
  });
});
