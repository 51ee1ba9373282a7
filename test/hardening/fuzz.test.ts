// Issue 7.1, bad input: random and mutated Dockerfiles through the parser, the diagnostics, every quick fix, the
// Analyzer (context + daemon + prediction) and every LSP request. Seeded (FUZZ_SEED) and bounded; no exception may
// escape, every request answers within its budget, and a quick fix either keeps every comment and every word of
// the text (preserve.ts) or is not offered. Oversized, binary, invalid UTF-8, CRLF/LF, BOM and escape-directive
// inputs are fixed cases at the end. Counts go to test-artifacts/hardening/figures.json.

import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { DidCloseTextDocumentNotification, type CodeAction, type Diagnostic, type Hover, type InlayHint, type TextDocumentEdit } from 'vscode-languageserver-protocol';
import { closeAllConnections } from '../../server/src/docker/daemonClient';
import { parseDockerfile } from '../../server/src/engine/dockerfileModel';
import { computeDiagnostics, type ContextFacts } from '../../server/src/engine/diagnostics';
import { quickFixesFor } from '../../server/src/engine/quickFixes';
import { AnalysisRequest } from '../../server/src/protocol';
import { TestClient } from '../server/lspHarness';
import { applyEdits, facts, type PlainTextEdit } from '../server/textHelpers';
import { corpus } from './corpus';
import { FUZZ_SEED, latencySummary, recordFigure, runs, tmpDir } from './figures';
import { GeneratedDaemon } from './genDaemon';
import { assertPreserved } from './preserve';

const CORPUS = corpus();
const BIN = path.resolve(__dirname, '../../../bin/layerlens.js');

/** Budget of a request that reads stored results (hover, inlay hints, code actions, layerLens/analysis). */
const REQUEST_BUDGET_MS = 2000;
/** Budget of one analysis of a fuzzed text, daemon round trips included (a small fake daemon). */
const ANALYSIS_BUDGET_MS = 15_000;

const LINE_POOL = [
  'FROM alpine', 'FROM node:20 AS build', 'FROM build', 'FROM scratch', 'FROM ${BASE:-alpine}', 'ARG BASE', 'ARG V=1',
  'COPY . .', 'COPY package.json package-lock.json ./', 'COPY --from=build /a /b', 'ADD . /src', 'COPY requirements.txt .',
  'RUN npm ci', 'RUN npm install && npm run build', 'RUN pip install -r requirements.txt', 'RUN apt-get update && apt-get install -y curl',
  'RUN apk add git', 'RUN yarn install', 'RUN echo a', 'RUN echo b \\', '    && echo c', 'RUN cd x && make', 'RUN --mount=type=cache,target=/c pip install x',
  'RUN <<EOF', 'EOF', 'RUN ["sh", "-c", "echo json"]', 'RUN echo `', '# a comment', '#', '# escape=`', '# syntax=docker/dockerfile:1',
  'WORKDIR /app', 'ENV A=1 B="two words"', 'LABEL x="<script>alert(1)</script>"', 'CMD ["node", "index.js"]', 'USER 1000', '', '   ',
  'SHELL ["pwsh", "-c"]', 'ONBUILD COPY . .', 'HEALTHCHECK NONE', 'EXPOSE 80', 'VOLUME /data', 'STOPSIGNAL 9', 'MAINTAINER me',
];

const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
  fc.constantFrom('\\', '`', '\r', '\n', '\r\n', '\u0000', '\uFEFF', '\uD800', '"', "'", '$', '${', '&&', '#', '<<'),
);
const anyLine = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...LINE_POOL) }, { weight: 1, arbitrary: anyText });

