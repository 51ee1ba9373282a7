// The layer explorer's data and `layerlens layers` against the real daemon: images built here with files added,
// overwritten and deleted across layers (a directory removed and made again: an opaque directory on overlay2),
// with both builders; exact removable bytes, counts, the lines that added and hid them; the header cache; exit codes.

import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { DaemonClient, closeAllConnections, loadDaemonSnapshot } from '../../server/src/docker';
import { EXPLORER_TIMEOUT_MS, ExplorerService } from '../../server/src/explorer/service';
import type { ExplorerOpenResult, ExplorerProgressParams } from '../../server/src/protocol';
import { BASE_IMAGE, BASE_IMAGE_2, BUILDERS, describeDocker, docker, dockerBuild, ensureBaseImage, nonce, useDockerScope } from './harness';

const CLI = path.resolve(__dirname, '../../server/src/cli.js');
const DOCKERFILE = [
  `FROM ${BASE_IMAGE}`,
  'COPY big.bin /data/big.bin',
  'COPY keep/ /keep/',
  'RUN rm /data/big.bin && printf 12345 > /data/new.txt',
  'COPY over.txt /keep/a',
  'RUN rm -rf /keep && mkdir /keep && printf xy > /keep/c',
  'ENV X=1',
  '',
].join('\n');

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describeDocker('layer explorer on the real daemon', function () {
  const scope = useDockerScope('layers');
  let cacheDir: string;
  before(async () => {
    await ensureBaseImage();
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-layers-cache-'));
  });
  after(() => {
    fs.rmSync(cacheDir, { recursive: true, force: true });
    closeAllConnections();
  });

  for (const builder of BUILDERS) {
    describe(`built with ${builder}`, () => {
      let tag: string;
      let dfUri: string;
      let opened: ExplorerOpenResult;
      let service: ExplorerService;
      let client: DaemonClient;
      const progress: ExplorerProgressParams[] = [];

      before(async () => {
        const ctx = scope.context({
          Dockerfile: DOCKERFILE,
          'big.bin': Buffer.concat([Buffer.from(nonce()), Buffer.alloc(300000 - 16, 7)]),
          'keep/a': Buffer.alloc(1000, 1),
          'keep/b': Buffer.alloc(2000, 2),
          'over.txt': Buffer.alloc(700, 3),
        });
        tag = scope.tag();
        const built = await dockerBuild({ dir: ctx.dir, tag, builder });
        assert.ok(built.ok, `build failed: ${built.ok ? '' : JSON.stringify(built).slice(0, 2000)}`);
        dfUri = pathToFileURL(path.join(ctx.dir, 'Dockerfile')).toString();
        client = DaemonClient.fromEnvironment({ cacheDir, timeoutMs: EXPLORER_TIMEOUT_MS });
        service = new ExplorerService({ client, cacheDir, onProgress: (p) => progress.push(p), progressIntervalMs: 0 });
        opened = await service.open(tag, { uri: dfUri, text: DOCKERFILE, target: null, steps: null });
        assert.strictEqual(opened.error, null);
        await service.files(opened.image!.id);
      });
      after(() => service.dispose());

      it('shows the history as rows tied to the Dockerfile lines, base rows under FROM', () => {
        const own = opened.layers.filter((r) => !r.base);
        assert.deepStrictEqual(own.map((r) => [r.createdBy.split(' ')[0], r.source?.line ?? null, r.empty]), [
          ['COPY', 1, false], ['COPY', 2, false], ['RUN', 3, false], ['COPY', 4, false], ['RUN', 5, false], ['ENV', 6, true],
        ]);
        assert.strictEqual(own[2]!.createdBy, 'RUN rm /data/big.bin && printf 12345 > /data/new.txt');
        const base = opened.layers.filter((r) => r.base);
        assert.ok(base.length >= 1, 'the busybox base is local: its rows are grouped');
        assert.ok(base.every((r) => r.source?.line === 0 && r.baseImage === BASE_IMAGE));
        const last = opened.layers[opened.layers.length - 1]!;
        assert.strictEqual(last.cumulativeSize, opened.layers.reduce((n, r) => n + r.size, 0));
        assert.strictEqual(opened.image!.layerCount, opened.layers.filter((r) => !r.empty).length);
      });

      it('reports progress while the export streams, ending with every layer read', () => {
        assert.strictEqual(opened.files, 'streaming');
        const last = progress[progress.length - 1]!;
        assert.deepStrictEqual([last.done, last.error, last.layersDone], [true, null, last.layersTotal]);
        assert.strictEqual(last.layersTotal, opened.image!.layerCount);
        assert.ok(last.bytesRead >= 300000 + 3000, `read ${last.bytesRead} bytes`);
        assert.strictEqual(progress.filter((p) => p.done).length, 1);
        for (let i = 1; i < progress.length; i++) {
          assert.ok(progress[i]!.bytesRead >= progress[i - 1]!.bytesRead && progress[i]!.layersDone >= progress[i - 1]!.layersDone);
        }
      });

      it('reports the hidden bytes exactly, once per hidden version, with the lines that added and hid them', async () => {
        const w = await service.waste(opened.image!.id, 10);
        assert.strictEqual(w.error, null);
        assert.strictEqual(w.state, 'ready');
        assert.strictEqual(w.removableBytes, 300000 + 1000 + 700 + 2000);
        assert.strictEqual(w.removableFiles, 4);
        const o = w.offenders.map((x) => [x.path, x.bytes, x.versions, x.addedBy.source?.line, x.hiddenBy.source?.line]);
        assert.deepStrictEqual(o, [
          ['data/big.bin', 300000, 1, 1, 3],
          ['keep/b', 2000, 1, 2, 5],
          ['keep/a', 1700, 2, 2, 5],
        ]);
        assert.strictEqual(w.offenders[0]!.how, 'deleted');
        // dive counts a path seen in two layers with every copy: data/big.bin 300000 + its whiteout (0) …
        assert.ok(w.diveWastedBytes >= 300000 + 1000 + 700 + 2000 - 2000, `dive wasted ${w.diveWastedBytes}`);
        assert.ok(w.efficiency > 0 && w.efficiency < 1);
      });

      it("lists each layer's changes: added, modified, removed (a recreated directory hides what it held)", async () => {
        const id = opened.image!.id;
        const rowOf = (line: number): number => opened.layers.find((r) => !r.base && r.source?.line === line)!.index;
        const rm = await service.layerFiles({ imageId: id, layerIndex: rowOf(3), view: 'changes' });
        assert.strictEqual(rm.state, 'ready');
        assert.deepStrictEqual(rm.counts, { added: 1, modified: 0, removed: 1 });
        assert.deepStrictEqual(rm.nodes.filter((n) => n.kind !== 'dir').map((n) => [n.path, n.size, n.change]), [
          ['data/big.bin', 300000, 'removed'], ['data/new.txt', 5, 'added'],
        ]);
        const recreate = await service.layerFiles({ imageId: id, layerIndex: rowOf(5), view: 'changes' });
        assert.deepStrictEqual(recreate.counts, { added: 1, modified: 0, removed: 2 });
        assert.deepStrictEqual(recreate.nodes.filter((n) => n.kind !== 'dir').map((n) => [n.path, n.size, n.change]), [
          ['keep/a', 700, 'removed'], ['keep/b', 2000, 'removed'], ['keep/c', 2, 'added'],
        ]);
        const whole = await service.layerFiles({ imageId: id, layerIndex: rowOf(5), view: 'filesystem', filter: 'keep/' });
        assert.deepStrictEqual(whole.nodes.filter((n) => n.change !== 'removed' && n.kind !== 'dir').map((n) => n.path), ['keep/c']);
        const empty = await service.layerFiles({ imageId: id, layerIndex: rowOf(6), view: 'changes' });
        assert.strictEqual(empty.state, 'empty-layer');
        const bad = await service.layerFiles({ imageId: id, layerIndex: 999, view: 'changes' });
        assert.strictEqual(bad.error?.kind, 'bad-request');
      });

      it('a second open is served from the header cache: no export', async () => {
        const fresh = DaemonClient.fromEnvironment({ cacheDir, timeoutMs: EXPLORER_TIMEOUT_MS });
        const again = new ExplorerService({ client: fresh, cacheDir });
        const o = await again.open(tag, null);
        assert.strictEqual(o.files, 'ready');
        const w = await again.waste(o.image!.id);
        assert.strictEqual(w.removableBytes, 303700);
        assert.strictEqual(fresh.stats.exports, 0);
        again.dispose();
      });

      it('finds the image a Dockerfile produced through its history', async () => {
        const o = await service.open(null, { uri: dfUri, text: DOCKERFILE, target: null, steps: null });
        assert.strictEqual(o.error, null);
        assert.strictEqual(o.foundBy, 'history-match');
        // Both builders' tests build the same instructions: either image is a right answer, the newest wins.
        const { stdout } = await docker(['image', 'inspect', '--format', '{{.Id}}', tag]);
        assert.ok(o.image!.id === stdout.trim() || o.layers.filter((r) => !r.base).length === 6, `found ${o.image!.id}`);
      });

      it('names the image by its current tags, also when its details come from the store (which keeps no tags)', async () => {
        const fresh = DaemonClient.fromEnvironment({ cacheDir, timeoutMs: EXPLORER_TIMEOUT_MS });
        await loadDaemonSnapshot(fresh, { buildCache: false }); // what the language server does first: fills the store
        assert.ok(await fresh.imageDetails!.get(opened.image!.id), 'the store knows the image');
        const extra = `${tag}-alias`;
        await docker(['tag', tag, extra]);
        try {
          const again = new ExplorerService({ client: fresh, cacheDir });
          const o = await again.open(opened.image!.id, null);
          assert.strictEqual(o.error, null);
          assert.deepStrictEqual([...o.image!.repoTags].sort(), [tag, extra].sort());
          // Without a Dockerfile the base is found among the stored images that are tagged now.
          const base = o.layers.filter((r) => r.base);
          assert.ok(base.length >= 1 && base.every((r) => r.baseImage === BASE_IMAGE), JSON.stringify(base.map((r) => r.baseImage)));
          again.dispose();
        } finally {
          await docker(['rmi', extra]);
        }
      });

      it('layerlens layers: table, JSON, thresholds (exit 1 when one fails)', async () => {
        const env = { ...process.env, LAYERLENS_CACHE_DIR: cacheDir, NO_COLOR: '1' };
        const ok = await runCli(['layers', tag, '--max-wasted-bytes', '303700', '--min-efficiency', '0.01'], env);
        assert.strictEqual(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /Removable bytes: +297 KiB in 4 hidden file versions/);
        assert.match(ok.stdout, /PASS/);
        const over = await runCli(['layers', tag, '--max-wasted-bytes', '303699', '--json'], env);
        assert.strictEqual(over.code, 1, over.stderr);
        const j = JSON.parse(over.stdout) as { waste: { removableBytes: number }; thresholds: { passed: boolean; failures: string[] }; layers: unknown[] };
        assert.strictEqual(j.waste.removableBytes, 303700);
        assert.deepStrictEqual([j.thresholds.passed, j.thresholds.failures.length], [false, 1]);
        assert.strictEqual(j.layers.length, opened.layers.length);
        const eff = await runCli(['layers', tag, '--min-efficiency', '1'], env);
        assert.strictEqual(eff.code, 1);
        assert.match(eff.stdout, /FAIL: efficiency/);
      });
    });
  }

  // A Dockerfile was once tied to an unrelated image that shared its instructions but not its base.
  it('a Dockerfile is not tied to an image built on another base, even with the same instructions', async () => {
    await ensureBaseImage(BASE_IMAGE_2, { variant: 2 });
    const step = `RUN echo ${nonce()} > /same`;
    const other = scope.context({ Dockerfile: `FROM ${BASE_IMAGE_2}\n${step}\n` });
    assert.ok((await dockerBuild({ dir: other.dir, tag: scope.tag(), builder: 'buildkit' })).ok);
    const text = `FROM ${BASE_IMAGE}\n${step}\n`;
    const mine = scope.context({ Dockerfile: text });
    const client = DaemonClient.fromEnvironment({ cacheDir: null, timeoutMs: EXPLORER_TIMEOUT_MS });
    const service = new ExplorerService({ client, cacheDir: null });
    try {
      const uri = pathToFileURL(path.join(mine.dir, 'Dockerfile')).toString();
      const notBuilt = await service.open(null, { uri, text, target: null, steps: null });
      assert.strictEqual(notBuilt.error?.kind, 'no-image-for-dockerfile', `tied to ${notBuilt.image?.id ?? '?'}`);
      const tag = scope.tag();
      assert.ok((await dockerBuild({ dir: mine.dir, tag, builder: 'buildkit' })).ok);
      const built = await service.open(null, { uri, text, target: null, steps: null });
      const { stdout } = await docker(['image', 'inspect', '--format', '{{.Id}}', tag]);
      assert.strictEqual(built.image?.id, stdout.trim());
    } finally {
      service.dispose();
    }
  });

  it('an unknown image and a deleted image are image-not-found; the CLI exits 2 with one line', async () => {
    const client = DaemonClient.fromEnvironment({ cacheDir, timeoutMs: EXPLORER_TIMEOUT_MS });
    const service = new ExplorerService({ client, cacheDir });
    const missing = await service.open(`layerlens-test/nope-${nonce(4)}:1`, null);
    assert.strictEqual(missing.error?.kind, 'image-not-found');
    const ctx = scope.context({ Dockerfile: `FROM ${BASE_IMAGE}\nRUN echo ${nonce()} > /n\n` });
    const tag = scope.tag();
    assert.ok((await dockerBuild({ dir: ctx.dir, tag, builder: 'buildkit' })).ok);
    const o = await service.open(tag, null);
    await service.files(o.image!.id);
    await docker(['rmi', '-f', tag]);
    const gone = await new ExplorerService({ client, cacheDir: null }).open(o.image!.id, null);
    assert.strictEqual(gone.error?.kind, 'image-not-found');
    // What was read stays usable after the image went.
    assert.strictEqual((await service.waste(o.image!.id)).state, 'ready');
    service.dispose();
    const cli = await runCli(['layers', `layerlens-test/nope-${nonce(4)}:1`], { ...process.env, LAYERLENS_CACHE_DIR: cacheDir });
    assert.strictEqual(cli.code, 2);
    assert.strictEqual(cli.stderr.trim().split('\n').length, 1);
  });

  it('a daemon that is not there is daemon-unreachable, not a crash', async () => {
    const client = DaemonClient.fromEnvironment({ env: { DOCKER_HOST: `unix://${path.join(os.tmpdir(), `none-${nonce(4)}.sock`)}` }, cacheDir: null });
    const service = new ExplorerService({ client, cacheDir: null });
    const o = await service.open('anything:1', null);
    assert.strictEqual(o.error?.kind, 'daemon-unreachable');
    assert.strictEqual((await service.listImages()).error?.kind, 'daemon-unreachable');
  });
});
