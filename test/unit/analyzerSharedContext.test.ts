// Context indexes are shared by the Dockerfiles that see the same walk (issue 7): 50 Dockerfiles in one folder cost
// one walk and one watcher. A Dockerfile whose ignore rules differ — BuildKit's `<Dockerfile>.dockerignore`, a
// Dockerfile outside the context, a classic .dockerignore matching the Dockerfile — keeps an index of its own, and
// each sees exactly the entries an index opened for it alone would.

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Analyzer } from '../../server/src/analyze';
import { ContextIndex } from '../../server/src/context/contextIndex';
import type { Builder } from '../../server/src/engine/report';
import { analyzerBackend } from '../../server/src/lsp/backend';

const NO_DAEMON = { ...process.env, DOCKER_HOST: 'unix:///nonexistent/ll-shared-context.sock' };

function tree(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
}

/** What an index opened for this Dockerfile alone holds: the entries COPY sees and the entries the client sends. */
async function entriesAlone(ctx: string, dockerfile: string, builder: Builder): Promise<{ entries: string[]; sent: string[] }> {
  const idx = await ContextIndex.open(ctx, dockerfile, { builder, cacheDir: null });
  try {
    return view(idx);
  } finally {
    idx.dispose();
  }
}

function view(idx: ContextIndex): { entries: string[]; sent: string[] } {
  return { entries: [...idx.entries.keys()], sent: idx.sentEntries().map((e) => e.rel) };
}

