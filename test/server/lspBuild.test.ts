// layerLens/build through the language server (in process) against the real daemon: per-step progress ending in
// cached/built, the result with the prediction check, a failing RUN becoming an LL100 error diagnostic on its lines,
// the outcomes cleared (and the diagnostic removed) by the next edit, and cancellation by request.
// Fails instead of skipping when CI or LAYERLENS_REQUIRE_DAEMON is set and the daemon is missing.

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import {
  BUILD_FAILURE_DIAGNOSTIC_CODE, BUILD_OUTCOMES_CLEARED_METHOD, BUILD_PROGRESS_METHOD, BuildOutcomesRequest, BuildRequest, CancelBuildRequest,
  type BuildOutcomesClearedParams, type BuildProgressParams,
} from '../../server/src/protocol';
import { BASE_IMAGE, ensureBaseImage, makeContext, nonce, removeImage, requireDaemon, uniqueTag } from '../docker/harness';
import { TestClient } from './lspHarness';

describe('language server: build from the editor (real daemon)', function () {
  this.timeout(300_000);
  let cacheDir: string;
  const tags: string[] = [];

  before(async function () {
    await requireDaemon(this);
    await ensureBaseImage();
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-lspbuild-cache-'));
  });
  after(async () => {
    for (const t of tags) await removeImage(t).catch(() => undefined);
    if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it('streams per-step progress, returns predicted vs actual, maps a failing RUN to an LL100 diagnostic until the next edit', async () => {
    const n = nonce();
    const good = `FROM ${BASE_IMAGE}\nRUN echo ${n} > /n\nCOPY a.txt /a.txt\n`;
    const dir = makeContext({ Dockerfile: good, 'a.txt': 'a' });
    const uri = pathToFileURL(path.join(dir, 'Dockerfile')).toString();
    const t = new TestClient({ env: { ...process.env, LAYERLENS_CACHE_DIR: cacheDir } }, { builder: 'buildkit', buildNetwork: 'none' });
    try {
      await t.initialize(undefined, pathToFileURL(dir).toString());
      await t.open(uri, good);
      await t.analysed(uri, { version: 1, timeoutMs: 120_000 });

      const tag = uniqueTag('lspbuild');
      tags.push(tag);
      const from = t.mark();
      const r = await t.client.sendRequest(BuildRequest, { buildId: 'b1', uri, tag });
      assert.strictEqual(r.outcome, 'succeeded', JSON.stringify(r.error));
      assert.deepStrictEqual(r.steps.map((s) => [s.line, s.actual]), [[1, 'cached'], [2, 'built'], [3, 'built']]);
      assert.deepStrictEqual(r.prediction.mismatches, []);
      assert.strictEqual(r.prediction.compared, 3, JSON.stringify(r.steps.map((s) => [s.predicted, s.actual])) + ' ' + JSON.stringify(r.prediction));
      // The first notification lists every step; the RUN was seen running and then built.
      const first = await t.waitFor<BuildProgressParams>(BUILD_PROGRESS_METHOD, (p) => p.buildId === 'b1', { from, timeoutMs: 1000 });
      assert.deepStrictEqual(first.steps.map((s) => s.line), [1, 2, 3]);
      const runBuilt = await t.waitFor<BuildProgressParams>(BUILD_PROGRESS_METHOD, (p) => p.steps.some((s) => s.line === 2 && s.state === 'built' && s.elapsedMs !== null), { from, timeoutMs: 1000 });
      assert.ok(runBuilt);
      assert.deepStrictEqual((await t.client.sendRequest(BuildOutcomesRequest, { uri }))?.buildId, 'b1');

      // A failing RUN (saved on disk, as the client saves before building).
      const bad = `${good}RUN echo failing && \\\n    exit 4\n`;
      fs.writeFileSync(path.join(dir, 'Dockerfile'), bad);
      let mark = t.mark();
      const v2 = await t.change(uri, [{ range: { start: { line: 3, character: 0 }, end: { line: 3, character: 0 } }, text: 'RUN echo failing && \\\n    exit 4\n' }]);
      await t.waitFor<BuildOutcomesClearedParams>(BUILD_OUTCOMES_CLEARED_METHOD, (p) => p.uri === uri && p.reason === 'edit', { from: mark, timeoutMs: 5000 });
      await t.analysed(uri, { version: v2, from: mark, timeoutMs: 60_000 });
      mark = t.mark();
      const f = await t.client.sendRequest(BuildRequest, { buildId: 'b2', uri, tag });
      assert.strictEqual(f.outcome, 'failed');
      assert.deepStrictEqual([f.error?.line, f.error?.endLine], [4, 5]);
      const diag = await t.waitFor<PublishDiagnosticsParams>('textDocument/publishDiagnostics',
        (p) => p.uri === uri && p.diagnostics.some((d) => d.code === BUILD_FAILURE_DIAGNOSTIC_CODE), { from: mark, timeoutMs: 30_000 });
      const d = diag.diagnostics.find((x) => x.code === BUILD_FAILURE_DIAGNOSTIC_CODE)!;
      assert.deepStrictEqual([d.range.start.line, d.range.end.line], [3, 4]);
      assert.strictEqual(d.severity, 1);
      assert.match(String(d.message), /exit code: 4/);

      // The next edit clears the outcomes and the failure diagnostic.
      mark = t.mark();
      await t.change(uri, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '# edited\n' }]);
      await t.waitFor<BuildOutcomesClearedParams>(BUILD_OUTCOMES_CLEARED_METHOD, (p) => p.uri === uri && p.reason === 'edit', { from: mark, timeoutMs: 5000 });
      await t.waitFor<PublishDiagnosticsParams>('textDocument/publishDiagnostics',
        (p) => p.uri === uri && !p.diagnostics.some((x) => x.code === BUILD_FAILURE_DIAGNOSTIC_CODE), { from: mark, timeoutMs: 30_000 });
      assert.strictEqual(await t.client.sendRequest(BuildOutcomesRequest, { uri }), null);
    } finally {
      await t.shutdown().catch(() => undefined);
    }
  });

  it('cancelBuild stops a running build; the request resolves with outcome cancelled', async () => {
    const secs = 3000 + Math.floor(Math.random() * 900);
    const text = `FROM ${BASE_IMAGE}\nRUN echo ${nonce()} && sleep ${secs}\n`;
    const dir = makeContext({ Dockerfile: text });
    const uri = pathToFileURL(path.join(dir, 'Dockerfile')).toString();
    const t = new TestClient({ env: { ...process.env, LAYERLENS_CACHE_DIR: cacheDir } }, { builder: 'classic', buildNetwork: 'none' });
    try {
      await t.initialize(undefined, pathToFileURL(dir).toString());
      await t.open(uri, text);
      const tag = uniqueTag('lspcancel');
      tags.push(tag);
      const from = t.mark();
      const pending = t.client.sendRequest(BuildRequest, { buildId: 'c1', uri, tag });
      await t.waitFor<BuildProgressParams>(BUILD_PROGRESS_METHOD, (p) => p.steps.some((s) => s.line === 2 && s.state === 'running'), { from, timeoutMs: 120_000 });
      assert.strictEqual(await t.client.sendRequest(CancelBuildRequest, { buildId: 'c1' }), true);
      const r = await pending;
      assert.strictEqual(r.outcome, 'cancelled');
      assert.strictEqual(r.steps[1]!.actual, 'not-run');
      assert.strictEqual(await t.client.sendRequest(CancelBuildRequest, { buildId: 'c1' }), false, 'nothing left to cancel');
    } finally {
      await t.shutdown().catch(() => undefined);
    }
  });
});
