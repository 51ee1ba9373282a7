// Hashing on threads (context/hashPool.ts): a batch worth it goes to the threads and gives exactly what the main
// thread gives (content sha256 and tarsums); a file's own error comes back as that error; closed threads only mean
// the main thread hashes.
import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { HashCache } from '../../server/src/context/hashCache';
import { HashPool, PoolUnavailable } from '../../server/src/context/hashPool';
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

  it('closing the threads rejects what they held with PoolUnavailable; the pool starts again on the next file', async () => {
    const files = await manyFiles();
    const pool = new HashPool(2);
    try {
      const all = files.map((f) => pool.hash(path.join(ctx, f.rel), f.body.length, []).then((r) => r.sha256, (e: unknown) => e));
      await new Promise((resolve) => setImmediate(resolve));
      pool.dispose();
      const settled = await Promise.all(all);
      const unavailable = settled.filter((x) => x instanceof PoolUnavailable).length;
      assert.ok(unavailable > 0, 'jobs still queued when the pool closed are handed back');
      settled.forEach((x, i) => {
        if (!(x instanceof PoolUnavailable)) assert.strictEqual(x, sha(files[i]!.body), files[i]!.rel);
      });
      const again = await pool.hash(path.join(ctx, files[3]!.rel), files[3]!.body.length, ['x']);
      assert.strictEqual(again.sha256, sha(files[3]!.body));
      assert.deepStrictEqual(again.tars, [sha(Buffer.concat([Buffer.from('x'), files[3]!.body]))]);
    } finally {
      pool.dispose();
    }
  });
});
