// The layer explorer's pure analysis on tars built here: a docker-save archive read headers-only, then whiteouts,
// opaque directories, hardlinks, removable bytes (each hidden version once) and dive's efficiency by hand.

import * as assert from 'assert';
import { SaveArchiveScanner } from '../../server/src/docker/layerScan';
import type { LayerFileEntry } from '../../server/src/docker/types';
import { layerTree, comparePaths } from '../../server/src/layers/tree';
import { analyseWaste } from '../../server/src/layers/waste';
import { layerCarriers, layerRows, readableCreatedBy, sanitise } from '../../server/src/layers/rows';
import { parseDockerfile } from '../../server/src/engine/dockerfileModel';
import type { HistoryEntry, ImageInspect } from '../../server/src/docker/types';
import { chunks, entry, saveArchive, tar } from './dockerHelpers.test';

const dir = (name: string): Buffer => entry({ name: `${name}/`, typeflag: '5', mode: 0o755 });
const file = (name: string, bytes: number): Buffer => entry({ name }, Buffer.alloc(bytes, 0x61));
const hardlink = (name: string, target: string): Buffer => entry({ name, typeflag: '1', linkname: target });
const marker = (name: string): Buffer => entry({ name });

/** Four layers exercising overwrite, directory delete, opaque directory and a hardlinked file deleted name by name. */
function fixtureLayers(): Buffer[] {
  return [
    tar(dir('etc'), file('etc/a', 100), file('etc/b', 200), dir('big'), file('big/x', 1000), file('big/y', 2000),
      file('keep', 50), dir('hl'), file('hl/orig', 300), hardlink('hl/link', 'hl/orig')),
    tar(dir('etc'), file('etc/a', 150), marker('.wh.big'), file('new', 10)),
    tar(dir('etc'), marker('etc/.wh..wh..opq'), file('etc/a', 160), file('etc/c', 5), dir('hl'), marker('hl/.wh.orig')),
    tar(dir('hl'), marker('hl/.wh.link')),
  ];
}

async function scanHeaders(archive: Buffer, chunk: number): Promise<{ byDiffId: Map<string, LayerFileEntry[]>; bodiesHashed: boolean }> {
  const byDiffId = new Map<string, LayerFileEntry[]>();
  const s = new SaveArchiveScanner({ hashBodies: false, retain: false, onLayer: (d, e) => byDiffId.set(d, e) });
  for (const c of chunks(archive, chunk)) {
    s.write(c);
    await s.drain();
  }
  const res = await s.finish();
  for (const l of res.layers.values()) assert.deepStrictEqual(l.entries, [], 'retain: false keeps no entries in the result');
  const bodiesHashed = [...byDiffId.values()].some((es) => es.some((e) => e.sha256 !== ''));
  return { byDiffId, bodiesHashed };
}

async function fixture(): Promise<LayerFileEntry[][]> {
  const { archive, diffIds } = saveArchive(fixtureLayers());
  const { byDiffId, bodiesHashed } = await scanHeaders(archive, 777);
  assert.strictEqual(bodiesHashed, false);
  return diffIds.map((d) => byDiffId.get(d)!);
}

describe('layers: headers-only export scan', () => {
  it('hands every layer over by verified diff ID, with header sizes and no content hash, in any chunking', async () => {
    const { archive, diffIds } = saveArchive(fixtureLayers());
    for (const size of [1, 512, 100000]) {
      const { byDiffId } = await scanHeaders(archive, size);
      assert.deepStrictEqual([...byDiffId.keys()].sort(), [...diffIds].sort());
      const l0 = byDiffId.get(diffIds[0]!)!;
      assert.deepStrictEqual(l0.filter((e) => e.type === 'file').map((e) => [e.path, e.size]),
        [['etc/a', 100], ['etc/b', 200], ['big/x', 1000], ['big/y', 2000], ['keep', 50], ['hl/orig', 300]]);
      assert.deepStrictEqual(l0.find((e) => e.path === 'hl/link'), { path: 'hl/link', type: 'hardlink', mode: 0o644, uid: 0, gid: 0, size: 0, linkname: 'hl/orig', sha256: '', whiteout: 'none' });
      const l2 = byDiffId.get(diffIds[2]!)!;
      assert.deepStrictEqual(l2.filter((e) => e.whiteout !== 'none').map((e) => [e.path, e.whiteout]), [['etc', 'opaque'], ['hl/orig', 'file']]);
    }
  });
});

