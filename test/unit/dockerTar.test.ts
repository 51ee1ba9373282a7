import * as assert from 'assert';
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { TarFormatError, TarHeader, TarParser, parsePax } from '../../server/src/docker/tar';
import {
  LayerEntryCollector, normaliseTarPath, parseLayerTar, SaveArchiveScanner, SaveFormatError,
} from '../../server/src/docker/layerScan';
import type { LayerFileEntry } from '../../server/src/docker/types';
import { chunks, END, entry, gnuLong, header, layerTar, paxEntry, tar } from './dockerHelpers.test';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

interface Seen { h: TarHeader; body: Buffer }

function parseAll(buf: Buffer, chunkSize = buf.length): Seen[] {
  const out: Seen[] = [];
  const p = new TarParser((h) => {
    const parts: Buffer[] = [];
    return { write: (c) => parts.push(Buffer.from(c)), end: () => out.push({ h, body: Buffer.concat(parts) }) };
  });
  for (const c of chunks(buf, Math.max(1, chunkSize))) p.write(c);
  p.end();
  return out;
}

function sysTar(args: string[], cwd: string): Buffer {
  return execFileSync('tar', args, { cwd, maxBuffer: 64 * 1024 * 1024 });
}

describe('docker/tar: TarParser', () => {
  let dir: string;
  const longDir = 'd'.repeat(60) + '/' + 'e'.repeat(60);
  const longName = `${longDir}/${'f'.repeat(90)}.txt`; // > 100 and > 255 with the prefix split impossible for ustar
  const longTarget = `../${'t'.repeat(120)}`;
  const unicodeName = 'ünïcødé-名前.txt';

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-tar-'));
    const root = path.join(dir, 'root');
    fs.mkdirSync(path.join(root, longDir), { recursive: true });
    fs.writeFileSync(path.join(root, 'a.txt'), 'hello\n');
    fs.writeFileSync(path.join(root, longName), Buffer.alloc(70000, 7));
    fs.writeFileSync(path.join(root, unicodeName), 'u');
    fs.writeFileSync(path.join(root, 'empty'), '');
    fs.linkSync(path.join(root, 'a.txt'), path.join(root, 'hard.txt'));
    fs.symlinkSync('a.txt', path.join(root, 'sym'));
    fs.symlinkSync(longTarget, path.join(root, 'longsym'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const format of ['gnu', 'oldgnu', 'pax'] as const) {
    it(`reads a ${format} archive made by GNU tar identically in every chunking`, () => {
      const buf = sysTar(['--format', format, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', '.'], path.join(dir, 'root'));
      const whole = parseAll(buf);
      for (const size of [1, 7, 511, 512, 513, 4096]) {
        const again = parseAll(buf, size);
        assert.deepStrictEqual(again.map((s) => [s.h.name, s.h.type, s.h.size, sha(s.body)]),
          whole.map((s) => [s.h.name, s.h.type, s.h.size, sha(s.body)]), `chunk size ${size}`);
      }
      const byName = new Map(whole.map((s) => [normaliseTarPath(s.h.name), s]));
      assert.strictEqual(byName.get('a.txt')!.body.toString(), 'hello\n');
      const big = byName.get(longName);
      assert.ok(big, `long name present in ${[...byName.keys()].join(', ')}`);
      assert.strictEqual(big.h.size, 70000);
      assert.strictEqual(sha(big.body), sha(Buffer.alloc(70000, 7)));
      assert.strictEqual(byName.get(unicodeName)!.body.toString(), 'u');
      const hard = byName.get('hard.txt')!;
      assert.strictEqual(hard.h.type, 'hardlink');
      assert.strictEqual(normaliseTarPath(hard.h.linkname), 'a.txt');
      assert.strictEqual(hard.body.length, 0);
      assert.strictEqual(byName.get('sym')!.h.type, 'symlink');
      assert.strictEqual(byName.get('sym')!.h.linkname, 'a.txt');
      assert.strictEqual(byName.get('longsym')!.h.linkname, longTarget);
      assert.strictEqual(byName.get(longDir)!.h.type, 'dir');
      assert.strictEqual(byName.get('empty')!.h.size, 0);
    });
  }

  it('reads large uids/gids (GNU base-256 and PAX records)', () => {
    for (const format of ['gnu', 'pax']) {
      const buf = sysTar(['--format', format, '--owner=:3000000', '--group=:4000000', '-cf', '-', 'a.txt'], path.join(dir, 'root'));
      const [s] = parseAll(buf);
      assert.strictEqual(s!.h.uid, 3000000, format);
      assert.strictEqual(s!.h.gid, 4000000, format);
    }
  });

  it('applies GNU long name (L) and long link name (K) to the next entry only', () => {
    const name = 'x/'.repeat(80) + 'file';
    const link = 'y/'.repeat(70) + 'target';
    const buf = tar(
      gnuLong('L', name), entry({ name: 'truncated', format: 'gnu' }, 'abc'),
      gnuLong('L', `${name}-link`), gnuLong('K', link), entry({ name: 'trunc2', typeflag: '1', linkname: 'short', format: 'gnu' }),
      entry({ name: 'plain', format: 'gnu' }, 'z'),
    );
    const seen = parseAll(buf);
    assert.deepStrictEqual(seen.map((s) => [s.h.name, s.h.type, s.h.linkname, s.body.toString()]), [
      [name, 'file', '', 'abc'],
      [`${name}-link`, 'hardlink', link, ''],
      ['plain', 'file', '', 'z'],
    ]);
  });

  it('applies PAX x records (path, linkpath, size, uid, gid, uname) and g records to later entries', () => {
    const body = Buffer.alloc(1000, 1);
    const buf = tar(
      paxEntry({ comment: 'global', uname: 'globaluser' }, true),
      paxEntry({ path: 'very/long/' + 'p'.repeat(200), size: '1000', uid: '123456789', gid: '42' }),
      // The ustar size field lies (0): the PAX size must win, or the body would be misread.
      Buffer.concat([header({ name: 'short', size: 0 }), body, Buffer.alloc(24)]),
      paxEntry({ linkpath: 'l'.repeat(150) }),
      entry({ name: 'sym', typeflag: '2', linkname: 'ignored' }),
      entry({ name: 'after', uname: 'own' }, 'q'),
    );
    const seen = parseAll(buf, 100);
    assert.strictEqual(seen.length, 3);
    assert.strictEqual(seen[0]!.h.name, 'very/long/' + 'p'.repeat(200));
    assert.strictEqual(seen[0]!.h.size, 1000);
    assert.strictEqual(seen[0]!.h.uid, 123456789);
    assert.strictEqual(seen[0]!.h.gid, 42);
    assert.strictEqual(seen[0]!.h.uname, 'globaluser');
    assert.ok(seen[0]!.body.equals(body));
    assert.strictEqual(seen[1]!.h.linkname, 'l'.repeat(150));
    assert.strictEqual(seen[2]!.h.name, 'after');
    assert.strictEqual(seen[2]!.h.uname, 'globaluser', 'global record overrides the header');
    assert.strictEqual(seen[2]!.h.uid, 0, 'local records do not leak');
    assert.strictEqual(seen[2]!.body.toString(), 'q');
  });

  it('parses PAX records with multi-byte values and rejects malformed ones', () => {
    assert.deepStrictEqual(parsePax(Buffer.from('15 path=ü/名\n')), { path: 'ü/名' });
    assert.throws(() => parsePax(Buffer.from('99 path=x\n')), TarFormatError);
    assert.throws(() => parsePax(Buffer.from('abc path=x\n')), TarFormatError);
  });

  it('joins the ustar prefix, reads base-256 sizes and v7 directories', () => {
    const buf = tar(
      entry({ name: 'name.txt', prefix: 'some/prefix' }, 'p'),
      Buffer.concat([header({ name: 'b256', size: 3, base256Size: true, format: 'gnu' }), Buffer.from('abc'), Buffer.alloc(509)]),
      entry({ name: 'olddir/', typeflag: '\0', format: 'v7' }),
    );
    const seen = parseAll(buf);
    assert.deepStrictEqual(seen.map((s) => [s.h.name, s.h.type, s.body.toString()]), [
      ['some/prefix/name.txt', 'file', 'p'],
      ['b256', 'file', 'abc'],
      ['olddir/', 'dir', ''],
    ]);
  });

  it('gives header-only types no body even when the size field is set', () => {
    const buf = tar(entry({ name: 'hl', typeflag: '1', linkname: 'x', size: 700 }), entry({ name: 'next' }, 'n'));
    const seen = parseAll(buf);
    assert.deepStrictEqual(seen.map((s) => [s.h.name, s.h.size, s.body.length]), [['hl', 700, 0], ['next', 1, 1]]);
  });

  it('stops at the end marker and ignores what follows', () => {
    const buf = Buffer.concat([tar(entry({ name: 'a' }, 'x')), Buffer.from('garbage after the archive')]);
    const p = new TarParser(() => null);
    p.write(buf);
    p.end();
    assert.strictEqual(p.complete, true);
  });

  it('reports a bad checksum and a truncated archive with the byte offset', () => {
    const good = tar(entry({ name: 'a' }, 'x'), entry({ name: 'b' }, 'y'));
    const bad = Buffer.from(good);
    bad[1024 + 3] = 0x41; // corrupt the name of the second header
    assert.throws(() => parseAll(bad), (e: unknown) => e instanceof TarFormatError && /checksum/.test(e.message) && e.offset === 1024);
    assert.throws(() => parseAll(good.subarray(0, 700)), (e: unknown) => e instanceof TarFormatError && /truncated/.test(e.message));
    assert.throws(() => parseAll(good.subarray(0, 1100)), /truncated/);
    // Ending on a block boundary without an end marker is accepted (like GNU tar).
    assert.strictEqual(parseAll(good.subarray(0, 1024)).length, 1);
  });

  it('caps the size of L/K/x/g bodies', () => {
    const p = new TarParser(() => null, { maxMetaSize: 100 });
    assert.throws(() => p.write(gnuLong('L', 'n'.repeat(200))), /exceeds/);
  });
});

describe('docker/layerScan: layer entries', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-layer-'));
    const r = path.join(dir, 'layer');
    fs.mkdirSync(path.join(r, 'etc/sub'), { recursive: true });
    fs.mkdirSync(path.join(r, 'opq'), { recursive: true });
    fs.writeFileSync(path.join(r, 'etc/a.conf'), 'hello\n');
    fs.chmodSync(path.join(r, 'etc/a.conf'), 0o640);
    fs.writeFileSync(path.join(r, 'etc/sub/big.bin'), Buffer.alloc(1024 * 1024, 0xab));
    fs.writeFileSync(path.join(r, 'etc/.wh.removed.txt'), '');
    fs.writeFileSync(path.join(r, 'opq/.wh..wh..opq'), '');
    fs.writeFileSync(path.join(r, '.wh..wh.plnk'), '');
    fs.linkSync(path.join(r, 'etc/a.conf'), path.join(r, 'etc/hard.conf'));
    fs.symlinkSync('/etc/a.conf', path.join(r, 'link'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('hashes file bodies while streaming, flags whiteouts and normalises paths', () => {
    const buf = sysTar(['--format', 'pax', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-cf', '-', '.'], path.join(dir, 'layer'));
    const c = new LayerEntryCollector();
    const p = new TarParser(c.onEntry);
    for (const ch of chunks(buf, 333)) p.write(ch);
    p.end();
    const by = new Map<string, LayerFileEntry>(c.entries.map((e) => [e.path, e]));
    assert.deepStrictEqual(by.get('etc/a.conf'), {
      path: 'etc/a.conf', type: 'file', mode: 0o640, uid: 0, gid: 0, size: 6, linkname: '', sha256: sha('hello\n'), whiteout: 'none',
    });
    assert.strictEqual(by.get('etc/sub/big.bin')!.size, 1048576);
    assert.strictEqual(by.get('etc/sub/big.bin')!.sha256, sha(Buffer.alloc(1024 * 1024, 0xab)));
    assert.deepStrictEqual([by.get('etc/hard.conf')!.type, by.get('etc/hard.conf')!.linkname], ['hardlink', 'etc/a.conf']);
    assert.deepStrictEqual([by.get('link')!.type, by.get('link')!.linkname, by.get('link')!.sha256], ['symlink', '/etc/a.conf', '']);
    assert.strictEqual(by.get('etc')!.type, 'dir');
    assert.strictEqual(by.get('etc/removed.txt')!.whiteout, 'file');
    assert.strictEqual(by.get('etc/removed.txt')!.type, 'other');
    assert.ok(c.entries.some((e) => e.path === 'opq' && e.type === 'dir' && e.whiteout === 'none'));
    const opaque = c.entries.filter((e) => e.path === 'opq' && e.whiteout === 'opaque');
    assert.strictEqual(opaque.length, 1);
    assert.ok(!c.entries.some((e) => e.path.includes('.wh.')), 'no raw whiteout names, no aufs metadata');
    assert.ok(!c.entries.some((e) => e.path === '' || e.path.startsWith('./') || e.path.endsWith('/')));
  });

  it('normaliseTarPath strips ./, leading and trailing slashes', () => {
    assert.strictEqual(normaliseTarPath('./a/b/'), 'a/b');
    assert.strictEqual(normaliseTarPath('/a//./b'), 'a/b');
    assert.strictEqual(normaliseTarPath('./'), '');
  });
});

// ---- docker save archives -------------------------------------------------------------------------------------

function digest(b: Buffer): string {
  return `sha256:${sha(b)}`;
}

async function scan(archive: Buffer, chunkSize = 1000): Promise<Awaited<ReturnType<SaveArchiveScanner['finish']>>> {
  const s = new SaveArchiveScanner();
  for (const c of chunks(archive, chunkSize)) {
    s.write(c);
    const d = s.drain();
    if (d) await d;
  }
  return s.finish();
}

describe('docker/layerScan: docker save archives', () => {
  const l1 = layerTar({ 'bin/sh': 'shell', 'etc/passwd': 'root:x:0:0\n' });
  const l2 = layerTar({ 'app/main.js': 'console.log(1)\n', 'etc/.wh.passwd': '' });

  function legacyArchive(l1Bytes = l1, declared = [digest(l1), digest(l2), digest(l1)]): Buffer {
    const config = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: declared } }));
    const cfgName = `${sha(config)}.json`;
    const manifest = Buffer.from(JSON.stringify([{ Config: cfgName, RepoTags: ['x:1'], Layers: ['aaa/layer.tar', 'bbb/layer.tar', 'ccc/layer.tar'] }]));
    return tar(
      entry({ name: 'aaa/', typeflag: '5' }), entry({ name: 'aaa/VERSION' }, '1.0'), entry({ name: 'aaa/json' }, '{}'),
      entry({ name: 'aaa/layer.tar' }, l1Bytes),
      entry({ name: 'bbb/', typeflag: '5' }), entry({ name: 'bbb/layer.tar' }, l2),
      entry({ name: 'ccc/', typeflag: '5' }), entry({ name: 'ccc/layer.tar', typeflag: '2', linkname: '../aaa/layer.tar' }),
      entry({ name: cfgName }, config),
      entry({ name: 'manifest.json' }, manifest),
      entry({ name: 'repositories' }, '{}'),
    );
  }

  it('legacy layout: diff IDs from streaming hashes, symlinked duplicate layers, config cross-check', async () => {
    const r = await scan(legacyArchive());
    assert.deepStrictEqual([...r.layers.keys()].sort(), [digest(l1), digest(l2)].sort());
    assert.deepStrictEqual(r.layers.get(digest(l1))!.entries.map((e) => [e.path, e.size, e.sha256]), [
      ['bin/sh', 5, sha('shell')], ['etc/passwd', 11, sha('root:x:0:0\n')],
    ]);
    const wh = r.layers.get(digest(l2))!.entries.find((e) => e.whiteout === 'file');
    assert.strictEqual(wh?.path, 'etc/passwd');
    assert.strictEqual(r.pathToDiffId.get('ccc/layer.tar'), digest(l1));
    assert.deepStrictEqual(r.declaredDiffIds, [[digest(l1), digest(l2), digest(l1)]]);
  });

  it('byte-by-byte feeding gives the same result', async () => {
    const a = await scan(legacyArchive(), 1);
    const b = await scan(legacyArchive(), 1 << 20);
    assert.deepStrictEqual([...a.layers.entries()], [...b.layers.entries()]);
  });

  it('rejects an export whose layer bytes do not match the config diff IDs', async () => {
    const other = layerTar({ 'bin/sh': 'SHELL' });
    await assert.rejects(scan(legacyArchive(other)), (e: unknown) => e instanceof SaveFormatError && /declares/.test(e.message));
  });

  it('OCI layout: gzip layers hash to the uncompressed digest; JSON blobs are not layers; zstd is skipped', async () => {
    const gz = zlib.gzipSync(l2);
    const config = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: [digest(l1), digest(l2)] } }));
    const ociManifest = Buffer.from(JSON.stringify({ schemaVersion: 2, layers: [] }));
    const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(600)]);
    const blob = (b: Buffer): string => `blobs/sha256/${sha(b)}`;
    const manifest = Buffer.from(JSON.stringify([{ Config: blob(config), Layers: [blob(l1), blob(gz)] }]));
    const archive = tar(
      entry({ name: 'blobs/', typeflag: '5' }), entry({ name: 'blobs/sha256/', typeflag: '5' }),
      ...[l1, gz, config, ociManifest, zstd].sort((a, b) => (sha(a) < sha(b) ? -1 : 1)).map((b) => entry({ name: blob(b) }, b)),
      entry({ name: 'index.json' }, '{"schemaVersion":2}'),
      entry({ name: 'manifest.json' }, manifest),
      entry({ name: 'oci-layout' }, '{"imageLayoutVersion":"1.0.0"}'),
    );
    const r = await scan(archive, 4096);
    assert.deepStrictEqual([...r.layers.keys()].sort(), [digest(l1), digest(l2)].sort());
    assert.strictEqual(r.layers.get(digest(l2))!.compression, 'gzip');
    assert.strictEqual(r.pathToDiffId.get(blob(gz)), digest(l2));
    assert.deepStrictEqual(r.skipped.map((s) => s.path), [blob(zstd)]);
  });

  it('parseLayerTar on an in-memory tar', () => {
    assert.deepStrictEqual(parseLayerTar(END), []);
    assert.strictEqual(parseLayerTar(l1).length, 2);
  });
});
