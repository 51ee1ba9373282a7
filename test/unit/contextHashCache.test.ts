import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cacheFileFor, decodeCacheFile, defaultCacheDir, encodeCacheFile, HashCache } from '../../server/src/context/hashCache';
import { statEntry } from '../../server/src/context/walk';
import { ContextEntry } from '../../server/src/context/types';
import { tmpDir, write } from './contextFixtures.test';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe('context/hashCache', function () {
  this.timeout(60_000);
  let ctx = '';
  let cacheDir = '';
  beforeEach(() => {
    ctx = tmpDir('layerlens-hc-ctx-');
    cacheDir = tmpDir('layerlens-hc-cache-');
  });
  afterEach(() => {
    fs.rmSync(ctx, { recursive: true, force: true });
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  async function entry(rel: string): Promise<ContextEntry> {
    return (await statEntry(ctx, rel))!;
  }

  it('hashes empty, small and multi-chunk files (streamed) like sha256 of their content', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    big.write('head');
    write(ctx, 'empty', '');
    write(ctx, 'small', 'hello\n');
    write(ctx, 'big', big);
    const c = await HashCache.load(ctx, { cacheDir: null });
    assert.strictEqual(await c.contentHash('empty', await entry('empty')), sha(''));
    assert.strictEqual(await c.contentHash('small', await entry('small')), sha('hello\n'));
    assert.strictEqual(await c.contentHash('big', await entry('big')), sha(big));
    assert.strictEqual(c.stats.bytesRead, big.length + 6);
  });

  it('uses the (size, mtime, inode) key: unchanged files are not read again, changed ones are', async () => {
    write(ctx, 'f', 'one');
    const c = await HashCache.load(ctx, { cacheDir: null });
    await c.contentHash('f', await entry('f'));
    await c.contentHash('f', await entry('f'));
    assert.strictEqual(c.stats.filesRead, 1);
    const t = new Date(Date.now() + 5000);
    fs.writeFileSync(path.join(ctx, 'f'), 'two');
    fs.utimesSync(path.join(ctx, 'f'), t, t);
    assert.strictEqual(await c.contentHash('f', await entry('f')), sha('two'));
    assert.strictEqual(c.stats.filesRead, 2);
    // Same content, new mtime: BuildKit's rule re-hashes (the content hash is the same).
    fs.utimesSync(path.join(ctx, 'f'), new Date(1e9), new Date(1e9));
    assert.strictEqual(await c.contentHash('f', await entry('f')), sha('two'));
    assert.strictEqual(c.stats.filesRead, 3);
  });

  it('a stale lstat does not poison the cache: the file is read again under its current stat', async () => {
    write(ctx, 'f', 'old');
    const stale = await entry('f');
    fs.writeFileSync(path.join(ctx, 'f'), 'newer content');
    const c = await HashCache.load(ctx, { cacheDir: null });
    assert.strictEqual(await c.contentHash('f', stale), sha('newer content'));
    assert.ok(c.peek('f', await entry('f')));
    assert.strictEqual(c.peek('f', stale), undefined);
  });

  it('computes tarsums (header then body) in the same pass and caches them per key', async () => {
    write(ctx, 'f', 'body');
    const c = await HashCache.load(ctx, { cacheDir: null });
    const e = await entry('f');
    const r = await c.hash('f', e, [{ key: 'm420', header: 'H1' }, { key: 'm33188', header: 'H2' }]);
    assert.strictEqual(r.sha256, sha('body'));
    assert.strictEqual(r.tar['m420'], sha('H1body'));
    assert.strictEqual(r.tar['m33188'], sha('H2body'));
    assert.strictEqual(c.stats.filesRead, 1);
    await c.hash('f', e, [{ key: 'm420', header: 'H1' }]);
    assert.strictEqual(c.stats.filesRead, 1);
    const r2 = await c.hash('f', e, [{ key: 'm493', header: 'H3' }]);
    assert.strictEqual(r2.tar['m493'], sha('H3body'));
    assert.strictEqual(r2.tar['m420'], sha('H1body'), 'earlier tarsums kept');
    assert.strictEqual(c.stats.filesRead, 2);
  });

  it('concurrent requests for one file share a read; many files hash in parallel', async () => {
    for (let i = 0; i < 200; i++) write(ctx, `f${i}`, `content ${i}`);
    const c = await HashCache.load(ctx, { cacheDir: null, concurrency: 8 });
    const e0 = await entry('f0');
    const [a, b] = await Promise.all([c.contentHash('f0', e0), c.contentHash('f0', e0)]);
    assert.strictEqual(a, b);
    assert.strictEqual(c.stats.filesRead, 1);
    const items = await Promise.all(Array.from({ length: 200 }, async (_, i) => ({ rel: `f${i}`, entry: await entry(`f${i}`) })));
    await c.hashMany(items);
    assert.strictEqual(c.stats.filesRead, 200);
    assert.strictEqual(c.peek('f150', items[150].entry)!.sha256, sha('content 150'));
  });

  it('persists atomically to one file per context and a new instance reads no file contents', async () => {
    write(ctx, 'a', 'A');
    write(ctx, 'dir/b', 'B');
    const c1 = await HashCache.load(ctx, { cacheDir });
    await c1.hashMany([
      { rel: 'a', entry: await entry('a'), tar: [{ key: 'm420', header: 'h' }] },
      { rel: 'dir/b', entry: await entry('dir/b') },
    ]);
    await c1.persist();
    const file = cacheFileFor(cacheDir, ctx);
    assert.strictEqual(c1.cacheFile, file);
    assert.strictEqual(path.basename(file), `context-${sha(path.resolve(ctx))}.bin`);
    assert.deepStrictEqual(fs.readdirSync(cacheDir), [path.basename(file)], 'no temp files left');

    const c2 = await HashCache.load(ctx, { cacheDir });
    assert.strictEqual(await c2.contentHash('a', await entry('a')), sha('A'));
    assert.strictEqual(await c2.contentHash('dir/b', await entry('dir/b')), sha('B'));
    assert.strictEqual((await c2.hash('a', await entry('a'), [{ key: 'm420', header: 'h' }])).tar['m420'], sha('hA'));
    assert.strictEqual(c2.stats.filesRead, 0);
  });

  it('retain() drops records of deleted paths before persisting', async () => {
    write(ctx, 'a', 'A');
    write(ctx, 'b', 'B');
    const c = await HashCache.load(ctx, { cacheDir });
    await c.hashMany([
      { rel: 'a', entry: await entry('a') },
      { rel: 'b', entry: await entry('b') },
    ]);
    c.retain((rel) => rel === 'a');
    await c.persist();
    const data = decodeCacheFile(fs.readFileSync(cacheFileFor(cacheDir, ctx)), path.resolve(ctx));
    assert.deepStrictEqual([...data!.keys()], ['a']);
  });

  it('the file format round-trips every field (names with any characters, float mtimes, big inodes, tarsums)', () => {
    const records = new Map<string, { size: number; mtimeMs: number; ino: number; sha256: string; tar: Record<string, string> }>([
      ['a', { size: 0, mtimeMs: 1700000000123.4567, ino: 2 ** 52 + 1, sha256: sha(''), tar: {} }],
      ['dir/ü b\n', { size: 12345678901, mtimeMs: 1, ino: 7, sha256: sha('x'), tar: { m420: sha('h'), 'm493:u0': sha('i') } }],
      ['', { size: 1, mtimeMs: -5.5, ino: 0, sha256: sha('y'), tar: {} }],
    ]);
    assert.deepStrictEqual(decodeCacheFile(encodeCacheFile('/ctx', records), '/ctx'), records);
    assert.deepStrictEqual(decodeCacheFile(encodeCacheFile('/ctx', new Map()), '/ctx'), new Map());
    assert.strictEqual(decodeCacheFile(encodeCacheFile('/ctx', records), '/elsewhere'), null, 'another context');
  });

  const valid = (): Buffer => encodeCacheFile(path.resolve(ctx), new Map([['a', { size: 1, mtimeMs: 2, ino: 3, sha256: sha('x'), tar: {} }]]));
  const flipped = (at: (b: Buffer) => number) => (): Buffer => {
    const b = valid();
    b[at(b)] ^= 1;
    return b;
  };
  for (const [name, body] of [
    ['garbage', () => Buffer.from('not a cache {')],
    ['truncated', () => valid().subarray(0, 40)],
    ['one byte short', () => valid().subarray(0, valid().length - 1)],
    ['a record byte changed', flipped((b) => b.length - 40)],
    ['the checksum changed', flipped((b) => b.length - 1)],
    ['wrong version', () => {
      const b = valid();
      b.writeUInt32LE(99, 4);
      return b;
    }],
    ['another context', () => encodeCacheFile('/elsewhere', new Map([['a', { size: 1, mtimeMs: 2, ino: 3, sha256: sha('x'), tar: {} }]]))],
    ['the old JSON format', () => Buffer.from(`{"v":1,"root":${JSON.stringify(path.resolve(ctx))},"files":{"a":[1,2,3,"x"]}}`)],
    ['empty', () => Buffer.alloc(0)],
  ] as const) {
    it(`ignores a corrupt cache file (${name})`, async () => {
      write(ctx, 'a', 'A');
      fs.writeFileSync(cacheFileFor(cacheDir, ctx), body());
      const c = await HashCache.load(ctx, { cacheDir });
      assert.strictEqual(c.size, 0);
      assert.strictEqual(await c.contentHash('a', await entry('a')), sha('A'));
      await c.persist();
      assert.strictEqual(decodeCacheFile(fs.readFileSync(cacheFileFor(cacheDir, ctx)), path.resolve(ctx))!.get('a')!.sha256, sha('A'));
    });
  }

  it('cache folder: LAYERLENS_CACHE_DIR, then $XDG_CACHE_HOME/layerlens, then ~/.cache/layerlens', () => {
    const saved = { l: process.env.LAYERLENS_CACHE_DIR, x: process.env.XDG_CACHE_HOME };
    try {
      process.env.LAYERLENS_CACHE_DIR = '/tmp/ll-explicit';
      process.env.XDG_CACHE_HOME = '/tmp/xdg';
      assert.strictEqual(defaultCacheDir(), '/tmp/ll-explicit');
      delete process.env.LAYERLENS_CACHE_DIR;
      assert.strictEqual(defaultCacheDir(), '/tmp/xdg/layerlens');
      delete process.env.XDG_CACHE_HOME;
      assert.strictEqual(defaultCacheDir(), path.join(os.homedir(), '.cache', 'layerlens'));
    } finally {
      if (saved.l === undefined) delete process.env.LAYERLENS_CACHE_DIR;
      else process.env.LAYERLENS_CACHE_DIR = saved.l;
      if (saved.x === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved.x;
    }
  });

  it('persistence off: persist() writes nothing', async () => {
    write(ctx, 'a', 'A');
    const c = await HashCache.load(ctx, { cacheDir: null });
    await c.contentHash('a', await entry('a'));
    await c.persist();
    assert.strictEqual(c.cacheFile, null);
    assert.deepStrictEqual(fs.readdirSync(cacheDir), []);
  });
});