describe('layers: waste', () => {
  it('counts each hidden file version once: overwritten, deleted directory, opaque directory, hardlinks last', async () => {
    const w = analyseWaste(await fixture(), 100);
    // etc/a 100 (overwritten in 1) + big/x 1000 + big/y 2000 (deleted in 1) + etc/a 150 and etc/b 200 (opaque in 2)
    // + hl/orig 300, reachable through hl/link until layer 3 deletes that name too.
    assert.strictEqual(w.removableBytes, 100 + 1000 + 2000 + 150 + 200 + 300);
    assert.strictEqual(w.removableFiles, 6);
    assert.deepStrictEqual(w.offenders, [
      { path: 'big/y', bytes: 2000, versions: 1, addedLayer: 0, hiddenLayer: 1, how: 'deleted' },
      { path: 'big/x', bytes: 1000, versions: 1, addedLayer: 0, hiddenLayer: 1, how: 'deleted' },
      { path: 'hl/orig', bytes: 300, versions: 1, addedLayer: 0, hiddenLayer: 3, how: 'deleted' },
      { path: 'etc/a', bytes: 250, versions: 2, addedLayer: 0, hiddenLayer: 2, how: 'opaque-dir' },
      { path: 'etc/b', bytes: 200, versions: 1, addedLayer: 0, hiddenLayer: 2, how: 'opaque-dir' },
    ]);
  });

  it("reproduces dive's efficiency score and wasted bytes (which count the live copy too)", async () => {
    const w = analyseWaste(await fixture());
    // Leaves per path (by hand): etc/a 100+150+160; etc/b 200; big/x 1000; big/y 2000; big (whiteout of a dir) 3000;
    // keep 50; hl/orig 300 then a file whiteout 0; hl/link 0 then 0; new 10; etc/c 5.
    const minimum = 100 + 200 + 1000 + 2000 + 3000 + 50 + 0 + 0 + 10 + 5;
    const discovered = 410 + 200 + 1000 + 2000 + 3000 + 50 + 300 + 0 + 10 + 5;
    assert.strictEqual(w.efficiency, minimum / discovered);
    assert.strictEqual(w.diveWastedBytes, 410 + 300);
  });

  it('an image without hidden files wastes nothing and scores 1', () => {
    const w = analyseWaste([[{ path: 'a', type: 'file', size: 5, linkname: '', whiteout: 'none' }]]);
    assert.deepStrictEqual([w.efficiency, w.diveWastedBytes, w.removableBytes, w.offenders.length], [1, 0, 0, 0]);
    assert.strictEqual(analyseWaste([]).efficiency, 1);
  });

  it('a file replaced by a directory and a directory replaced by a file hide the lower bytes', () => {
    const f = (path: string, size: number): { path: string; type: 'file'; size: number; linkname: string; whiteout: 'none' } =>
      ({ path, type: 'file', size, linkname: '', whiteout: 'none' });
    const w = analyseWaste([[f('x', 7), f('d/1', 3), f('d/2', 4)], [f('x/inner', 1), f('d', 9)]]);
    assert.strictEqual(w.removableBytes, 7 + 3 + 4);
    assert.deepStrictEqual(w.offenders.map((o) => [o.path, o.how]), [['x', 'overwritten'], ['d/2', 'overwritten'], ['d/1', 'overwritten']]);
  });
});

describe('layers: file tree of a layer', () => {
  it("'changes' lists what the layer writes and removes, collapsed, with directory totals and counts", async () => {
    const t = layerTree(await fixture(), 2, { view: 'changes', filter: '', under: '', limit: 100 });
    assert.deepStrictEqual(t.counts, { added: 1, modified: 1, removed: 2 });
    assert.deepStrictEqual(t.nodes.map((n) => [n.path, n.depth, n.kind, n.size, n.change, n.opaque ?? false]), [
      ['etc', 0, 'dir', 160 + 200 + 5, 'modified', true],
      ['etc/a', 1, 'file', 160, 'modified', false],
      ['etc/b', 1, 'file', 200, 'removed', false],
      ['etc/c', 1, 'file', 5, 'added', false],
      ['hl', 0, 'dir', 300, 'modified', false],
      ['hl/orig', 1, 'file', 300, 'removed', false],
    ]);
    assert.strictEqual(t.truncated, false);
  });

  it('a deleted directory is one removed node carrying the bytes it hid', async () => {
    const t = layerTree(await fixture(), 1, { view: 'changes', filter: '', under: '', limit: 100 });
    assert.deepStrictEqual(t.nodes.find((n) => n.path === 'big'), { path: 'big', depth: 0, kind: 'dir', size: 3000, change: 'removed' });
    assert.deepStrictEqual(t.counts, { added: 1, modified: 1, removed: 2 });
  });

  it("'filesystem' is the merged tree as of the layer; filter, under and limit cut it", async () => {
    const layers = await fixture();
    const whole = layerTree(layers, 3, { view: 'filesystem', filter: '', under: '', limit: 100 });
    assert.deepStrictEqual(whole.nodes.filter((n) => n.change !== 'removed').map((n) => n.path), ['etc', 'etc/a', 'etc/c', 'hl', 'keep', 'new']);
    assert.deepStrictEqual(whole.nodes.filter((n) => n.change === 'removed').map((n) => n.path), ['hl/link']);
    const filtered = layerTree(layers, 3, { view: 'filesystem', filter: 'ETC/A', under: '', limit: 100 });
    assert.deepStrictEqual(filtered.nodes.map((n) => [n.path, n.size, n.change]), [['etc', 160, 'unchanged'], ['etc/a', 160, 'unchanged']]);
    const cut = layerTree(layers, 0, { view: 'filesystem', filter: '', under: '', limit: 3 });
    assert.deepStrictEqual([cut.nodes.map((n) => n.path), cut.truncated, cut.matched], [['big', 'big/x', 'big/y'], true, 10]);
    const under = layerTree(layers, 0, { view: 'changes', filter: '', under: 'hl', limit: 100 });
    assert.deepStrictEqual(under.nodes.map((n) => [n.path, n.kind, n.linkTarget ?? '']), [['hl', 'dir', ''], ['hl/link', 'hardlink', 'hl/orig'], ['hl/orig', 'file', '']]);
  });

  it('sorts depth-first: a directory right before its contents', () => {
    assert.deepStrictEqual(['a-b', 'a/z', 'a', 'a/b/c', 'a.b'].sort(comparePaths), ['a', 'a/b/c', 'a/z', 'a-b', 'a.b']);
  });

  it('cuts a layer of 100,000 files to the limit, counting all of them', () => {
    const big = Array.from({ length: 100000 }, (_, i) => ({ path: `d${i % 100}/f${i}`, type: 'file' as const, size: i, linkname: '', whiteout: 'none' as const }));
    const t = layerTree([big], 0, { view: 'changes', filter: '', under: '', limit: 2000 });
    assert.strictEqual(t.nodes.length, 2000);
    assert.strictEqual(t.matched, 100100);
    assert.strictEqual(t.counts.added, 100000);
  });
});

