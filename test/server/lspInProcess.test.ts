// The language server over in-memory streams, with a fake engine (verdicts chosen by the Dockerfile text): every
// feature through real LSP messages, and the live behaviour (edits, context changes, daemon events, settings).

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { CodeAction, Hover, InlayHint, TextDocumentEdit, WorkspaceEdit } from 'vscode-languageserver-protocol';
import {
  CodeActionRequest,
  HoverRequest,
  InlayHintRequest,
  type PublishDiagnosticsParams,
  type TextEdit,
} from 'vscode-languageserver-protocol/node';
import { AnalysisRequest, DAEMON_STATUS_METHOD, StatsRequest, type DaemonStatusParams } from '../../server/src/protocol';
import { applyEdits, facts } from './textHelpers';
import { FakeBackend } from './fakeBackend';
import { TestClient } from './lspHarness';

const DOCKERFILE = [
  'FROM busybox', //          1
  'WORKDIR /app', //          2
  'COPY . .', //              3
  'RUN npm ci && \\', //      4
  '    echo MISS', //         5
  'ENV A=1', //               6
  'RUN echo UNKNOWN', //      7
  'RUN echo done', //         8
  '',
].join('\n');

const ALL = { start: { line: 0, character: 0 }, end: { line: 1000, character: 0 } };

function labels(hints: InlayHint[] | null): [number, string][] {
  return (hints ?? []).map((h) => [h.position.line + 1, typeof h.label === 'string' ? h.label : h.label.map((p) => p.value).join('')]);
}

