import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { IgnoreMatcher, parseDockerignore } from '../../server/src/context/dockerignore';
import { ContextTooLargeError, walkContext, walkSubtree } from '../../server/src/context/walk';
import { tmpDir, write } from './contextFixtures.test';

describe('context/walk', function () {
  this.timeout(60_000);
  let dir = '';
  beforeEach(() => {
    dir = tmpDir('layerlens-walk-');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists entries in filepath.Walk order (pre-order, byte order of names)', async () => {
    for (const n of ['a-b', 'a/x', 'a/y/z', 'B', 'b', 'é', '\uffff', '😀', 'a.c']) write(dir, n, n);
    const res = await walkContext(dir);
    assert.deepStrictEqual([...res.entries.keys()], ['B', 'a', 'a/x', 'a/y', 'a/y/z', 'a-b', 'a.c', 'b', 'é', '\uffff', '😀']);
    assert.deepStrictEqual(res.problems, []);
    assert.strictEqual(res.ignoredCount, 0);
  });

  it('records kind, mode, size, mtime, dev/ino/nlink; symlinks with their text and never followed', async () => {
    write(dir, 'f.txt', 'hello', 0o640);
    write(dir, 'd/inner', 'i');
    fs.chmodSync(path.join(dir, 'd'), 0o750);
    fs.symlinkSync('d', path.join(dir, 'dirlink'));
    fs.symlinkSync('../outside', path.join(dir, 'escape'));
    fs.linkSync(path.join(dir, 'f.txt'), path.join(dir, 'g.txt'));
    const { entries } = await walkContext(dir);
    assert.deepStrictEqual([...entries.keys()], ['d', 'd/inner', 'dirlink', 'escape', 'f.txt', 'g.txt']);
    const f = entries.get('f.txt')!;
    const st = fs.lstatSync(path.join(dir, 'f.txt'));
    assert.deepStrictEqual(
      [f.kind, f.mode, f.size, f.mtimeMs, f.ino, f.dev, f.nlink],
      ['file', st.mode, 5, st.mtimeMs, st.ino, st.dev, 2],
    );
    assert.strictEqual(entries.get('g.txt')!.ino, f.ino);
    assert.strictEqual(entries.get('d')!.kind, 'dir');
    assert.strictEqual(entries.get('d')!.mode & 0o7777, 0o750);
    const l = entries.get('dirlink')!;
    assert.deepStrictEqual([l.kind, l.linkTarget, l.size], ['symlink', 'd', 1]);
    assert.strictEqual(entries.get('escape')!.linkTarget, '../outside');
  });

  it('applies .dockerignore: excluded directories are not entered, exceptions re-include below them', async () => {
    write(dir, 'docs/README.md', 'r');
    write(dir, 'docs/other.md', 'o');
    write(dir, 'docs/deep/x.md', 'x');
    write(dir, 'node_modules/m/i.js', 'm');
    write(dir, 'app.log', 'l');
    write(dir, 'src/app.py', 'p');
    const matcher = new IgnoreMatcher(parseDockerignore('docs\n!docs/README.md\nnode_modules\n*.log\n'));
    const res = await walkContext(dir, { matcher });
    assert.deepStrictEqual([...res.entries.keys()], ['docs', 'docs/README.md', 'src', 'src/app.py']);
    assert.strictEqual(res.entries.get('docs')!.implicit, true);
    assert.strictEqual(res.entries.get('src')!.implicit, undefined);
    // docs/other.md, docs/deep (dir, not entered), node_modules (dir), app.log
    assert.strictEqual(res.ignoredCount, 4);
  });

  it('an excluded directory walked for exceptions disappears when nothing below it is re-included', async () => {
    write(dir, 'docs/other.md', 'o');
    const matcher = new IgnoreMatcher(parseDockerignore('docs\n!docs/README.md\n'));
    const res = await walkContext(dir, { matcher });
    assert.deepStrictEqual([...res.entries.keys()], []);
  });

  it('nested implicit directories', async () => {
    write(dir, 'a/b/c/keep', 'k');
    write(dir, 'a/b/drop', 'd');
    const matcher = new IgnoreMatcher(parseDockerignore('a\n!a/b/c/keep\n'));
    const res = await walkContext(dir, { matcher });
    assert.deepStrictEqual(
      [...res.entries.values()].map((e) => [e.rel, !!e.implicit]),
      [
        ['a', true],
        ['a/b', true],
        ['a/b/c', true],
        ['a/b/c/keep', false],
      ],
    );
  });

  it('reports sockets as problems instead of entries', async () => {
    write(dir, 'f', 'x');
    const sock = path.join(dir, 's.sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      const res = await walkContext(dir);
      assert.deepStrictEqual([...res.entries.keys()], ['f']);
      assert.strictEqual(res.problems.length, 1);
      assert.strictEqual(res.problems[0].rel, 's.sock');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('reports unreadable directories without throwing', async function () {
    write(dir, 'locked/secret', 's');
    write(dir, 'open.txt', 'o');
    fs.chmodSync(path.join(dir, 'locked'), 0o000);
    try {
      let result: { keys: string[]; problems: Array<{ rel: string; message: string }> };
      if (process.getuid && process.getuid() === 0) {
        // root reads everything: walk as 'nobody' in a child process instead.
        fs.chmodSync(dir, 0o755);
        const walkJs = require.resolve('../../server/src/context/walk');
        const script = `require(${JSON.stringify(walkJs)}).walkContext(${JSON.stringify(dir)}).then((r) => process.stdout.write(JSON.stringify({ keys: [...r.entries.keys()], problems: r.problems })))`;
        const out = execFileSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
        result = JSON.parse(out);
      } else {
        const r = await walkContext(dir);
        result = { keys: [...r.entries.keys()], problems: r.problems };
      }
      assert.deepStrictEqual(result.keys, ['locked', 'open.txt']);
      assert.strictEqual(result.problems.length, 1);
      assert.strictEqual(result.problems[0].rel, 'locked');
      assert.match(result.problems[0].message, /EACCES/);
    } finally {
      fs.chmodSync(path.join(dir, 'locked'), 0o755);
    }
  });

  it('a missing context directory is a problem, not an exception', async () => {
    const res = await walkContext(path.join(dir, 'nope'));
    assert.strictEqual(res.entries.size, 0);
    assert.strictEqual(res.problems.length, 1);
  });

  it('enforces maxEntries with a clear error', async () => {
    for (let i = 0; i < 20; i++) write(dir, `d/f${i}`, 'x');
    await assert.rejects(walkContext(dir, { maxEntries: 10 }), (e: unknown) => e instanceof ContextTooLargeError && /more than 10 entries/.test((e as Error).message));
    const ok = await walkContext(dir, { maxEntries: 21 });
    assert.strictEqual(ok.entries.size, 21);
  });

  it('walkSubtree lists only what is below a directory', async () => {
    write(dir, 'a/1', '1');
    write(dir, 'a/b/2', '2');
    write(dir, 'c', 'c');
    const res = await walkSubtree(dir, 'a', undefined);
    assert.deepStrictEqual([...res.entries.keys()], ['a/1', 'a/b', 'a/b/2']);
  });

  it('walks thousands of files in walk order', async () => {
    for (let d = 0; d < 20; d++) for (let f = 0; f < 100; f++) write(dir, `d${d}/f${f}`, String(f));
    const res = await walkContext(dir);
    assert.strictEqual(res.entries.size, 2020);
    const keys = [...res.entries.keys()];
    assert.deepStrictEqual(keys.slice(0, 4), ['d0', 'd0/f0', 'd0/f1', 'd0/f10']);
  });
});