describe('layers: history rows', () => {
  const h = (createdBy: string, size: number, created = 1700000000): HistoryEntry => ({ id: '<missing>', created, createdBy, size, comment: '', tags: [] });

  it('makes instructions readable from both builders', () => {
    assert.strictEqual(readableCreatedBy('/bin/sh -c #(nop)  ENV A=b'), 'ENV A=b');
    assert.strictEqual(readableCreatedBy('/bin/sh -c #(nop) COPY file:0123 in /app '), 'COPY file:0123 in /app');
    assert.strictEqual(readableCreatedBy('/bin/sh -c apt-get update &&   rm -rf x'), 'RUN apt-get update && rm -rf x');
    assert.strictEqual(readableCreatedBy('|2 A=1 B=2 /bin/sh -c make'), 'RUN make');
    assert.strictEqual(readableCreatedBy('RUN /bin/sh -c echo hi # buildkit'), 'RUN echo hi');
    assert.strictEqual(readableCreatedBy('COPY app /app # buildkit'), 'COPY app /app');
    assert.strictEqual(sanitise('a\u0000b\u001b[31mc\u202ed'), 'ab[31mcd');
  });

  it('lines history up with the layers and the Dockerfile, base rows under FROM, rebuild marks from the engine', () => {
    const hist = [h('', 100), h('/bin/sh -c #(nop)  CMD ["sh"]', 0), h('RUN /bin/sh -c echo a > /a # buildkit', 20), h('ENV X=1', 0), h('WORKDIR /w', 0), h('COPY f /w/ # buildkit', 30)].reverse();
    const image: ImageInspect = {
      id: 'sha256:img', parentId: '', repoTags: ['t:1'], created: '2023-01-01T00:00:00Z', size: 150,
      config: { cmd: null, env: null, entrypoint: null, user: '', labels: null, exposedPorts: [], volumes: [], tty: false, openStdin: false, attachStdout: false, attachStderr: false, workingDir: '' },
      containerConfig: null, layers: ['sha256:l0', 'sha256:l1', 'sha256:l2'],
    };
    // WORKDIR /w left no layer here (3 layers for 4 candidates): it is the one dropped.
    assert.deepStrictEqual(layerCarriers([...hist].reverse(), 3), [true, false, true, false, false, true]);
    const text = 'FROM base:1\nRUN echo a > /a\nENV X=1\nWORKDIR /w\nCOPY f /w/\n';
    const rows = layerRows({
      image, history: hist, base: { ref: 'base:1', historyLength: 2 },
      dockerfile: {
        uri: 'file:///d/Dockerfile', model: parseDockerfile(text), target: 0,
        steps: [{ line: 2, endLine: 2, stage: '0', instruction: 'RUN', text: '', createsLayer: true, cache: 'hit', reason: 'cached', size: { bytes: 20, exact: true, source: 'history' }, skipped: false },
          { line: 5, endLine: 5, stage: '0', instruction: 'COPY', text: '', createsLayer: true, cache: 'miss', reason: '`f` changed', size: { bytes: 30, exact: true, source: 'context' }, skipped: false }],
      },
    });
    assert.deepStrictEqual(rows.map((r) => [r.index, r.diffId, r.empty, r.base, r.cumulativeSize, r.source?.line ?? null, r.wouldRebuild]), [
      [0, 'sha256:l0', false, true, 100, 0, null],
      [1, null, true, true, 100, 0, null],
      [2, 'sha256:l1', false, false, 120, 1, false],
      [3, null, true, false, 120, 2, null],
      [4, null, true, false, 120, 3, null],
      [5, 'sha256:l2', false, false, 150, 4, true],
    ]);
    assert.strictEqual(rows[0]!.baseImage, 'base:1');
    assert.strictEqual(rows[5]!.rebuildReason, '`f` changed');
  });
});
