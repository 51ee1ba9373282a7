import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ContextIndex, ContextIndexOptions } from '../../server/src/context/contextIndex';
import { ContextTooLargeError } from '../../server/src/context/walk';
import { tmpDir, write } from './contextFixtures.test';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

describe('context/contextIndex', function () {
  this.timeout(60_000);
  let ctx = '';
  let cacheDir = '';
  const open = (opts: ContextIndexOptions = {}, df: string | null = 'Dockerfile'): Promise<ContextIndex> =>
    ContextIndex.open(ctx, df, { cacheDir, ...opts });

  beforeEach(() => {
    ctx = tmpDir('layerlens-idx-');
    cacheDir = tmpDir('layerlens-idx-cache-');
    write(ctx, 'Dockerfile', 'FROM scratch\nCOPY . /app/\n');
    write(ctx, 'src/app.py', 'print(1)\n');
    write(ctx, 'src/lib/util.py', 'x = 1\n');
    write(ctx, 'README.md', '# r\n');
  });
  afterEach(() => {
    fs.rmSync(ctx, { recursive: true, force: true });
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  /** Entry keys of a fresh index over the same directory (the reference for incremental updates). */
  async function fresh(opts: ContextIndexOptions = {}): Promise<string[]> {
    const i = await ContextIndex.open(ctx, 'Dockerfile', { ...opts, cacheDir: null });
    return [...i.entries.keys()];
  }

  it('indexes the context in walk order; the Dockerfile and .dockerignore are part of it', async () => {
    write(ctx, '.dockerignore', '*.md\n');
    const idx = await open();
    assert.deepStrictEqual([...idx.entries.keys()], ['.dockerignore', 'Dockerfile', 'src', 'src/app.py', 'src/lib', 'src/lib/util.py']);
    assert.strictEqual(idx.ignoredCount, 1);
    assert.deepStrictEqual(idx.dockerignoreFile, { path: path.join(ctx, '.dockerignore'), kind: 'context' });
    assert.strictEqual(idx.dockerfileRel, 'Dockerfile');
    assert.deepStrictEqual(idx.subtree('src').map((e) => e.rel), ['src/app.py', 'src/lib', 'src/lib/util.py']);
    assert.deepStrictEqual(idx.subtree('nope'), []);
    assert.strictEqual(idx.subtree('').length, idx.size);
  });

  it('.dockerignore listing the Dockerfile and itself removes them (both builders end up without them)', async () => {
    write(ctx, '.dockerignore', 'Dockerfile\n.dockerignore\n');
    for (const builder of ['buildkit', 'classic'] as const) {
      const idx = await open({ builder });
      assert.deepStrictEqual([...idx.entries.keys()], ['README.md', 'src', 'src/app.py', 'src/lib', 'src/lib/util.py'], builder);
    }
    // Classic: the daemon deleted them after unpacking, but their tarsums still exist.
    const classic = await open({ builder: 'classic' });
    const sums = await classic.tarsums(['Dockerfile', 'README.md'], 'perm');
    assert.ok(sums.get('Dockerfile'));
  });

  it('BuildKit uses <Dockerfile>.dockerignore when present; classic does not', async () => {
    write(ctx, '.dockerignore', 'README.md\n');
    write(ctx, 'Dockerfile.dockerignore', 'src\n');
    const bk = await open({ builder: 'buildkit' });
    assert.strictEqual(bk.dockerignoreFile!.kind, 'dockerfile');
    assert.ok(bk.get('README.md'));
    assert.ok(!bk.get('src'));
    const classic = await open({ builder: 'classic' });
    assert.strictEqual(classic.dockerignoreFile!.kind, 'context');
    assert.ok(!classic.get('README.md'));
    assert.ok(classic.get('src/app.py'));
  });

  it('classic: a Dockerfile inside an excluded directory leaves an implicit directory', async () => {
    fs.mkdirSync(path.join(ctx, 'build'));
    write(ctx, 'build/Dockerfile', 'FROM scratch\n');
    write(ctx, 'build/other', 'o');
    write(ctx, '.dockerignore', 'build\n');
    const classic = await ContextIndex.open(ctx, 'build/Dockerfile', { cacheDir, builder: 'classic' });
    assert.strictEqual(classic.get('build')?.implicit, true);
    assert.strictEqual(classic.get('build/Dockerfile'), undefined);
    assert.strictEqual(classic.get('build/other'), undefined);
    const bk = await ContextIndex.open(ctx, 'build/Dockerfile', { cacheDir, builder: 'buildkit' });
    assert.strictEqual(bk.get('build'), undefined);
  });

  it('contentHash: files by content, symlinks by link text, directories empty; missing paths throw', async () => {
    fs.symlinkSync('src/app.py', path.join(ctx, 'link'));
    const idx = await open();
    assert.strictEqual(await idx.contentHash('src/app.py'), sha('print(1)\n'));
    assert.strictEqual(await idx.contentHash('./src/app.py'), sha('print(1)\n'));
    assert.strictEqual(await idx.contentHash('link'), sha('src/app.py'));
    assert.strictEqual(await idx.contentHash('src'), '');
    await assert.rejects(idx.contentHash('nope'));
    const many = await idx.contentHashes(['src/app.py', 'README.md', 'nope']);
    assert.deepStrictEqual([...many.keys()], ['src/app.py', 'README.md']);
  });

  it('a file that cannot be read is reported, not thrown, by contentHashes', async () => {
    const idx = await open();
    fs.unlinkSync(path.join(ctx, 'README.md')); // gone behind the index's back
    const hashes = await idx.contentHashes(['README.md', 'src/app.py']);
    assert.deepStrictEqual([...hashes.keys()], ['src/app.py']);
    assert.deepStrictEqual(idx.problems.map((p) => p.rel), ['README.md']);
    await idx.markChanged(['README.md']);
    assert.deepStrictEqual(idx.problems, []);
  });

  it('markChanged: modified, created, deleted files and new directories, in walk order', async () => {
    const idx = await open();
    assert.strictEqual(await idx.contentHash('src/app.py'), sha('print(1)\n'));

    fs.writeFileSync(path.join(ctx, 'src/app.py'), 'print(2)\n');
    await idx.markChanged(['src/app.py']);
    assert.strictEqual(await idx.contentHash('src/app.py'), sha('print(2)\n'));

    write(ctx, 'src/a-new.py', 'n');
    write(ctx, 'pkg/sub/deep.txt', 'd');
    write(ctx, 'pkg/top.txt', 't');
    await idx.markChanged(['src/a-new.py', 'pkg/sub/deep.txt', 'pkg']);
    assert.deepStrictEqual([...idx.entries.keys()], await fresh());

    fs.rmSync(path.join(ctx, 'src/lib'), { recursive: true });
    fs.unlinkSync(path.join(ctx, 'README.md'));
    await idx.markChanged(['src/lib', 'README.md', 'src/lib/util.py']);
    assert.deepStrictEqual([...idx.entries.keys()], await fresh());

    // A file replaced by a directory and vice versa.
    fs.unlinkSync(path.join(ctx, 'pkg/top.txt'));
    write(ctx, 'pkg/top.txt/inner', 'i');
    fs.rmSync(path.join(ctx, 'pkg/sub'), { recursive: true });
    write(ctx, 'pkg/sub', 'now a file');
    await idx.markChanged(['pkg/top.txt', 'pkg/sub']);
    assert.deepStrictEqual([...idx.entries.keys()], await fresh());
    assert.strictEqual(idx.get('pkg/sub')!.kind, 'file');
  });

  it('markChanged ignores excluded paths, reloads on .dockerignore edits, and keeps implicit directories right', async () => {
    write(ctx, '.dockerignore', 'docs\n!docs/keep.md\n*.log\n');
    const idx = await open();
    write(ctx, 'x.log', 'l');
    write(ctx, 'docs/keep.md', 'k');
    write(ctx, 'docs/drop.md', 'd');
    await idx.markChanged(['x.log', 'docs/keep.md', 'docs/drop.md']);
    assert.ok(!idx.get('x.log'));
    assert.strictEqual(idx.get('docs')!.implicit, true);
    assert.ok(idx.get('docs/keep.md'));
    assert.ok(!idx.get('docs/drop.md'));
    assert.deepStrictEqual([...idx.entries.keys()], await fresh());

    fs.unlinkSync(path.join(ctx, 'docs/keep.md'));
    await idx.markChanged(['docs/keep.md']);
    assert.ok(!idx.get('docs'), 'implicit directory goes with its last re-included file');
    assert.deepStrictEqual([...idx.entries.keys()], await fresh());

    fs.writeFileSync(path.join(ctx, '.dockerignore'), 'src\n');
    await idx.markChanged(['.dockerignore']);
    assert.ok(idx.get('x.log'));
    assert.ok(!idx.get('src'));
    assert.deepStrictEqual([...idx.entries.keys()], await fresh());
  });

  it('persist + reopen: the second index hashes without reading file contents', async () => {
    const a = await open({ builder: 'classic' });
    const rels = [...a.entries.values()].filter((e) => e.kind === 'file').map((e) => e.rel);
    await a.contentHashes(rels);
    await a.tarsums(rels, 'perm');
    await a.persist();
    const b = await open({ builder: 'classic' });
    const hashes = await b.contentHashes(rels);
    await b.tarsums(rels, 'perm');
    assert.strictEqual(b.hashCache.stats.filesRead, 0);
    assert.strictEqual(hashes.get('src/app.py'), sha('print(1)\n'));
  });

  it('classic tarsums for several variants come from one read', async () => {
    const idx = await open({ builder: 'classic', tarVariants: ['perm', 'full'] });
    await idx.tarsums(['src/app.py'], 'perm');
    await idx.tarsums(['src/app.py'], 'full');
    await idx.contentHash('src/app.py');
    assert.strictEqual(idx.hashCache.stats.filesRead, 1);
  });

  it('hardlink leaders follow walk order among sent entries', async () => {
    fs.linkSync(path.join(ctx, 'src/app.py'), path.join(ctx, 'a-link.py'));
    const idx = await open({ builder: 'classic' });
    assert.strictEqual(idx.hardlinkLeader('src/app.py'), 'a-link.py');
    assert.strictEqual(idx.hardlinkLeader('a-link.py'), undefined);
  });

  it('fails clearly past maxEntries', async () => {
    await assert.rejects(open({ maxEntries: 3 }), ContextTooLargeError);
  });

  it('warns when a classic build has its Dockerfile outside the context and a .dockerignore inside', async () => {
    write(ctx, '.dockerignore', 'nothing\n');
    const outside = tmpDir('layerlens-df-');
    try {
      write(outside, 'Dockerfile', 'FROM scratch\n');
      const idx = await ContextIndex.open(ctx, path.join(outside, 'Dockerfile'), { cacheDir, builder: 'classic' });
      assert.strictEqual(idx.dockerfileRel, null);
      assert.strictEqual(idx.warnings.length, 1);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('watch() feeds file changes into markChanged', async function () {
    this.timeout(10_000);
    const idx = await open();
    const seen: string[][] = [];
    const changed = new Promise<void>((resolve) => {
      const w = idx.watch({
        debounceMs: 20,
        onChange: (rels) => {
          seen.push(rels);
          if (idx.get('src/new.py')) {
            w.dispose();
            resolve();
          }
        },
      });
      setTimeout(() => write(ctx, 'src/new.py', 'new'), 100);
    });
    await changed;
    assert.ok(seen.flat().includes('src/new.py'));
    assert.strictEqual(await idx.contentHash('src/new.py'), sha('new'));
    idx.dispose();
  });
});
