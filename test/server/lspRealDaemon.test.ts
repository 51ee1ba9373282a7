// The language server against the real daemon, for both builders: build an image, open its Dockerfile, edit a
// copied file on disk and watch the COPY hint flip from `cached` to `rebuilds` (file watcher, no reopen), with the
// file named in the tooltip and the hover; a keystroke re-hashes nothing; a rebuild (daemon events) flips it back.
// Fails instead of skipping when CI or LAYERLENS_REQUIRE_DAEMON is set and the daemon is missing.

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { Hover, InlayHint, PublishDiagnosticsParams } from 'vscode-languageserver-protocol';
import { HoverRequest, InlayHintRequest } from 'vscode-languageserver-protocol/node';
import { ANALYSIS_CHANGED_METHOD, StatsRequest, type AnalysisChangedParams } from '../../server/src/protocol';
import { BASE_IMAGE, BUILDERS, dockerBuild, ensureBaseImage, makeContext, nonce, requireDaemon, uniqueTag } from '../docker/harness';
import { TestClient } from './lspHarness';

const ALL = { start: { line: 0, character: 0 }, end: { line: 100, character: 0 } };
const COPY_LINE = 1; // 0-based: `COPY app.txt /app/app.txt`

describe('language server with the real daemon', function () {
  this.timeout(300_000);
  let cacheDir: string;
  const savedCacheEnv = process.env['LAYERLENS_CACHE_DIR'];

  before(async function () {
    await requireDaemon(this);
    await ensureBaseImage();
    // The hash cache persists per context folder: a private one keeps these runs independent.
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-lsp-cache-'));
    process.env['LAYERLENS_CACHE_DIR'] = cacheDir;
  });

  after(() => {
    if (savedCacheEnv === undefined) delete process.env['LAYERLENS_CACHE_DIR'];
    else process.env['LAYERLENS_CACHE_DIR'] = savedCacheEnv;
    if (cacheDir) fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  for (const builder of BUILDERS) {
    it(`${builder}: a context edit flips the COPY hint to rebuilds, a rebuild flips it back`, async () => {
      const dir = makeContext({
        Dockerfile: `FROM ${BASE_IMAGE}\nCOPY app.txt /app/app.txt\nRUN echo ${nonce()} > /n\n`,
        '.dockerignore': 'Dockerfile\n.dockerignore\n',
        'app.txt': 'hello\n',
        'other.txt': 'not copied\n',
      });
      const tag = uniqueTag('lsp');
      await dockerBuild({ dir, tag, builder });

      const t = new TestClient({ env: { ...process.env, LAYERLENS_CACHE_DIR: cacheDir } }, { builder });
      const uri = pathToFileURL(path.join(dir, 'Dockerfile')).toString();
      const copyHint = async (): Promise<InlayHint | undefined> =>
        ((await t.client.sendRequest(InlayHintRequest.type, { textDocument: { uri }, range: ALL })) ?? []).find((h) => h.position.line === COPY_LINE);
      /** Re-analyses (of any cause) until the COPY hint matches, or fails at the deadline. */
      const untilCopy = async (want: RegExp, from: number, cause: AnalysisChangedParams['cause']): Promise<InlayHint> => {
        const deadline = Date.now() + 60_000;
        let seen = from;
        let causeSeen = false;
        for (;;) {
          const p = await t.waitFor<AnalysisChangedParams>(ANALYSIS_CHANGED_METHOD, (x) => x.uri === uri, { from: seen, timeoutMs: Math.max(1, deadline - Date.now()) });
          seen = t.mark();
          causeSeen ||= p.cause === cause;
          const h = await copyHint();
          if (causeSeen && h && want.test(String(h.label))) return h;
        }
      };
      try {
        await t.initialize(undefined, pathToFileURL(dir).toString());
        await t.open(uri, fs.readFileSync(path.join(dir, 'Dockerfile'), 'utf8'));
        await t.analysed(uri, { version: 1, timeoutMs: 60_000 });
        const before = await copyHint();
        assert.match(String(before?.label), /^6 B · cached$/, `after a build the COPY is cached: ${String(before?.tooltip)}`);

        // A keystroke (an unsaved comment) re-analyses from memory: no context file is read again.
        const hashed = (await t.client.sendRequest(StatsRequest)).contextFilesHashed;
        let from = t.mark();
        const v2 = await t.change(uri, [{ range: { start: { line: 3, character: 0 }, end: { line: 3, character: 0 } }, text: '# note\n' }]);
        await t.analysed(uri, { version: v2, from, timeoutMs: 30_000 });
        assert.strictEqual((await t.client.sendRequest(StatsRequest)).contextFilesHashed, hashed, 'a keystroke re-hashed context files');

        // Edit the copied file on disk: the watcher, not a reopen, drives the flip.
        from = t.mark();
        fs.writeFileSync(path.join(dir, 'app.txt'), 'hello, changed\n');
        const flipped = await untilCopy(/rebuilds/, from, 'context');
        assert.match(String(flipped.label), /^15 B · rebuilds$/);
        assert.match(String(flipped.tooltip), /app\.txt/);
        const hover = (await t.client.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: COPY_LINE, character: 2 } })) as Hover;
        const md = (hover.contents as { value: string }).value;
        assert.match(md, /\*\*Cache:\*\* rebuilds — .*app\.txt/);
        assert.match(md, /`app\.txt` — 15 B/);
        const stats = await t.client.sendRequest(StatsRequest);
        assert.ok(stats.contextChanges >= 1);

        // Build again: the daemon's events invalidate the snapshot and the hint comes back to cached.
        from = t.mark();
        await dockerBuild({ dir, tag, builder });
        const back = await untilCopy(/cached/, from, 'daemon');
        assert.match(String(back.label), /^15 B · cached$/);
        assert.ok((await t.client.sendRequest(StatsRequest)).daemonEvents > 0);
      } finally {
        await t.shutdown().catch(() => undefined);
      }
    });
  }

  for (const builder of BUILDERS) {
    it(`${builder}: LL003 states the package-cache bytes measured in the built layer`, async () => {
      // busybox has no apk: the command fails harmlessly, and the RUN then writes a 5000-byte "index" where apk would.
      const dockerfile = `FROM ${BASE_IMAGE}\nRUN apk add tool${nonce()} || true; mkdir -p /var/cache/apk && head -c 5000 /dev/zero > /var/cache/apk/APKINDEX.tar.gz\nRUN echo after > /after\n`;
      const dir = makeContext({ Dockerfile: dockerfile, '.dockerignore': 'Dockerfile\n.dockerignore\n' });
      await dockerBuild({ dir, tag: uniqueTag('lsp-cache'), builder });
      const t = new TestClient({ env: { ...process.env, LAYERLENS_CACHE_DIR: cacheDir } }, { builder });
      const uri = pathToFileURL(path.join(dir, 'Dockerfile')).toString();
      try {
        await t.initialize();
        await t.open(uri, dockerfile);
        const d = await t.waitFor<PublishDiagnosticsParams>(
          'textDocument/publishDiagnostics',
          (p) => p.uri === uri && p.diagnostics.some((x) => x.code === 'LL003' && /in the last build/.test(String(x.message))),
          { timeoutMs: 120_000 },
        );
        assert.match(String(d.diagnostics.find((x) => x.code === 'LL003')!.message), /4\.9 KiB in the last build/);
      } finally {
        await t.shutdown().catch(() => undefined);
      }
    });
  }
});
