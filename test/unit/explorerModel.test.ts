// The Layer Explorer's pure view-model (webview/src/model): table rows (grouping under the FROM, sorting, shares), the
// layer a Dockerfile line made, the file tree and its visible rows, readable times.
import * as assert from 'assert';
import type { ExplorerFileNode, ExplorerLayerRow } from '../../webview/src/messages';
import { buildTree, foldersToDepth, pathParts, visibleRows } from '../../webview/src/model/fileTree';
import { percent, relativeTime, shortId } from '../../webview/src/model/format';
import { layerAtLine, rowOfLayer, tableRows, totals, type TableRow } from '../../webview/src/model/layers';

type LayerSpec = Partial<ExplorerLayerRow> & { line?: number; endLine?: number };

/** A row as the server sends it; cumulative sizes are filled in by `history()`. */
function layer(index: number, spec: LayerSpec = {}): ExplorerLayerRow {
  const { line, endLine, ...over } = spec;
  const source = line === undefined ? null : { uri: 'file:///w/Dockerfile', line, endLine: endLine ?? line };
  return { index, diffId: null, created: null, createdBy: `RUN step${index}`, createdByRaw: '', comment: '', size: 0, cumulativeSize: 0, empty: false, base: false, baseImage: null, source, wouldRebuild: null, rebuildReason: null, ...over };
}

function history(rows: ExplorerLayerRow[]): ExplorerLayerRow[] {
  let sum = 0;
  return rows.map((r) => ({ ...r, cumulativeSize: (sum += r.size) }));
}

function describeRows(rows: readonly TableRow[]): string[] {
  return rows.map((r) => (r.kind === 'group' ? `group:${r.count}:${r.size}${r.expanded ? ':open' : ''}` : `${r.inGroup ? '  ' : ''}${r.layer.index}:${r.layer.cumulativeSize}`));
}

