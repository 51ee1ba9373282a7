import * as assert from 'assert';
import type { ContextEntry, SourceMatch } from '../../server/src/context/types';
import type { ContextReader } from '../../server/src/engine/inputs';
import { compareSourcesWithLayer, compareWithLayer, landedFiles, unchangedSince } from '../../server/src/engine/landed';
import type { CopySpec } from '../../server/src/engine/evaluate';
import type { LayerFileEntry } from '../../server/src/docker/types';

const entry = (rel: string, kind: ContextEntry['kind'], ctimeMs: number): ContextEntry => ({
  rel, kind, mode: kind === 'dir' ? 0o40755 : 0o100644, size: 3, mtimeMs: ctimeMs, ctimeMs, ino: 1, dev: 1, nlink: 1,
});

function reader(ctimes: Record<string, number | null>): ContextReader {
  return {
    resolve: () => [],
    layerBytes: () => 0,
    contentHash: async () => '',
    contentHashes: async () => new Map(),
    verifiedAt: () => null,
    markVerified: () => undefined,
    classicHash: async () => '',
    ctimeOf: (rel) => ctimes[rel] ?? null,
  };
}

const srcDir = (files: ContextEntry[]): SourceMatch[] => [
  { pattern: 'src/', roots: [{ rel: 'src', kind: 'dir', entries: files.map((e) => ({ entry: e, under: e.rel.slice(4) })) }] },
];

describe('unchangedSince (the BuildKit COPY fast path)', () => {
  const built = 10_000;
  it('holds when every entry, the root folder and its parent changed status before the build', () => {
    const m = srcDir([entry('src/a.py', 'file', 5_000), entry('src/lib', 'dir', 6_000), entry('src/lib/b.py', 'file', 7_000)]);
    assert.strictEqual(unchangedSince(reader({ src: 8_000, '': 9_000 }), m, built), true);
  });
  const cases: [string, Record<string, number | null>, number][] = [
    ['a file written (or chmod-ed, or renamed) after the build', { src: 8_000, '': 9_000 }, 12_000],
    ['an entry added or removed in the source folder', { src: 11_000, '': 9_000 }, 5_000],
    ['an entry added or removed next to the source folder', { src: 8_000, '': 11_000 }, 5_000],
    ['a folder whose ctime is unknown', { src: null, '': 9_000 }, 5_000],
  ];
  for (const [what, folders, fileCtime] of cases) {
    it(`does not hold after ${what}`, () => {
      const m = srcDir([entry('src/a.py', 'file', fileCtime)]);
      assert.strictEqual(unchangedSince(reader(folders), m, built), false);
    });
  }
});

