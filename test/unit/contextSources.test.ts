import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ContextIndex } from '../../server/src/context/contextIndex';
import {
  classicSourceHash,
  ClassicHashError,
  contentFingerprint,
  diffFingerprints,
  layerBytes,
  missingSources,
  resolveInScope,
  resolveSources,
} from '../../server/src/context/sources';
import { devMajorMinor, tarHeaderFor, tarMode, tarsumHeaderString } from '../../server/src/context/tarsum';
import { ContextEntry, SourceMatch } from '../../server/src/context/types';
import { DAEMON_VERIFIED, makeScenario, mkdir, SCENARIOS, tmpDir, write } from './contextFixtures.test';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function roots(m: SourceMatch[]): Array<[string, string, string | undefined, number]> {
  return m.flatMap((s) => s.roots.map((r) => [r.rel, r.kind, r.target, r.entries.length] as [string, string, string | undefined, number]));
}

describe('context/sources: resolving COPY sources', function () {
  this.timeout(60_000);
  let root = '';
  let ctx = '';
  let idx: ContextIndex;
  before(async () => {
    root = tmpDir('layerlens-src-');
    ctx = makeScenario(SCENARIOS[0], root);
    idx = await ContextIndex.open(ctx, 'Dockerfile', { cacheDir: null, builder: 'classic' });
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('the context root: ".", "./", "/" and ""', () => {
    for (const src of ['.', './', '/', '']) {
      const m = resolveSources(idx, [src]);
      assert.deepStrictEqual(roots(m), [['', 'dir', '', idx.size]], src);
    }
  });

  it('files, directories (contents, walk order) and trimmed spellings', () => {
    assert.deepStrictEqual(roots(resolveSources(idx, ['a.txt'])), [['a.txt', 'file', 'a.txt', 1]]);
    const nested = resolveSources(idx, ['./nested/']);
    assert.deepStrictEqual(roots(nested), [['nested', 'dir', 'nested', 11]]);
    assert.deepStrictEqual(nested[0].roots[0].entries.slice(0, 3).map((s) => s.under), ['abs-link', 'dangling', 'deep']);
    assert.deepStrictEqual(roots(resolveSources(idx, ['/a.txt'])), [['a.txt', 'file', 'a.txt', 1]]);
    assert.deepStrictEqual(roots(resolveSources(idx, ['nested//deep/../z'])), [['nested/z', 'file', 'nested/z', 1]]);
  });

  it('wildcards: filepath.Match per path, several roots in walk order, each resolved on its own', () => {
    assert.deepStrictEqual(roots(resolveSources(idx, ['*.txt'])), [
      ['a.txt', 'file', 'a.txt', 1],
      ['b.txt', 'file', 'b.txt', 1],
    ]);
    assert.deepStrictEqual(roots(resolveSources(idx, ['nested/*/er'])), [['nested/deep/er', 'dir', 'nested/deep/er', 1]]);
    assert.deepStrictEqual(roots(resolveSources(idx, ['[ab].txt', 'n?sted/z'])), [
      ['a.txt', 'file', 'a.txt', 1],
      ['b.txt', 'file', 'b.txt', 1],
      ['nested/z', 'file', 'nested/z', 1],
    ]);
    const none = resolveSources(idx, ['*.nothing']);
    assert.strictEqual(none[0].roots.length, 0);
    assert.match(none[0].error!, /no source files/);
  });

  it('symlinks named as sources are followed inside the context', () => {
    assert.deepStrictEqual(roots(resolveSources(idx, ['link'])), [['link', 'file', 'a.txt', 1]]);
    assert.deepStrictEqual(roots(resolveSources(idx, ['dirlink'])), [['dirlink', 'dir', 'nested', 11]]);
    // '../../../../a.txt' from nested/deep climbs above the root and is clamped there.
    assert.deepStrictEqual(roots(resolveSources(idx, ['nested/deep/escape'])), [['nested/deep/escape', 'file', 'a.txt', 1]]);
    // Absolute link text restarts at the context root.
    assert.deepStrictEqual(roots(resolveSources(idx, ['nested/abs-link'])), [['nested/abs-link', 'file', 'a.txt', 1]]);
    assert.deepStrictEqual(roots(resolveSources(idx, ['nested/to-root'])), [['nested/to-root', 'dir', '', idx.size]]);
    assert.deepStrictEqual(roots(resolveSources(idx, ['dirlink/deep/y.md'])), [['dirlink/deep/y.md', 'file', 'nested/deep/y.md', 1]]);
  });

  it('missing sources and paths outside the context', () => {
    const m = resolveSources(idx, ['nope.txt', 'nested/dangling', '../outside', 'a.txt/x']);
    assert.deepStrictEqual(
      m.map((s) => s.roots.length),
      [0, 0, 0, 0],
    );
    assert.match(m[0].error!, /not found in build context/);
    assert.match(m[1].error!, /not found/);
    assert.match(m[2].error!, /forbidden path outside the build context/);
    assert.match(m[3].error!, /not a directory/);
    assert.strictEqual(missingSources(m).length, 4);
  });

  it('resolveInScope mirrors FollowSymlinkInScope', () => {
    // link text is relative to the link's directory: nested/ + nested/deep/er/../y.md (which does not exist)
    assert.deepStrictEqual(resolveInScope(idx, 'nested/rel-link'), { rel: 'nested/nested/deep/y.md' });
    assert.deepStrictEqual(resolveInScope(idx, 'missing/../a.txt'), { rel: 'a.txt' });
    assert.deepStrictEqual(resolveInScope(idx, 'missing/x'), { rel: 'missing/x' });
    assert.deepStrictEqual(resolveInScope(idx, '../../a.txt'), { rel: 'a.txt' });
    assert.deepStrictEqual(resolveInScope(idx, 'nested/to-root/nested/z'), { rel: 'nested/z' });
    const loop = { get: (rel: string): ContextEntry | undefined => (rel === 'l' ? ({ rel, kind: 'symlink', linkTarget: 'l' } as ContextEntry) : undefined) };
    assert.ok('error' in resolveInScope(loop, 'l'));
  });
});

describe('context/sources: classic COPY hash (daemon-verified values)', function () {
  this.timeout(60_000);
  for (const sc of SCENARIOS) {
    it(sc.name, async () => {
      const root = tmpDir('layerlens-classic-');
      try {
        const ctx = makeScenario(sc, root);
        for (const [variant, flavor] of [
          ['full', 'legacy'],
          ['perm', 'patternmatcher'],
        ] as const) {
          const idx = await ContextIndex.open(ctx, sc.dockerfile ?? 'Dockerfile', {
            cacheDir: null,
            builder: 'classic',
            ignoreFlavor: flavor,
            daemonIgnoreFlavor: 'legacy',
          });
          const want = DAEMON_VERIFIED[sc.name][variant];
          for (let i = 0; i < sc.copies.length; i++) {
            const m = resolveSources(idx, sc.copies[i]);
            assert.strictEqual(await classicSourceHash(idx, m, variant), want[i][0], `${variant} COPY ${sc.copies[i].join(' ')}`);
            assert.strictEqual(layerBytes(m), want[i][1], `${variant} size of COPY ${sc.copies[i].join(' ')}`);
          }
        }
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    });
  }

  it('fails like Docker on a missing source; a wildcard without matches adds nothing', async () => {
    const root = tmpDir('layerlens-classic-');
    try {
      const ctx = makeScenario(SCENARIOS[0], root);
      const idx = await ContextIndex.open(ctx, 'Dockerfile', { cacheDir: null, builder: 'classic' });
      await assert.rejects(classicSourceHash(idx, resolveSources(idx, ['missing']), 'perm'), ClassicHashError);
      await assert.rejects(classicSourceHash(idx, resolveSources(idx, ['*.none']), 'perm'), /no source files were specified/);
      assert.strictEqual(
        await classicSourceHash(idx, resolveSources(idx, ['*.none', 'a.txt']), 'full'),
        DAEMON_VERIFIED[SCENARIOS[0].name].full[0][0],
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('context/sources: tar headers', function () {
  this.timeout(60_000);
  const e = (mode: number, kind: ContextEntry['kind'], extra: Partial<ContextEntry> = {}): ContextEntry => ({
    rel: 'x',
    kind,
    mode,
    size: 3,
    mtimeMs: 0,
    ino: 1,
    dev: 1,
    nlink: 1,
    ...extra,
  });

  it('mode variants', () => {
    assert.deepStrictEqual(['perm', 'full', 'windows'].map((v) => tarMode(0o100644, v as 'perm')), [420, 33188, 493]);
    assert.strictEqual(tarMode(0o40755, 'full'), 16877);
    assert.strictEqual(tarMode(0o40755, 'perm'), 493);
    assert.strictEqual(tarMode(0o120777, 'full'), 41471);
    assert.strictEqual(tarMode(0o104755, 'perm'), 0o4755);
    assert.strictEqual(tarMode(0o100600, 'windows'), 0o711);
  });

  it('header strings (name, dir slash, symlink, hardlink, device numbers)', () => {
    assert.strictEqual(
      tarsumHeaderString(tarHeaderFor(e(0o100644, 'file'), 'perm')),
      'namexmode420uid0gid0size3typeflag0linknameunamegnamedevmajor0devminor0',
    );
    assert.strictEqual(tarHeaderFor(e(0o40755, 'dir'), 'full').name, 'x/');
    const link = tarHeaderFor(e(0o120777, 'symlink', { linkTarget: 't' }), 'full');
    assert.deepStrictEqual([link.typeflag, link.linkname, link.size, link.mode], ['2', 't', 0, 41471]);
    const hard = tarHeaderFor(e(0o100644, 'file', { nlink: 2 }), 'perm', 'first');
    assert.deepStrictEqual([hard.typeflag, hard.linkname, hard.size], ['1', 'first', 0]);
    const rdev = fs.statSync('/dev/null').rdev;
    assert.deepStrictEqual(devMajorMinor(rdev), [1, 3]);
    const chr = tarHeaderFor(e(0o20666, 'other', { rdev }), 'full');
    assert.deepStrictEqual([chr.typeflag, chr.devmajor, chr.devminor], ['3', 1, 3]);
  });
});

describe('context/sources: layer bytes and content fingerprints', function () {
  this.timeout(60_000);
  let ctx = '';
  beforeEach(() => {
    ctx = tmpDir('layerlens-fp-');
    write(ctx, 'Dockerfile', 'FROM scratch\n');
    write(ctx, 'src/app.py', 'print(1)\n');
    write(ctx, 'src/util.py', 'u = 2\n', 0o755);
    mkdir(ctx, 'src/empty');
    fs.symlinkSync('app.py', path.join(ctx, 'src/link'));
    write(ctx, 'big.bin', Buffer.alloc(1024 * 1024, 1));
    fs.linkSync(path.join(ctx, 'src/app.py'), path.join(ctx, 'src/hard.py'));
  });
  afterEach(() => fs.rmSync(ctx, { recursive: true, force: true }));

  const openIdx = (): Promise<ContextIndex> => ContextIndex.open(ctx, 'Dockerfile', { cacheDir: null });

  it('layerBytes: files by size, symlinks in directories by link text, named symlinks by target, hardlinks once per directory source', async () => {
    const idx = await openIdx();
    assert.strictEqual(layerBytes(resolveSources(idx, ['big.bin'])), 1048576);
    // app.py 9 + hard.py (same inode, same directory source) 0 + util.py 6 + link 6
    assert.strictEqual(layerBytes(resolveSources(idx, ['src'])), 21);
    // separate sources: each path counts
    assert.strictEqual(layerBytes(resolveSources(idx, ['src/app.py', 'src/hard.py'])), 18);
    assert.strictEqual(layerBytes(resolveSources(idx, ['src/link'])), 9);
    // the same directory twice lands on the same paths
    assert.strictEqual(layerBytes(resolveSources(idx, ['src', 'src'])), 21);
    assert.strictEqual(layerBytes(resolveSources(idx, ['src/empty'])), 0);
  });

  it('fingerprints: landing paths, perms, content; mtime-only changes keep the digest', async () => {
    const idx = await openIdx();
    const m = resolveSources(idx, ['src', 'big.bin']);
    const fp = await contentFingerprint(idx, m);
    assert.deepStrictEqual(fp.entries.map((f) => [f.path, f.kind, f.perm]), [
      ['app.py', 'file', 0o644],
      ['big.bin', 'file', 0o644],
      ['empty', 'dir', 0o755],
      ['hard.py', 'file', 0o644],
      ['link', 'symlink', 0o777],
      ['util.py', 'file', 0o755],
    ]);
    assert.strictEqual(fp.entries[0].sha256, sha('print(1)\n'));
    assert.strictEqual(fp.entries[4].linkTarget, 'app.py');
    assert.strictEqual(fp.entries[4].sha256, sha('app.py'));
    assert.strictEqual(fp.entries[2].sha256, '');

    fs.utimesSync(path.join(ctx, 'src/util.py'), new Date(1e9), new Date(1e9));
    await idx.markChanged(['src/util.py']);
    const touched = await contentFingerprint(idx, resolveSources(idx, ['src', 'big.bin']));
    assert.strictEqual(touched.digest, fp.digest);
  });

  it('diffFingerprints names what changed', async () => {
    const idx = await openIdx();
    const before = await contentFingerprint(idx, resolveSources(idx, ['src']));
    fs.writeFileSync(path.join(ctx, 'src/util.py'), 'u = 3\n');
    fs.chmodSync(path.join(ctx, 'src/app.py'), 0o600);
    fs.unlinkSync(path.join(ctx, 'src/link'));
    write(ctx, 'src/new.py', 'n');
    await idx.markChanged(['src/util.py', 'src/app.py', 'src/link', 'src/new.py']);
    const after = await contentFingerprint(idx, resolveSources(idx, ['src']));
    assert.notStrictEqual(after.digest, before.digest);
    // app.py and hard.py share an inode, so both lost their permission bits.
    assert.deepStrictEqual(diffFingerprints(before.entries, after.entries), {
      added: ['new.py'],
      changed: ['util.py'],
      removed: ['link'],
      chmodded: ['app.py'],
    });
  });
});
