// The file-sync walk (what a BuildKit session sends, as fsutil.Walk does) and the fsutil packets on the wire.
// That the result keys BuildKit's cache like the docker CLI's is proven against the real daemon in
// test/docker/build.test.ts (terminal build ⇄ Layer Lens build give the same image); these pin the rules.

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodePacket, encodePacket, encodeStat } from '../../server/src/docker/buildSession';
import { fields } from '../../server/src/docker/buildkitControl';
import { fileSyncWalk, followLinks, GoMode, goFileMode, type FileSyncWalkOptions, type SyncStat } from '../../server/src/context/fileSyncWalk';

function tree(files: Record<string, string | { mode: number; content?: string } | { symlink: string }>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-fsync-'));
  for (const [rel, spec] of Object.entries(files)) {
    const abs = path.join(root, rel);
    if (rel.endsWith('/')) {
      fs.mkdirSync(abs, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    if (typeof spec === 'string') fs.writeFileSync(abs, spec);
    else if ('symlink' in spec) fs.symlinkSync(spec.symlink, abs);
    else {
      fs.writeFileSync(abs, spec.content ?? '');
      fs.chmodSync(abs, spec.mode);
    }
  }
  return root;
}

async function walk(root: string, opts: FileSyncWalkOptions = {}): Promise<SyncStat[]> {
  const out: SyncStat[] = [];
  for await (const s of fileSyncWalk(root, opts)) out.push(s);
  return out;
}

describe('fileSyncWalk (what a BuildKit session sends)', () => {
  const roots: string[] = [];
  after(() => roots.forEach((r) => fs.rmSync(r, { recursive: true, force: true })));
  const make = (files: Parameters<typeof tree>[0]): string => {
    const r = tree(files);
    roots.push(r);
    return r;
  };

  it('sends every entry in filepath.Walk order, directories before their contents, with Go mode bits', async () => {
    const root = make({ 'b.txt': 'bb', 'a/x': 'x', 'a-b': 'y', 'run.sh': { mode: 0o755, content: '#!' }, 'suid': { mode: 0o4755 }, link: { symlink: 'b.txt' }, 'empty/': '' });
    const got = await walk(root);
    assert.deepStrictEqual(got.map((s) => s.path), ['a', 'a/x', 'a-b', 'b.txt', 'empty', 'link', 'run.sh', 'suid']);
    const by = new Map(got.map((s) => [s.path, s]));
    assert.strictEqual(by.get('a')!.mode, (GoMode.dir | 0o755) >>> 0);
    assert.strictEqual(by.get('a')!.size, 0, 'directories carry no size');
    assert.strictEqual(by.get('b.txt')!.mode, 0o644);
    assert.strictEqual(by.get('b.txt')!.size, 2);
    assert.strictEqual(by.get('run.sh')!.mode, 0o755);
    assert.strictEqual(by.get('suid')!.mode, (GoMode.setuid | 0o755) >>> 0);
    assert.strictEqual(by.get('link')!.mode, (GoMode.symlink | 0o777) >>> 0);
    assert.strictEqual(by.get('link')!.linkname, 'b.txt');
    assert.strictEqual(by.get('link')!.size, 5, 'a symlink has the length of its target text');
    assert.strictEqual(typeof by.get('b.txt')!.modTimeNs, 'bigint');
  });

  it('sends later hardlinks of a file as links to the first path, keeping their size', async () => {
    const root = make({ 'a.txt': 'hello' });
    fs.mkdirSync(path.join(root, 'sub'));
    fs.linkSync(path.join(root, 'a.txt'), path.join(root, 'sub', 'h.txt'));
    const got = await walk(root);
    const h = got.find((s) => s.path === 'sub/h.txt')!;
    assert.strictEqual(h.linkname, 'a.txt');
    assert.strictEqual(h.size, 5);
    assert.strictEqual(got.find((s) => s.path === 'a.txt')!.linkname, '');
  });

  it('applies exclude patterns as the 20.10 daemon sends them, walking into an excluded folder only for an exception', async () => {
    const root = make({ 'keep.txt': 'k', 'logs/a.log': 'a', 'logs/keep.log': 'k', 'ignored/big': 'b', 'node_modules/x/y.js': 'y' });
    const got = await walk(root, { excludes: ['ignored', 'logs', '!logs/keep.log', 'node_modules'] });
    assert.deepStrictEqual(got.map((s) => s.path), ['keep.txt', 'logs', 'logs/keep.log']);
  });

  it('applies include patterns and follow paths (how the daemon fetches .dockerignore and the Dockerfile)', async () => {
    const root = make({ 'Dockerfile': 'FROM x', '.dockerignore': 'a', 'src/a.js': 'a', 'df': { symlink: 'Dockerfile' } });
    assert.deepStrictEqual((await walk(root, { followPaths: ['.dockerignore'] })).map((s) => s.path), ['.dockerignore']);
    assert.deepStrictEqual((await walk(root, { followPaths: ['df'] })).map((s) => s.path), ['Dockerfile', 'df'], 'a followed symlink brings its target');
    assert.deepStrictEqual((await walk(root, { includes: ['src/*.js'] })).map((s) => s.path), ['src', 'src/a.js']);
    assert.deepStrictEqual(followLinks(root, ['df', 'src/a.js']), ['Dockerfile', 'df', 'src/a.js']);
    assert.strictEqual(followLinks(root, ['.']), null, 'the root itself: no filter');
  });

  it('lets a map rewrite records (the CLI zeroes owners) and fails clearly on an unreadable folder', async function () {
    const root = make({ 'a.txt': 'a', 'locked/x': 'x' });
    const got = await walk(root, { map: (s) => { s.uid = 0; s.gid = 0; return s.path !== 'a.txt'; } });
    assert.deepStrictEqual(got.map((s) => [s.path, s.uid, s.gid]), [['locked', 0, 0], ['locked/x', 0, 0]]);
    if (process.getuid?.() === 0) return; // root reads any folder: the failure cannot be provoked
    fs.chmodSync(path.join(root, 'locked'), 0);
    try {
      await assert.rejects(walk(root), /cannot read directory locked/);
    } finally {
      fs.chmodSync(path.join(root, 'locked'), 0o755);
    }
  });

  it('maps st_mode to Go os.FileMode', () => {
    assert.strictEqual(goFileMode(0o100644), 0o644);
    assert.strictEqual(goFileMode(0o040755), (GoMode.dir | 0o755) >>> 0);
    assert.strictEqual(goFileMode(0o041777), (GoMode.dir | GoMode.sticky | 0o777) >>> 0);
    assert.strictEqual(goFileMode(0o102755), (GoMode.setgid | 0o755) >>> 0);
    assert.strictEqual(goFileMode(0o020666), (GoMode.device | GoMode.charDevice | 0o666) >>> 0);
    assert.strictEqual(goFileMode(0o010644), (GoMode.namedPipe | 0o644) >>> 0);
  });
});

describe('fsutil packets', () => {
  const stat: SyncStat = {
    path: 'dir/é.txt', mode: 0o644, uid: 0, gid: 0, size: 70000, modTimeNs: 1_700_000_000_123_456_789n, linkname: '', devmajor: 0, devminor: 0, abs: '/x',
  };

  it('encodes a Stat with proto3 field numbers, leaving zero values out', () => {
    const f = fields(encodeStat(stat), 'stat');
    assert.deepStrictEqual(f.map(([n]) => n), [1, 2, 5, 6]);
    assert.strictEqual((f[0]![1] as Buffer).toString('utf8'), 'dir/é.txt');
    assert.strictEqual(f[1]![1], 0o644n);
    assert.strictEqual(f[2]![1], 70000n);
    assert.strictEqual(f[3]![1], 1_700_000_000_123_456_789n);
    const dir = fields(encodeStat({ ...stat, mode: (GoMode.dir | 0o755) >>> 0, size: 0 }), 'stat');
    assert.strictEqual(dir[1]![1], BigInt((GoMode.dir | 0o755) >>> 0), 'the directory bit survives as an unsigned 32-bit varint');
  });

  it('encodes the end-of-listing STAT as an empty message and round-trips REQ / DATA / FIN', () => {
    assert.strictEqual(encodePacket(0).length, 0);
    assert.deepStrictEqual(decodePacket(encodePacket(1, { id: 7 })), { type: 1, id: 7, data: Buffer.alloc(0) });
    const data = Buffer.from('payload');
    assert.deepStrictEqual(decodePacket(encodePacket(2, { id: 300, data })), { type: 2, id: 300, data });
    assert.deepStrictEqual(decodePacket(encodePacket(3)), { type: 3, id: 0, data: Buffer.alloc(0) });
    const withStat = fields(encodePacket(0, { stat }), 'packet');
    assert.deepStrictEqual(withStat.map(([n]) => n), [2]);
    assert.deepStrictEqual(withStat[0]![1], encodeStat(stat));
  });
});