describe('compareWithLayer', () => {
  const layerFile = (path: string, sha256: string, mode = 0o644, size = 3): LayerFileEntry => ({
    path, type: 'file', mode, uid: 0, gid: 0, size, linkname: '', sha256, whiteout: 'none',
  });
  const landed = (path: string, sha256: string, perm = 0o644, size = 3) => ({
    path, kind: 'file' as const, perm, size, sha256, linkTarget: '', from: path.replace(/^app\//, ''), mtimeMs: 0,
  });
  it('is null for the same files, whatever the directories in the layer', () => {
    const layer = [{ ...layerFile('app', ''), type: 'dir' as const }, layerFile('app/a.py', 'h1')];
    assert.strictEqual(compareWithLayer([landed('app/a.py', 'h1')], layer, 0), null);
  });
  it('names added, changed, removed and chmod-ed files', () => {
    const layer = [layerFile('app/a.py', 'h1'), layerFile('app/b.py', 'h2'), layerFile('app/c.py', 'h3')];
    const now = [landed('app/a.py', 'h1', 0o755), landed('app/b.py', 'hX'), landed('app/d.py', 'h4')];
    assert.deepStrictEqual(compareWithLayer(now, layer, 0), { added: ['d.py'], changed: ['b.py'], removed: ['/app/c.py'], chmodded: ['a.py'] });
  });
  it('compares a hardlink in the layer (no size or content in its header) by the file it links to', () => {
    // What BuildKit makes of a context whose sub/b.txt is a hardlink of a.txt, sent through a file-sync session.
    const layer = [layerFile('app/a.txt', 'h1', 0o644, 6), { ...layerFile('app/sub/b.txt', '', 0o644, 0), type: 'hardlink' as const, linkname: 'app/a.txt' }];
    const same = [landed('app/a.txt', 'h1', 0o644, 6), landed('app/sub/b.txt', 'h1', 0o644, 6)];
    assert.strictEqual(compareWithLayer(same, layer, 0), null);
    const edited = [landed('app/a.txt', 'h1', 0o644, 6), landed('app/sub/b.txt', 'h2', 0o644, 6)];
    assert.deepStrictEqual(compareWithLayer(edited, layer, 0), { added: [], changed: ['sub/b.txt'], removed: [], chmodded: [] });
  });
});

describe('compareSourcesWithLayer (incremental)', () => {
  const copy: CopySpec = { sources: ['.'], dest: '.', destAbs: '/app', fromStage: null, fromImage: null, chown: null, chmod: null };
  const file = (rel: string, size = 3, mode = 0o100644): ContextEntry => ({ rel, kind: 'file', mode, size, mtimeMs: 1, ctimeMs: 1, ino: 1, dev: 1, nlink: 1 });
  const layerFile = (path: string, sha256: string, mode = 0o644, size = 3): LayerFileEntry => ({
    path, type: 'file', mode, uid: 0, gid: 0, size, linkname: '', sha256, whiteout: 'none',
  });
  const whole = (entries: ContextEntry[]): SourceMatch[] => [{ pattern: '.', roots: [{ rel: '', kind: 'dir', entries: entries.map((e) => ({ entry: e, under: e.rel })) }] }];
  /** A reader whose hashes come from `content` (absent: unreadable) and which records every batch it was asked for. */
  function hashingReader(content: Record<string, string>): ContextReader & { asked: string[][] } {
    const asked: string[][] = [];
    return {
      ...reader({}),
      asked,
      contentHashes: async (rels) => {
        asked.push([...rels]);
        return new Map(rels.filter((r) => content[r] !== undefined).map((r) => [r, content[r]!]));
      },
    };
  }
  let seq = 0;
  const layerId = (): string => `sha256:${(++seq).toString(16).padStart(64, '0')}`;

  it('agrees with compareWithLayer over landedFiles, then re-reads only entries that changed', async () => {
    const layer = [layerFile('app/a.py', 'h1'), layerFile('app/b.py', 'h2'), layerFile('app/c.py', 'h3'), layerFile('app/z.py', 'h5')];
    const entries = [file('a.py', 3, 0o100755), file('b.py'), file('d.py'), file('z.py')];
    const ctx = hashingReader({ 'a.py': 'h1', 'b.py': 'hX', 'd.py': 'h4', 'z.py': 'h5' });
    const expected = compareWithLayer(await landedFiles(ctx, copy, whole(entries)), layer, 0);
    assert.deepStrictEqual(expected, { added: ['d.py'], changed: ['b.py'], removed: ['/app/c.py'], chmodded: ['a.py'] });
    const diffId = layerId();
    ctx.asked.length = 0;
    assert.deepStrictEqual(await compareSourcesWithLayer(ctx, copy, whole(entries), { diffId, files: Promise.resolve(layer) }, 0), expected);
    assert.deepStrictEqual(ctx.asked, [['a.py', 'b.py', 'd.py', 'z.py']]);
    // b.py reverted (a new entry object, as the context index makes on any change): only it is hashed again.
    const reverted = [entries[0]!, file('b.py'), entries[2]!, entries[3]!];
    const ctx2 = hashingReader({ 'a.py': 'h1', 'b.py': 'h2', 'd.py': 'h4', 'z.py': 'h5' });
    const again = await compareSourcesWithLayer(ctx2, copy, whole(reverted), { diffId, files: Promise.resolve(layer) }, 0);
    assert.deepStrictEqual(again, { added: ['d.py'], changed: [], removed: ['/app/c.py'], chmodded: ['a.py'] });
    assert.deepStrictEqual(ctx2.asked, [['b.py']]);
  });

  it('remembers verdicts per layer and destination, not across them', async () => {
    const entries = [file('a.py')];
    const ctx = hashingReader({ 'a.py': 'h1' });
    const sameLayer = [layerFile('app/a.py', 'h1')];
    const diffId = layerId();
    assert.strictEqual(await compareSourcesWithLayer(ctx, copy, whole(entries), { diffId, files: Promise.resolve(sameLayer) }, 0), null);
    const other = await compareSourcesWithLayer(ctx, copy, whole(entries), { diffId: layerId(), files: Promise.resolve([layerFile('app/a.py', 'h0')]) }, 0);
    assert.deepStrictEqual(other?.changed, ['a.py']);
    const elsewhere = await compareSourcesWithLayer(ctx, { ...copy, destAbs: '/srv' }, whole(entries), { diffId, files: Promise.resolve(sameLayer) }, 0);
    assert.deepStrictEqual(elsewhere, { added: ['a.py'], changed: [], removed: ['/app/a.py'], chmodded: [] });
    assert.strictEqual(ctx.asked.length, 3);
  });

  it('judges an unreadable file as changed, and again next time', async () => {
    const entries = [file('a.py')];
    const ctx = hashingReader({});
    const layer = { diffId: layerId(), files: Promise.resolve([layerFile('app/a.py', 'h1')]) };
    assert.deepStrictEqual((await compareSourcesWithLayer(ctx, copy, whole(entries), layer, 0))?.changed, ['a.py']);
    assert.deepStrictEqual((await compareSourcesWithLayer(ctx, copy, whole(entries), layer, 0))?.changed, ['a.py']);
    assert.strictEqual(ctx.asked.length, 2);
  });

  it('hashes the sources while the layer is still being read, and gives undefined when it cannot be read', async () => {
    const ctx = hashingReader({ 'a.py': 'h1' });
    let deliver: (v: null) => void = () => undefined;
    const files = new Promise<null>((resolve) => (deliver = resolve));
    const result = compareSourcesWithLayer(ctx, copy, whole([file('a.py')]), { diffId: layerId(), files }, 0);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepStrictEqual(ctx.asked, [['a.py']], 'hashing did not wait for the layer');
    deliver(null);
    assert.strictEqual(await result, undefined);
  });
});