type Op =
  | { k: 'insert'; at: number; s: string }
  | { k: 'delete'; at: number; n: number }
  | { k: 'insertLine'; at: number; line: string }
  | { k: 'dropLine'; at: number }
  | { k: 'dupLine'; at: number }
  | { k: 'swap'; a: number; b: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('insert' as const), at: fc.nat(), s: anyText }),
  fc.record({ k: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ k: fc.constant('insertLine' as const), at: fc.nat(), line: anyLine }),
  fc.record({ k: fc.constant('dropLine' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('dupLine' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
);

function mutate(text: string, ops: readonly Op[]): string {
  let t = text;
  for (const o of ops) {
    const lines = t.split('\n');
    switch (o.k) {
      case 'insert': { const at = t.length === 0 ? 0 : o.at % (t.length + 1); t = t.slice(0, at) + o.s + t.slice(at); break; }
      case 'delete': { const at = t.length === 0 ? 0 : o.at % t.length; t = t.slice(0, at) + t.slice(at + o.n); break; }
      case 'insertLine': lines.splice(o.at % (lines.length + 1), 0, o.line); t = lines.join('\n'); break;
      case 'dropLine': lines.splice(o.at % lines.length, 1); t = lines.join('\n'); break;
      case 'dupLine': { const i = o.at % lines.length; lines.splice(i, 0, lines[i]!); t = lines.join('\n'); break; }
      case 'swap': { const a = o.a % lines.length; const b = o.b % lines.length; [lines[a], lines[b]] = [lines[b]!, lines[a]!]; t = lines.join('\n'); break; }
    }
  }
  return t;
}

function lineEndings(text: string, mode: 'keep' | 'crlf' | 'mixed', bom: boolean): string {
  let t = text;
  if (mode === 'crlf') t = t.replace(/\r?\n/g, '\r\n');
  if (mode === 'mixed') { let i = 0; t = t.replace(/\r?\n/g, () => (i++ % 2 === 0 ? '\r\n' : '\n')); }
  return (bom && !t.startsWith('\uFEFF') ? '\uFEFF' : '') + t;
}

/** A Dockerfile: a corpus entry mutated, or lines drawn from the pool; then line endings and a BOM. */
const dockerfileText: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(
      fc.record({ base: fc.nat({ max: CORPUS.length - 1 }), ops: fc.array(op, { maxLength: 6 }) }).map(({ base, ops }) => mutate(CORPUS[base]!, ops)),
      fc.array(anyLine, { maxLength: 30 }).map((ls) => ls.join('\n')),
    ),
    fc.constantFrom('keep' as const, 'crlf' as const, 'mixed' as const),
    fc.boolean(),
  )
  .map(([t, mode, bom]) => lineEndings(t, mode, bom));

const CONTEXTS: (ContextFacts | null)[] = [
  null,
  facts({ Dockerfile: 1, 'package.json': 10, 'package-lock.json': 10, 'src/a.js': 5, 'node_modules/x/i.js': 900, 'dist/o.js': 50 }),
  facts({ Dockerfile: 1, '.dockerignore': 1, 'requirements.txt': 4, 'app.py': 9, '__pycache__/a.pyc': 70 }, { dockerignoreRel: '.dockerignore' }),
  facts({ 'go.mod': 1, 'go.sum': 1, 'main.go': 1, 'sub/package.json': 3, 'package.json': 3 }, { builder: 'classic' }),
];

/**
 * VS Code turns a lone CR into a line break when it loads a file (one EOL per model), so the server never sees
 * one from it; LSP counts it as a line break, Docker as text. Texts with one are checked for exceptions only.
 */
const hasLoneCr = (t: string): boolean => /\r(?!\n)/.test(t);
let loneCrCases = 0;

/** Engine path, pure: returns the number of quick fixes checked. */
function checkEngine(text: string, ctx: ContextFacts | null, ignoreText: string | null): number {
  const model = parseDockerfile(text);
  const nLines = text.replace(/^\uFEFF/, '').split(/\r?\n/).length;
  for (const i of model.instructions) {
    assert.ok(i.line >= 1 && i.line <= i.endLine && i.endLine <= nLines, `instruction ${i.keyword} at ${i.line}-${i.endLine} outside 1-${nLines}`);
  }
  let fixes = 0;
  for (const d of computeDiagnostics({ text, model, context: ctx })) {
    assert.ok(d.range.start.line < nLines && d.range.end.line < nLines, `diagnostic ${d.code} beyond the text`);
    for (const fix of quickFixesFor({ text, model, context: ctx, ignoreFile: { rel: '.dockerignore', text: ignoreText } }, d)) {
      if (hasLoneCr(text)) {
        loneCrCases++;
        continue;
      }
      for (const c of fix.changes) {
        if (c.kind === 'dockerfile') {
          const joined = d.data.code === 'LL004' ? d.data.lines.length : 0;
          assertPreserved(text, applyEdits(text, c.edits), d.code, joined);
        } else {
          const before = ignoreText ?? '';
          const after = applyEdits(before, c.edits);
          assert.ok(after.startsWith(before.replace(/\s+$/, '')), `ignore file rewritten: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
        }
        fixes++;
      }
    }
  }
  return fixes;
}

describe('hardening 7.1: bad input', function () {
  this.timeout(600_000);
  const figures: Record<string, unknown> = {};
  after(() => recordFigure('badInput', figures));

  it('parser, diagnostics and quick fixes: no exception, fixes keep every comment and word (property)', () => {
    let cases = 0;
    let fixes = 0;
    let slowest = 0;
    fc.assert(
      fc.property(dockerfileText, fc.nat({ max: CONTEXTS.length - 1 }), fc.option(fc.constantFrom('*.log', 'node_modules\n', '# c\r\ndist', ''), { nil: null }), (text, ci, ignore) => {
        const t0 = performance.now();
        fixes += checkEngine(text, CONTEXTS[ci]!, ignore);
        slowest = Math.max(slowest, performance.now() - t0);
        cases++;
      }),
      { seed: FUZZ_SEED, numRuns: runs(3000) },
    );
    figures['engineCases'] = cases;
    figures['engineQuickFixesChecked'] = fixes;
    figures['engineSlowestCaseMs'] = Math.round(slowest);
    figures['engineFixesNotAppliedLoneCr'] = loneCrCases;
    assert.ok(fixes > cases / 20, `too few quick fixes exercised (${fixes} in ${cases} cases): the generator lost its teeth`);
    assert.ok(slowest < REQUEST_BUDGET_MS, `one case took ${slowest} ms`);
  });

  describe('through the language server (real Analyzer, generated fake daemon)', () => {
    let daemon: GeneratedDaemon;
    let dir: string;
    let lsp: TestClient;
    const savedCache = process.env['LAYERLENS_CACHE_DIR'];
    const errors: string[] = [];

    before(async () => {
      dir = tmpDir('fuzz');
      process.env['LAYERLENS_CACHE_DIR'] = path.join(dir, 'cache');
      for (const [rel, body] of Object.entries({ 'package.json': '{}', 'requirements.txt': 'flask\n', 'src/a.js': 'x', 'node_modules/m/i.js': 'y', '.dockerignore': '*.log\n' })) {
        fs.mkdirSync(path.dirname(path.join(dir, 'ctx', rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, 'ctx', rel), body);
      }
      daemon = await new GeneratedDaemon({ images: 40, buildCacheRecords: 40 }).start();
      lsp = new TestClient({ env: { ...process.env, DOCKER_HOST: '' }, editDebounceMs: 0 }, { dockerHost: `unix://${daemon.socketPath}` });
      lsp.client.onNotification('window/logMessage', (p: { type: number; message: string }) => { if (p.type === 1) errors.push(p.message); });
      await lsp.initialize(undefined, pathToFileURL(path.join(dir, 'ctx')).toString());
    });

    after(async () => {
      await lsp.shutdown();
      closeAllConnections();
      await daemon.stop();
      if (savedCache === undefined) delete process.env['LAYERLENS_CACHE_DIR'];
      else process.env['LAYERLENS_CACHE_DIR'] = savedCache;
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('every request answers within its budget, no handler fails, offered fixes keep the text (property)', async () => {
      const latencies: number[] = [];
      const analysisMs: number[] = [];
      let cases = 0;
      let requests = 0;
      let fixesApplied = 0;
      const timed = async <T>(p: Promise<T>): Promise<T> => {
        const t0 = performance.now();
        const r = await p;
        const ms = performance.now() - t0;
        latencies.push(ms);
        requests++;
        assert.ok(ms < REQUEST_BUDGET_MS, `a request took ${Math.round(ms)} ms`);
        return r;
      };
      await fc.assert(
        fc.asyncProperty(dockerfileText, fc.array(op, { maxLength: 4 }), fc.array(fc.tuple(fc.nat(60), fc.nat(200)), { minLength: 1, maxLength: 3 }), async (raw, edits, points) => {
          cases++;
          const text = raw.replace(/\r(?!\n)/g, '\n'); // as VS Code loads it
          const file = path.join(dir, 'ctx', `Dockerfile.${cases}`);
          fs.writeFileSync(file, text);
          const uri = pathToFileURL(file).toString();
          const mark = lsp.mark();
          const t0 = performance.now();
          await lsp.open(uri, text);
          await lsp.analysed(uri, { from: mark, timeoutMs: ANALYSIS_BUDGET_MS });
          analysisMs.push(performance.now() - t0);
          const diags = await lsp.diagnostics(uri, { from: mark, timeoutMs: ANALYSIS_BUDGET_MS });
          const nLines = text.split('\n').length;
          const whole = { start: { line: 0, character: 0 }, end: { line: nLines + 1, character: 0 } };
          await timed(lsp.client.sendRequest<InlayHint[] | null>('textDocument/inlayHint', { textDocument: { uri }, range: whole }));
          for (const [line, character] of points) {
            await timed(lsp.client.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line, character } }));
          }
          const analysis = await timed(lsp.client.sendRequest(AnalysisRequest, { uri }));
          assert.ok(analysis, 'an analysed document has a layerLens/analysis result');
          assert.ok((analysis.report === null) !== (analysis.error === null), 'exactly one of report and error');
          const actions = await timed(lsp.client.sendRequest<CodeAction[] | null>('textDocument/codeAction', {
            textDocument: { uri }, range: whole, context: { diagnostics: diags.diagnostics as Diagnostic[] },
          }));
          for (const a of actions ?? []) {
            for (const dc of a.edit?.documentChanges ?? []) {
              if (!('textDocument' in dc) || dc.textDocument.uri !== uri) continue;
              const code = String(a.diagnostics?.[0]?.code ?? '') as 'LL001' | 'LL003' | 'LL004';
              const joined = code === 'LL004' ? (a.title.match(/Join these (\d+)/)?.[1] ?? '0') : '0';
              assertPreserved(text, applyEdits(text, (dc as TextDocumentEdit).edits as PlainTextEdit[]), code, Number(joined));
              fixesApplied++;
            }
          }
          // An edit while the document is open: the new version is analysed too.
          const next = mutate(text, edits);
          const m2 = lsp.mark();
          const v = await lsp.change(uri, [{ text: next }]);
          await lsp.analysed(uri, { from: m2, version: v, timeoutMs: ANALYSIS_BUDGET_MS });
          await lsp.client.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
          fs.rmSync(file);
        }),
        { seed: FUZZ_SEED, numRuns: runs(60) },
      );
      assert.deepStrictEqual(errors, [], 'the server logged handler failures');
      figures['lspCases'] = cases;
      figures['lspRequests'] = requests;
      figures['lspQuickFixesApplied'] = fixesApplied;
      figures['lspRequestLatencyMs'] = latencySummary(latencies);
      figures['lspAnalysisLatencyMs'] = latencySummary(analysisMs);
    });
  });

  describe('extreme inputs', () => {
    let dir: string;
    let lsp: TestClient;
    const errors: string[] = [];
    before(async () => {
      dir = tmpDir('extreme');
      lsp = new TestClient({ env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/ll.sock', LAYERLENS_CACHE_DIR: path.join(dir, 'cache') }, editDebounceMs: 0 }, {});
      lsp.client.onNotification('window/logMessage', (p: { type: number; message: string }) => { if (p.type === 1) errors.push(p.message); });
      await lsp.initialize(undefined, pathToFileURL(dir).toString());
    });
    after(async () => {
      await lsp.shutdown();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const big = (lines: number, width: number): string => {
      const out = ['FROM alpine', '# generated'];
      const pad = 'x'.repeat(Math.max(0, width - 20));
      for (let i = 0; out.length < lines; i++) out.push(i % 50 === 0 ? `COPY f${i} /f${i}` : `RUN echo ${i} ${pad}`);
      return out.join('\n') + '\n';
    };
    const cases: [string, () => string | Buffer][] = [
      ['a 10 MB Dockerfile', () => big(10_000, 1024)],
      ['a 100,000-line Dockerfile', () => big(100_000, 24)],
      ['a 9,000-line Dockerfile (under the editor limit)', () => big(9_000, 24)],
      ['binary data', () => Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919 + (i >> 3)) % 256))],
      ['invalid UTF-8', () => Buffer.concat([Buffer.from('FROM alpine\nRUN echo '), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]), Buffer.from('\n# \xff tail\n', 'latin1')])],
      ['CRLF/LF/CR mix with a BOM', () => '\uFEFFFROM alpine\r\nRUN echo a \\\r\n  && echo b\nRUN echo c\rRUN echo d\r\n# end'],
      ['an unknown escape directive', () => '# escape=x\nFROM alpine\nRUN echo a x\n  b\n'],
      ['an empty escape directive and repeated directives', () => '# escape=\n# escape=`\n# syntax=x\nFROM alpine\nRUN echo `\n  b\n'],
      ['a backtick escape with Windows paths', () => '# escape=`\r\nFROM alpine\r\nCOPY C:\\a\\ C:\\b\\\r\nRUN dir `\r\n  && echo c\r\n'],
      ['a directive after an instruction (ignored)', () => 'FROM alpine\n# escape=`\nRUN echo a `\n  b\n'],
      ['NUL bytes and control characters', () => 'FROM alpine\u0000\nRUN echo \u0007\u001b[31m red \u0000\nLABEL a="\u202e"\n'],
    ];
    for (const [name, make] of cases) {
      it(`${name}: the language server answers; the text round-trips`, async () => {
        const content = make();
        const text = typeof content === 'string' ? content : content.toString('utf8');
        const file = path.join(dir, 'Dockerfile');
        fs.writeFileSync(file, content);
        const uri = pathToFileURL(file).toString();
        const mark = lsp.mark();
        const t0 = performance.now();
        await lsp.open(uri, text);
        await lsp.analysed(uri, { from: mark, timeoutMs: 60_000 });
        const openMs = performance.now() - t0;
        const t1 = performance.now();
        await lsp.client.sendRequest('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 200, character: 0 } } });
        await lsp.client.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: 1, character: 2 } });
        await lsp.client.sendRequest('textDocument/codeAction', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 3, character: 0 } }, context: { diagnostics: [] } });
        const reqMs = performance.now() - t1;
        const res = await lsp.client.sendRequest(AnalysisRequest, { uri });
        assert.ok(res, 'analysed');
        assert.ok(res.report !== null || (res.error ?? '').length > 0, 'a report or a readable error');
        if (Buffer.byteLength(text) > 1024 * 1024 || text.split('\n').length > 10_001) {
          assert.match(res.error ?? '', /too large to analyse while editing; run `layerlens analyze` in a terminal/);
        }
        if (res.report) {
          // Every step's text comes from the document: nothing of an instruction is lost.
          const byLine = new Map(parseDockerfile(text).instructions.map((i) => [i.line, i]));
          for (const s of res.report.steps) assert.strictEqual(byLine.get(s.line)?.keyword, s.instruction, `step at line ${s.line}`);
        }
        await lsp.client.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
        assert.deepStrictEqual(errors, []);
        assert.ok(reqMs < REQUEST_BUDGET_MS * 3, `requests took ${Math.round(reqMs)} ms`);
        // The CLI reads the same bytes from disk: it answers (a report, or exit 2 with one line), never crashes.
        const t2 = performance.now();
        const cli = spawnSync(process.execPath, [BIN, 'analyze', file, '--json'], {
          encoding: 'utf8', timeout: 180_000, maxBuffer: 1024 * 1024 * 1024,
          env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent/ll.sock', LAYERLENS_CACHE_DIR: path.join(dir, 'cache') },
        });
        const cliMs = performance.now() - t2;
        assert.ok(cli.status === 0 || cli.status === 2, `CLI exit ${cli.status} (signal ${cli.signal}): ${cli.stderr}`);
        if (cli.status === 2) assert.match(cli.stderr, /^layerlens: .+\n$/);
        else assert.ok((JSON.parse(cli.stdout) as { steps: unknown[] }).steps.length > 0 || !/FROM/i.test(text));
        const key = name.replace(/[^a-z0-9]+/gi, '_');
        figures[`extreme_${key}`] = {
          bytes: Buffer.byteLength(text), lspOpenToAnalysedMs: Math.round(openMs), lspRequestsMs: Math.round(reqMs), lspReport: res.report !== null,
          lspError: res.error, cliExit: cli.status, cliMs: Math.round(cliMs), cliStderr: cli.stderr.trim().slice(0, 200),
        };
      });
    }
  });
});