describe('explorer model: table rows', () => {
  const layers = history([
    layer(0, { base: true, baseImage: 'busybox:1', size: 100, line: 0, endLine: 0 }),
    layer(1, { base: true, baseImage: 'busybox:1', empty: true, line: 0, endLine: 0 }),
    layer(2, { size: 50, line: 1, endLine: 1, wouldRebuild: false }),
    layer(3, { empty: true, line: 2, endLine: 2, wouldRebuild: true }),
    layer(4, { size: 250, line: 3, endLine: 5, wouldRebuild: true }),
  ]);

  it('groups base layers under one collapsed row, cumulative sizes in history order', () => {
    const rows = tableRows(layers, { sort: 'history', baseExpanded: false, showEmpty: true });
    assert.deepStrictEqual(describeRows(rows), ['group:2:100', '2:150', '3:150', '4:400']);
    const g = rows[0]!;
    assert.ok(g.kind === 'group' && g.label === 'busybox:1' && g.line === 0 && g.lastLayer === 1 && g.share === 0.25, JSON.stringify(g));
  });

  it('shows the base layers inside the expanded group and hides empty entries when asked', () => {
    assert.deepStrictEqual(describeRows(tableRows(layers, { sort: 'history', baseExpanded: true, showEmpty: true })), ['group:2:100:open', '  0:100', '  1:100', '2:150', '3:150', '4:400']);
    assert.deepStrictEqual(describeRows(tableRows(layers, { sort: 'history', baseExpanded: true, showEmpty: false })), ['group:2:100:open', '  0:100', '2:150', '4:400']);
  });

  it('sorts by size as a flat list, ties in history order', () => {
    assert.deepStrictEqual(describeRows(tableRows(layers, { sort: 'size-desc', baseExpanded: false, showEmpty: true })), ['4:400', '0:100', '2:150', '1:100', '3:150']);
    assert.deepStrictEqual(describeRows(tableRows(layers, { sort: 'size-asc', baseExpanded: false, showEmpty: false })), ['2:150', '0:100', '4:400']);
  });

  it('has no group when no layer comes from the base image; shares of an all-empty image are 0', () => {
    const rows = tableRows(history([layer(0, { empty: true }), layer(1)]), { sort: 'history', baseExpanded: false, showEmpty: true });
    assert.deepStrictEqual(describeRows(rows), ['0:0', '1:0']);
    assert.ok(rows.every((r) => r.share === 0));
  });

  it('counts totals', () => {
    assert.deepStrictEqual(totals(layers), { bytes: 400, layers: 5, empty: 2, base: 2, baseBytes: 100, rebuilds: 2 });
  });

  it('finds the layer a line made (continuation lines included; FROM → its newest non-empty base layer)', () => {
    assert.strictEqual(layerAtLine(layers, 0), 0);
    assert.strictEqual(layerAtLine(layers, 2), 3);
    assert.strictEqual(layerAtLine(layers, 4), 4);
    assert.strictEqual(layerAtLine(layers, 5), 4);
    assert.strictEqual(layerAtLine(layers, 9), null);
  });

  it('finds the row of a layer, or its group when collapsed', () => {
    const rows = tableRows(layers, { sort: 'history', baseExpanded: false, showEmpty: true });
    assert.strictEqual(rowOfLayer(rows, 0, layers), 0);
    assert.strictEqual(rowOfLayer(rows, 4, layers), 3);
    assert.strictEqual(rowOfLayer(tableRows(layers, { sort: 'history', baseExpanded: false, showEmpty: false }), 3, layers), -1);
  });

  it('keeps a 200-layer history in order with the right cumulative total', () => {
    const many = history(Array.from({ length: 200 }, (_, i) => layer(i, { size: i + 1 }))).reverse();
    const rows = tableRows(many, { sort: 'history', baseExpanded: false, showEmpty: true });
    assert.strictEqual(rows.length, 200);
    assert.deepStrictEqual(rows.map((r) => (r.kind === 'layer' ? r.layer.index : -1)), Array.from({ length: 200 }, (_, i) => i));
    const last = rows[199]!;
    assert.ok(last.kind === 'layer' && last.layer.cumulativeSize === (200 * 201) / 2 && Math.abs(last.share - 200 / 20100) < 1e-12);
  });
});

