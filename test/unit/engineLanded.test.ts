import * as assert from 'assert';
import type { ContextEntry, SourceMatch } from '../../server/src/context/types';
import type { ContextReader } from '../../server/src/engine/inputs';
import { compareWithLayer, unchangedSince } from '../../server/src/engine/landed';
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
});