describe('language server (in-process)', function () {
  this.timeout(20_000);
  let dir: string;
  let uri: string;
  let backend: FakeBackend;
  let t: TestClient;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-lsp-'));
    uri = pathToFileURL(path.join(dir, 'Dockerfile')).toString();
    backend = new FakeBackend();
    backend.facts = facts({ Dockerfile: 200, 'package.json': 10, 'package-lock.json': 20, 'a.txt': 2000 }, { dockerfileRel: 'Dockerfile' });
    t = new TestClient({ backendFactory: () => backend, editDebounceMs: 20, daemonDebounceMs: 30, env: {} });
  });

  afterEach(async () => {
    await t.shutdown().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const hints = (u = uri): Promise<InlayHint[] | null> => t.client.sendRequest(InlayHintRequest.type, { textDocument: { uri: u }, range: ALL });

  it('initializes with hints, hover and quick fixes, and reports the daemon status', async () => {
    const res = await t.initialize();
    assert.ok(res.capabilities.inlayHintProvider);
    assert.strictEqual(res.capabilities.hoverProvider, true);
    assert.deepStrictEqual((res.capabilities.codeActionProvider as { codeActionKinds: string[] }).codeActionKinds, ['quickfix']);
    assert.strictEqual(res.serverInfo?.name, 'layer-lens');
    const status = await t.waitFor<DaemonStatusParams>(DAEMON_STATUS_METHOD);
    assert.deepStrictEqual(status, {
      state: 'connected', host: 'unix:///fake.sock', version: '25.0.3', apiVersion: '1.44',
      builder: 'buildkit', builderSource: 'daemon', reason: null, eventsConnected: false,
    });
  });

  it('reports an unreachable daemon with its reason', async () => {
    backend.info = { reachable: false, host: 'unix:///nope.sock', version: null, apiVersion: null, error: 'cannot connect: is dockerd running?' };
    await t.initialize();
    const status = await t.waitFor<DaemonStatusParams>(DAEMON_STATUS_METHOD);
    assert.strictEqual(status.state, 'unreachable');
    assert.strictEqual(status.reason, 'cannot connect: is dockerd running?');
  });

  it('opens a Dockerfile and shows size and cache words at the end of each first line', async () => {
    await t.initialize();
    await t.open(uri, DOCKERFILE);
    await t.analysed(uri, { version: 1 });
    const got = await hints();
    assert.deepStrictEqual(labels(got), [
      [1, '4.0 MiB · cached'],
      [3, '2.0 KiB · cached'],
      [4, '~1.0 MiB · rebuilds'],
      [7, '~1.0 MiB · ?'],
      [8, '~1.0 MiB · cached'],
    ]);
    const run = got!.find((h) => h.position.line === 3)!;
    assert.deepStrictEqual(run.position, { line: 3, character: 'RUN npm ci && \\'.length });
    assert.strictEqual(run.tooltip, '`a.txt` changed since the last build');
    assert.strictEqual(run.paddingLeft, true);
  });

  it('recognises Dockerfiles by name as well as by language id', async () => {
    await t.initialize();
    const named = pathToFileURL(path.join(dir, 'api.Dockerfile')).toString();
    const other = pathToFileURL(path.join(dir, 'notes.txt')).toString();
    await t.open(other, 'FROM x\n', 'plaintext');
    await t.open(named, 'FROM x\nRUN echo\n', 'plaintext');
    await t.analysed(named);
    assert.strictEqual((await t.client.sendRequest(AnalysisRequest, { uri: other })), null);
    assert.deepStrictEqual(labels(await hints(named)), [[1, '4.0 MiB · cached'], [2, '~1.0 MiB · cached']]);
  });

  it('hovers with size source, reason, changed files, history, cumulative size and largest files', async () => {
    await t.initialize();
    await t.open(uri, 'FROM busybox\nCOPY MISS.txt /x\nRUN echo hi\n');
    await t.analysed(uri);
    const copy = (await t.client.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 1, character: 3 } })) as Hover;
    const md = (copy.contents as { kind: string; value: string }).value;
    assert.strictEqual((copy.contents as { kind: string }).kind, 'markdown');
    assert.match(md, /COPY · layer 2\.0 KiB \(exact: the files it copies from the build context\)/);
    assert.match(md, /\*\*Cache:\*\* rebuilds — `a\.txt` changed since the last build/);
    assert.match(md, /- changed `a\.txt` — 2\.0 KiB/);
    assert.match(md, /\*\*Image size up to here:\*\* 4\.0 MiB/);
    assert.match(md, /\| `a\.txt` \| 2\.0 KiB \|/);
    assert.match(md, /\| ``b`tick\.txt`` \| 48 B \|/, 'a backtick in a file name cannot break out of its code span');
    const run = (await t.client.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 2, character: 0 } })) as Hover;
    const rmd = (run.contents as { value: string }).value;
    assert.match(rmd, /~1\.0 MiB \(estimated: the same step in the previous build\)/);
    assert.match(rmd, /\*\*Last build:\*\* created 2023-11-14 22:13:20 UTC · image `abababababab`/);
    assert.match(rmd, /`RUN \/bin\/sh -c echo hi # buildkit`/);
    assert.match(rmd, /Image size up to here:\*\* ~5\.0 MiB/);
    assert.strictEqual(await t.client.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 9, character: 0 } }), null);
  });

  it('publishes diagnostics with codes, links, related lines and severity overrides', async () => {
    t.settings = { diagnostics: { severity: { LL004: 'off', LL001: 'error' } } };
    await t.initialize();
    await t.open(uri, DOCKERFILE);
    const d = await t.diagnostics(uri, { version: 1 });
    assert.deepStrictEqual(d.diagnostics.map((x) => [x.code, x.range.start.line + 1, x.severity]), [
      ['LL001', 3, 1],
      ['LL002', 3, 2],
      ['LL003', 4, 2],
    ]);
    const ll001 = d.diagnostics[0]!;
    assert.strictEqual(ll001.source, 'layer-lens');
    assert.strictEqual(ll001.codeDescription?.href, 'https://github.com/layerlens/layerlens#ll001');
    assert.strictEqual(ll001.relatedInformation?.[0]?.location.range.start.line, 3);
  });

  it('adds package-cache bytes to LL003 once the layer was measured', async () => {
    backend.cacheBytesAnswer = new Map([[2, { npm: 5 * 1024 * 1024 }]]);
    await t.initialize();
    await t.open(uri, 'FROM node\nRUN npm install -g pnpm\n');
    const d = await t.waitFor<PublishDiagnosticsParams>('textDocument/publishDiagnostics', (p) => p.diagnostics.some((x) => typeof x.message === 'string' && /5\.0 MiB in the last build/.test(x.message)));
    assert.strictEqual(d.diagnostics[0]!.code, 'LL003');
  });

  it('returns quick fixes whose edits rewrite the Dockerfile as expected', async () => {
    await t.initialize();
    await t.open(uri, DOCKERFILE);
    const d = await t.diagnostics(uri, { version: 1 });
    const actions = (await t.client.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range: { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } },
      context: { diagnostics: d.diagnostics.filter((x) => x.range.start.line === 2) },
    })) as CodeAction[];
    const move = actions.find((a) => a.diagnostics?.[0]?.code === 'LL001')!;
    assert.strictEqual(move.kind, 'quickfix');
    assert.deepStrictEqual(move.diagnostics![0], d.diagnostics.find((x) => x.code === 'LL001'), 'linked to the client\'s own diagnostic');
    const edit = (move.edit!.documentChanges![0] as TextDocumentEdit);
    assert.deepStrictEqual(edit.textDocument, { uri, version: 1 });
    assert.strictEqual(
      applyEdits(DOCKERFILE, edit.edits as TextEdit[]),
      ['FROM busybox', 'WORKDIR /app', 'COPY package.json package-lock.json ./', 'RUN npm ci && \\', '    echo MISS', 'COPY . .', 'ENV A=1', 'RUN echo UNKNOWN', 'RUN echo done', ''].join('\n'),
    );
    // The .dockerignore fix creates the file: a CreateFile operation, then its text.
    const ignore = actions.find((a) => a.diagnostics?.[0]?.code === 'LL002')!;
    const ops = (ignore.edit as WorkspaceEdit).documentChanges!;
    const ignoreUri = pathToFileURL(path.join(dir, '.dockerignore')).toString();
    assert.deepStrictEqual(ops[0], { kind: 'create', uri: ignoreUri, options: { ignoreIfExists: true } });
    assert.strictEqual(applyEdits('', (ops[1] as TextDocumentEdit).edits as TextEdit[]), 'Dockerfile\n');
  });

  it('edits an existing .dockerignore through plain changes when the client has no documentChanges', async () => {
    fs.writeFileSync(path.join(dir, '.dockerignore'), '*.log\r\n');
    backend.ignorePath = path.join(dir, '.dockerignore');
    await t.initialize({ workspace: { configuration: true } });
    await t.open(uri, 'FROM busybox\nCOPY . /app\n');
    await t.analysed(uri);
    const actions = (await t.client.sendRequest(CodeActionRequest.type, {
      textDocument: { uri }, range: { start: { line: 1, character: 0 }, end: { line: 1, character: 4 } }, context: { diagnostics: [] },
    })) as CodeAction[];
    const ignoreUri = pathToFileURL(backend.ignorePath).toString();
    assert.strictEqual(actions.length, 1);
    assert.strictEqual(applyEdits('*.log\r\n', actions[0]!.edit!.changes![ignoreUri]!), '*.log\r\nDockerfile\r\n');
  });

  it('keeps hints on moved lines while re-analysing, drops changed ones, then shows the new result', async () => {
    await t.initialize();
    await t.open(uri, DOCKERFILE);
    await t.analysed(uri, { version: 1 });
    const release = backend.hold();
    // Two comment lines on top: every instruction moves down by two, none changed.
    const v2 = await t.change(uri, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '# one\n# two\n' }]);
    assert.deepStrictEqual(labels(await hints()).map(([l]) => l), [3, 5, 6, 9, 10]);
    // Now RUN at (new) line 6 changes: it and every later hint go until the re-analysis lands.
    const v3 = await t.change(uri, [{ range: { start: { line: 5, character: 4 }, end: { line: 5, character: 10 } }, text: 'yarn' }]);
    assert.deepStrictEqual(labels(await hints()), [[3, '4.0 MiB · cached'], [5, '2.0 KiB · cached']]);
    const hover = await t.client.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 9, character: 0 } });
    assert.strictEqual(hover, null, 'no hover from a stale result');
    const from = t.mark();
    release();
    await t.analysed(uri, { version: v3, from });
    assert.ok(v3 > v2);
    assert.deepStrictEqual(labels(await hints()).map(([l]) => l), [3, 5, 6, 9, 10]);
    assert.ok(t.inlayRefreshes >= 2, 'the editor is told to re-ask for hints after each analysis');
  });

  it('re-analyses when a context file changes, without reopening', async () => {
    await t.initialize();
    await t.open(uri, DOCKERFILE);
    await t.analysed(uri, { version: 1 });
    const from = t.mark();
    backend.contextChanged(dir, ['a.txt']);
    await t.analysed(uri, { from, cause: 'context' });
    await t.waitFor('workspace/inlayHint/refresh', undefined, { from });
    await t.diagnostics(uri, { from });
    const stats = await t.client.sendRequest(StatsRequest);
    assert.strictEqual(stats.contextChanges, 1);
  });

  it('debounces a burst of daemon events into one refresh', async () => {
    await t.initialize();
    await t.open(uri, DOCKERFILE);
    await t.analysed(uri, { version: 1 });
    const from = t.mark();
    for (const a of ['tag', 'untag', 'delete', 'tag', 'prune']) backend.emitEvent(a);
    await t.analysed(uri, { from, cause: 'daemon' });
    const stats = await t.client.sendRequest(StatsRequest);
    assert.strictEqual(stats.daemonEvents, 5);
    assert.strictEqual(stats.daemonRefreshes, 1);
    assert.strictEqual(backend.invalidations, 1);
  });

  it('follows the event stream state in the status and refreshes after a reconnect', async () => {
    await t.initialize();
    await t.open(uri, DOCKERFILE);
    await t.analysed(uri, { version: 1 });
    backend.setEventStream(true);
    await t.waitFor<DaemonStatusParams>(DAEMON_STATUS_METHOD, (s) => s.eventsConnected);
    backend.setEventStream(false);
    await t.waitFor<DaemonStatusParams>(DAEMON_STATUS_METHOD, (s) => !s.eventsConnected);
    const from = t.mark();
    backend.setEventStream(true);
    await t.analysed(uri, { from, cause: 'daemon' });
  });

  it('applies settings: build args, target, context folder, builder, hints off', async () => {
    t.settings = { buildArgs: { V: '1' }, target: 'app', builder: 'classic', contextFolders: { Dockerfile: 'ctx' } };
    await t.initialize(undefined, pathToFileURL(dir).toString());
    await t.open(uri, DOCKERFILE);
    await t.analysed(uri);
    assert.deepStrictEqual(
      { args: backend.lastRequest!.buildArgs, target: backend.lastRequest!.target, builder: backend.lastRequest!.builder, context: backend.lastRequest!.context },
      { args: { V: '1' }, target: 'app', builder: 'classic', context: path.join(dir, 'ctx') },
    );
    const from = t.mark();
    await t.configure({ inlayHints: { enabled: false } });
    await t.analysed(uri, { from, cause: 'settings' });
    assert.deepStrictEqual(await hints(), []);
  });

  it('says in the hover why a Dockerfile could not be analysed', async () => {
    backend.analyze = async () => {
      throw new Error('target stage "nope" not found (stages: none named)');
    };
    await t.initialize();
    await t.open(uri, DOCKERFILE);
    await t.analysed(uri);
    const h = (await t.client.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 0, character: 1 } })) as Hover;
    assert.match((h.contents as { value: string }).value, /could not analyse this Dockerfile: target stage "nope" not found/);
    assert.deepStrictEqual(await hints(), []);
    const a = await t.client.sendRequest(AnalysisRequest, { uri });
    assert.strictEqual(a?.report, null);
    assert.match(a?.error ?? '', /nope/);
  });

  it('answers layerLens/analysis with the report of the open document', async () => {
    await t.initialize();
    await t.open(uri, DOCKERFILE);
    await t.analysed(uri);
    const a = await t.client.sendRequest(AnalysisRequest, { uri });
    assert.strictEqual(a?.version, 1);
    assert.strictEqual(a?.report?.steps.length, 7);
    assert.strictEqual(a?.error, null);
  });

  it('shuts down and releases the engine', async () => {
    await t.initialize();
    await t.open(uri, DOCKERFILE);
    await t.analysed(uri);
    await t.shutdown();
    assert.strictEqual(backend.disposed, true);
  });
});