describe('explorer model: file tree', () => {
  // Not in the server's depth-first order, and one folder (`usr`) only implied: the tree must not depend on either.
  const entries: ExplorerFileNode[] = [
    { path: 'usr/bin/tool', depth: 2, kind: 'file', change: 'added', size: 10 },
    { path: 'usr/lib/a.so', depth: 2, kind: 'file', change: 'modified', size: 30 },
    { path: 'app', depth: 0, kind: 'dir', change: 'added', size: 5 },
    { path: 'app/<img src=x onerror=alert(1)>.js', depth: 1, kind: 'file', change: 'added', size: 5 },
    { path: 'tmp/cache', depth: 1, kind: 'dir', change: 'removed', size: 7, opaque: true },
    { path: './usr//bin/link', depth: 2, kind: 'symlink', change: 'added', size: 0, linkTarget: 'tool' },
  ];

  it('nests paths, sums sizes, sorts folders first, counts changes', () => {
    const t = buildTree(entries);
    assert.deepStrictEqual(t.root.children.map((c) => c.name), ['app', 'tmp', 'usr']);
    const usr = t.root.children[2]!;
    assert.strictEqual(usr.total, 40);
    assert.strictEqual(usr.change, null, 'implied folder');
    assert.deepStrictEqual(usr.children.map((c) => c.name), ['bin', 'lib']);
    assert.deepStrictEqual(usr.children[0]!.children.map((c) => `${c.name}:${c.kind}:${c.linkTarget ?? ''}`), ['link:symlink:tool', 'tool:file:']);
    // A removed folder counts the bytes it hid (given by the server); the implied `tmp` sums its children.
    assert.strictEqual(t.root.children[1]!.total, 7);
    assert.strictEqual(t.root.total, 52);
    assert.deepStrictEqual(t.counts, { added: 3, modified: 1, removed: 0, unchanged: 0 }, 'folders are not counted');
    assert.strictEqual(t.entries, 6);
    assert.ok(t.root.children[1]!.children[0]!.opaque);
  });

  it('keeps the last entry of a path given twice', () => {
    const t = buildTree([...entries, { path: 'usr/bin/tool', depth: 2, kind: 'file', change: 'modified', size: 99 }]);
    assert.strictEqual(t.root.total, 52 - 10 + 99);
    assert.deepStrictEqual(t.counts, { added: 2, modified: 2, removed: 0, unchanged: 0 });
  });

  it('shows only expanded folders, with aria positions', () => {
    const t = buildTree(entries);
    const closed = visibleRows(t, new Set());
    assert.deepStrictEqual(closed.map((r) => `${r.depth}:${r.node.name}:${r.posInSet}/${r.setSize}`), ['1:app:1/3', '1:tmp:2/3', '1:usr:3/3']);
    const open = visibleRows(t, new Set(['usr', 'usr/bin']));
    assert.deepStrictEqual(open.map((r) => `${r.depth}:${r.node.name}${r.expanded ? '+' : ''}`), ['1:app', '1:tmp', '1:usr+', '2:bin+', '3:link', '3:tool', '2:lib']);
  });

  it('filters on the whole path, case-insensitively, opening the way to each match', () => {
    const t = buildTree(entries);
    assert.deepStrictEqual(visibleRows(t, new Set(), 'A.SO').map((r) => r.node.path), ['usr', 'usr/lib', 'usr/lib/a.so']);
    assert.deepStrictEqual(visibleRows(t, new Set(), 'onerror').map((r) => r.node.path), ['app', 'app/<img src=x onerror=alert(1)>.js']);
    assert.deepStrictEqual(visibleRows(t, new Set(), 'nothing-matches'), []);
  });

  it('builds and lists a 100,000-file layer', function () {
    // A size check, not a timing one: on 2 shared cores under load it may take a few seconds (mocha's default is 2).
    this.timeout(30_000);
    const big: ExplorerFileNode[] = Array.from({ length: 100_000 }, (_, i) => ({ path: `data/d${i % 100}/f${i}`, depth: 2, kind: 'file', change: 'added', size: 1 }));
    const t = buildTree(big);
    assert.strictEqual(t.root.total, 100_000);
    assert.strictEqual(visibleRows(t, new Set(['data'])).length, 101);
    // f9999 (in d99) and f99990…f99999 (in d90…d99): `data`, 10 folders, 11 files.
    assert.strictEqual(visibleRows(t, new Set(), 'f9999').length, 1 + 10 + 11);
    assert.deepStrictEqual(foldersToDepth(t, 1), ['data']);
  });

  it('splits paths without empty, dot or dot-dot parts', () => {
    assert.deepStrictEqual(pathParts('./a//b/../c/'), ['a', 'b', 'c']);
  });
});

describe('explorer model: format', () => {
  const now = Date.UTC(2026, 0, 31);
  it('says how long ago', () => {
    assert.strictEqual(relativeTime(null, now), 'unknown');
    assert.strictEqual(relativeTime(now + 5000, now), 'just now');
    assert.strictEqual(relativeTime(now - 60_000, now), '1 minute ago');
    assert.strictEqual(relativeTime(now - 3 * 3600_000, now), '3 hours ago');
    assert.strictEqual(relativeTime(now - 2 * 86400_000, now), '2 days ago');
    assert.strictEqual(relativeTime(now - 65 * 86400_000, now), '2 months ago');
    assert.strictEqual(relativeTime(now - 800 * 86400_000, now), '2 years ago');
  });
  it('prints shares and short ids', () => {
    assert.strictEqual(percent(0), '0%');
    assert.strictEqual(percent(0.004), '<1%');
    assert.strictEqual(percent(0.426), '43%');
    assert.strictEqual(shortId('sha256:0123456789abcdef'), '0123456789ab');
  });
});