describe('Analyzer: one context index per walk, shared by Dockerfiles', () => {
  let dir: string;
  let analyzer: Analyzer;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-shared-ctx-'));
    analyzer = new Analyzer({ env: NO_DAEMON, cacheDir: null });
  });
  afterEach(async () => {
    await analyzer.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('50 Dockerfiles in one folder: one walk, one watcher, one index; each analysis sees the whole context', async () => {
    tree(dir, { 'src/a.js': 'a', 'src/b.js': 'bb', 'README.md': 'r' });
    const dockerfiles = Array.from({ length: 50 }, (_, i) => path.join(dir, `Dockerfile.${i}`));
    for (const df of dockerfiles) fs.writeFileSync(df, 'FROM alpine\nCOPY src/ /app/\n');
    const backend = analyzerBackend(analyzer);
    const changes: string[][] = [];
    // The language server's order: watch the context (opens the index), then analyse (no walk: it is watched). An
    // editor restoring 50 tabs asks for all the watches at once.
    const watches = await Promise.all(dockerfiles.map((df) => backend.watchContext({ contextDir: dir, dockerfile: df, builder: 'buildkit' }, (rels) => changes.push(rels))));
    for (const df of dockerfiles) {
      const r = await backend.analyze({ dockerfile: df, builder: 'buildkit' });
      assert.strictEqual(r.report.steps.find((s) => s.instruction === 'COPY')?.size?.bytes, 3);
    }
    const indexes = await analyzer.contextIndexes();
    assert.strictEqual(indexes.length, 1, 'one index');
    const stats = backend.contextStats();
    assert.deepStrictEqual([stats.walks, stats.watchers], [1, 1], 'one walk and one watcher for 50 Dockerfiles');
    // Each Dockerfile still finds itself in the shared index (diagnostics name it).
    for (const i of [0, 17, 49]) {
      assert.strictEqual(backend.contextFacts({ contextDir: dir, dockerfile: dockerfiles[i]!, builder: 'buildkit' })?.dockerfileRel, `Dockerfile.${i}`);
    }

    // The one watcher tells every Dockerfile; analyses after it walk nothing again.
    fs.writeFileSync(path.join(dir, 'src', 'c.js'), 'ccc');
    const deadline = Date.now() + 10_000;
    while (changes.length < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.strictEqual(changes.length, 50, 'each of the 50 subscribers heard the change once');
    const again = await backend.analyze({ dockerfile: dockerfiles[3]!, builder: 'buildkit' });
    assert.strictEqual(again.report.steps.find((s) => s.instruction === 'COPY')?.size?.bytes, 6);
    assert.strictEqual(backend.contextStats().walks, 1);

    // The watcher closes with the last subscriber, not before.
    for (const w of watches.slice(1)) w.dispose();
    assert.strictEqual(indexes[0]!.watcherCount, 1);
    watches[0]!.dispose();
    await new Promise((r) => setImmediate(r)); // the close runs once the watcher's promise settles (it has)
    assert.strictEqual(indexes[0]!.watcherCount, 0);
  });

  it('BuildKit: a <Dockerfile>.dockerignore gives that Dockerfile its own walk; the others share theirs', async () => {
    tree(dir, {
      'src/a.js': 'a', 'docs/x.md': 'x', '.dockerignore': 'docs\n', 'special.Dockerfile.dockerignore': 'src\n',
      'Dockerfile.a': 'FROM alpine\nCOPY . /app\n', 'Dockerfile.b': 'FROM alpine\nCOPY . /app\n', 'special.Dockerfile': 'FROM alpine\nCOPY . /app\n',
    });
    for (const name of ['Dockerfile.a', 'Dockerfile.b', 'special.Dockerfile']) await analyzer.analyze({ dockerfile: path.join(dir, name) });
    const indexes = await analyzer.contextIndexes();
    assert.strictEqual(indexes.length, 2);
    for (const name of ['Dockerfile.a', 'special.Dockerfile']) {
      const key = analyzer.indexKeyFor(dir, path.join(dir, name), 'buildkit')!;
      const shared = (await analyzer.indexByKey(key))!;
      assert.deepStrictEqual(view(shared), await entriesAlone(dir, path.join(dir, name), 'buildkit'), name);
    }
    assert.strictEqual(analyzer.indexKeyFor(dir, path.join(dir, 'Dockerfile.a'), 'buildkit'), analyzer.indexKeyFor(dir, path.join(dir, 'Dockerfile.b'), 'buildkit'));

    // Creating Dockerfile.b's own ignore file moves it to an index of its own at its next analysis.
    fs.writeFileSync(path.join(dir, 'Dockerfile.b.dockerignore'), 'docs\nsrc\n');
    await analyzer.analyze({ dockerfile: path.join(dir, 'Dockerfile.b') });
    const b = (await analyzer.indexByKey(analyzer.indexKeyFor(dir, path.join(dir, 'Dockerfile.b'), 'buildkit')!))!;
    assert.ok(!b.entries.has('src/a.js'));
    assert.strictEqual((await analyzer.contextIndexes()).length, 3);
  });

  it('a Dockerfile outside the context keeps its own index (its ignore file lives next to it)', async () => {
    tree(dir, { 'ctx/a.txt': 'a', 'ctx/Dockerfile': 'FROM alpine\nCOPY . /\n', 'elsewhere/Dockerfile': 'FROM alpine\nCOPY . /\n' });
    const ctx = path.join(dir, 'ctx');
    await analyzer.analyze({ dockerfile: path.join(ctx, 'Dockerfile') });
    await analyzer.analyze({ dockerfile: path.join(dir, 'elsewhere', 'Dockerfile'), context: ctx });
    assert.strictEqual((await analyzer.contextIndexes()).length, 2);
  });

  it('classic: shared unless the .dockerignore matches the Dockerfile (force-included by the CLI, deleted by the daemon)', async () => {
    tree(dir, {
      'src/a.js': 'a', '.dockerignore': 'build/*.Dockerfile\n*.log\n', 'x.log': 'l',
      'Dockerfile.a': 'FROM alpine\nCOPY . /app\n', 'Dockerfile.b': 'FROM alpine\nCOPY . /app\n', 'build/app.Dockerfile': 'FROM alpine\nCOPY . /app\n',
    });
    const names = ['Dockerfile.a', 'Dockerfile.b', 'build/app.Dockerfile'];
    for (const name of names) await analyzer.analyze({ dockerfile: path.join(dir, name), context: dir, builder: 'classic' });
    assert.strictEqual((await analyzer.contextIndexes()).length, 2);
    const keyOf = (name: string): string => analyzer.indexKeyFor(dir, path.join(dir, name), 'classic')!;
    assert.strictEqual(keyOf('Dockerfile.a'), keyOf('Dockerfile.b'));
    assert.notStrictEqual(keyOf('Dockerfile.a'), keyOf('build/app.Dockerfile'));
    for (const name of names) {
      const idx = (await analyzer.indexByKey(keyOf(name)))!;
      assert.deepStrictEqual(view(idx), await entriesAlone(dir, path.join(dir, name), 'classic'), name);
    }
    // The CLI sends the matched Dockerfile (the daemon deletes it after unpacking); the shared walk leaves it out.
    assert.ok(view((await analyzer.indexByKey(keyOf('build/app.Dockerfile')))!).sent.includes('build/app.Dockerfile'));
    assert.ok(!view((await analyzer.indexByKey(keyOf('Dockerfile.a')))!).sent.includes('build/app.Dockerfile'));
  });
});
