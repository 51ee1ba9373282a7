// The layer explorer requests through the language server (in process) against the real daemon: a Dockerfile is
// tied to the image it produced, rows carry its lines and the engine's rebuild marks, the export streams with
// progress notifications, then one layer's files and the waste report arrive; bad requests get an error result.

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import {
  AnalysisRequest, EXPLORER_PROGRESS_METHOD, ExplorerCloseNotification, ExplorerLayerFilesRequest, ExplorerListImagesRequest, ExplorerOpenRequest,
  ExplorerWasteRequest, type ExplorerProgressParams,
} from '../../server/src/protocol';
import { BASE_IMAGE, dockerBuild, ensureBaseImage, makeContext, nonce, requireDaemon, uniqueTag } from '../docker/harness';
import { TestClient } from './lspHarness';

describe('language server: layer explorer requests (real daemon)', function () {
  this.timeout(300_000);
  let cacheDir: string;

  before(async function () {
    await requireDaemon(this);
    await ensureBaseImage();
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-lsp-explorer-'));
  });
  after(() => {
    if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('opens the image a Dockerfile produced, streams its files, answers files and waste', async () => {
    const text = `FROM ${BASE_IMAGE}\nCOPY a.bin /a.bin\nRUN rm /a.bin && echo ${nonce()} > /n\n`;
    const dir = makeContext({ Dockerfile: text, 'a.bin': Buffer.alloc(4096, 1) });
    const tag = uniqueTag('lspx');
    assert.ok((await dockerBuild({ dir, tag, builder: 'buildkit' })).ok);
    const t = new TestClient({ env: { ...process.env, LAYERLENS_CACHE_DIR: cacheDir } }, { builder: 'buildkit' });
    try {
      await t.initialize();
      const uri = pathToFileURL(path.join(dir, 'Dockerfile')).toString();
      const from = t.mark();
      await t.open(uri, text);
      await t.analysed(uri, { from, timeoutMs: 60_000 });
      const mark = t.mark();
      const opened = await t.client.sendRequest(ExplorerOpenRequest, { dockerfileUri: uri });
      assert.strictEqual(opened.error, null);
      assert.strictEqual(opened.foundBy, 'history-match');
      const own = opened.layers.filter((r) => !r.base);
      // The rebuild marks are the engine's prediction for those lines: just built, so both are cached.
      const analysis = await t.client.sendRequest(AnalysisRequest, { uri });
      assert.deepStrictEqual(analysis?.report?.steps.map((s) => s.cache), ['hit', 'hit', 'hit']);
      assert.deepStrictEqual(own.map((r) => [r.source?.line, r.wouldRebuild]), [[1, false], [2, false]]);
      assert.strictEqual(own[0]!.rebuildReason, analysis?.report?.steps.find((x) => x.line === 2)?.reason);
      assert.ok(opened.layers.some((r) => r.base && r.source?.line === 0));
      const id = opened.image!.id;
      if (opened.files === 'streaming') {
        const done = await t.waitFor<ExplorerProgressParams>(EXPLORER_PROGRESS_METHOD, (p) => p.imageId === id && p.done, { from: mark, timeoutMs: 120_000 });
        assert.strictEqual(done.error, null);
      }
      const files = await t.client.sendRequest(ExplorerLayerFilesRequest, { imageId: id, layerIndex: own[1]!.index, view: 'changes' });
      assert.deepStrictEqual(files.nodes.filter((n) => n.kind !== 'dir').map((n) => [n.path, n.change]), [['a.bin', 'removed'], ['n', 'added']]);
      const waste = await t.client.sendRequest(ExplorerWasteRequest, { imageId: id });
      assert.deepStrictEqual([waste.removableBytes, waste.offenders[0]?.addedBy.source?.line, waste.offenders[0]?.hiddenBy.source?.line], [4096, 1, 2]);
      const list = await t.client.sendRequest(ExplorerListImagesRequest);
      assert.ok(list.images.some((i) => i.id === id));
      await t.client.sendNotification(ExplorerCloseNotification, { imageId: id });
      const afterClose = await t.client.sendRequest(ExplorerWasteRequest, { imageId: id });
      assert.strictEqual(afterClose.error?.kind, 'bad-request');
      const bad = await t.client.sendRequest(ExplorerOpenRequest, { image: tag, dockerfileUri: uri });
      assert.strictEqual(bad.error?.kind, 'bad-request');
    } finally {
      await t.shutdown();
    }
  });
});
