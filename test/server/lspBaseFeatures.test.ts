// Base Dockerfile language features (dockerfile-language-service) through the real server over in-memory streams:
// each feature off by default (`auto` reaching the server means off), on with `layerLens.baseLanguageFeatures: on`,
// registered and unregistered dynamically when the setting changes, or advertised statically for a client that
// cannot register dynamically.

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { CodeAction, CompletionItem, CompletionList, Hover, MarkupContent } from 'vscode-languageserver-protocol';
import {
  CodeActionRequest,
  CompletionRequest,
  CompletionResolveRequest,
  DocumentFormattingRequest,
  DocumentSymbolRequest,
  FoldingRangeRequest,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  SemanticTokensRequest,
  type ClientCapabilities,
  type Diagnostic,
  type Registration,
  type Unregistration,
} from 'vscode-languageserver-protocol/node';
import { BASE_DIAGNOSTIC_SOURCE, SEMANTIC_TOKENS_LEGEND } from '../../server/src/lsp/baseFeatures';
import { DIAGNOSTIC_SOURCE } from '../../server/src/protocol';
import { FakeBackend } from './fakeBackend';
import { FULL_CAPABILITIES, TestClient } from './lspHarness';
import { applyEdits, facts } from './textHelpers';

/** Line 3 has a lowercase instruction (a validation warning with a quick fix) and a misplaced indent (formatting). */
const DOCKERFILE = ['FROM busybox', 'WORKDIR /app', '  copy . .', 'RUN echo MISS', ''].join('\n');

const DYNAMIC: ClientCapabilities = {
  ...FULL_CAPABILITIES,
  textDocument: {
    ...FULL_CAPABILITIES.textDocument,
    completion: { dynamicRegistration: true, completionItem: { documentationFormat: ['markdown', 'plaintext'], snippetSupport: true } },
    formatting: { dynamicRegistration: true },
    rangeFormatting: { dynamicRegistration: true },
    documentSymbol: { dynamicRegistration: true },
    foldingRange: { dynamicRegistration: true },
    semanticTokens: {
      dynamicRegistration: true,
      requests: { full: true },
      tokenTypes: [...SEMANTIC_TOKENS_LEGEND.tokenTypes],
      tokenModifiers: [...SEMANTIC_TOKENS_LEGEND.tokenModifiers],
      formats: ['relative'],
    },
  },
};

const BASE_METHODS = [
  'textDocument/completion',
  'textDocument/documentSymbol',
  'textDocument/foldingRange',
  'textDocument/formatting',
  'textDocument/rangeFormatting',
  'textDocument/semanticTokens',
];

const markdown = (h: Hover | null): string => ((h?.contents as MarkupContent | undefined)?.value ?? '');
const sources = (ds: Diagnostic[]): string[] => [...new Set(ds.map((d) => String(d.source)))].sort();

describe('language server: base Dockerfile features (dockerfile-language-service)', function () {
  this.timeout(20_000);
  let dir: string;
  let uri: string;
  let t: TestClient;
  let registered: Map<string, string>;
  let registrations: number;
  let unregistrations: number;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-base-'));
    uri = pathToFileURL(path.join(dir, 'Dockerfile')).toString();
    const backend = new FakeBackend();
    backend.facts = facts({ Dockerfile: 60, 'a.txt': 2000 }, { dockerfileRel: 'Dockerfile' });
    t = new TestClient({ backendFactory: () => backend, editDebounceMs: 20, daemonDebounceMs: 30, env: {} });
    registered = new Map();
    registrations = 0;
    unregistrations = 0;
    t.client.onRequest('client/registerCapability', (p: { registrations: Registration[] }) => {
      registrations++;
      for (const r of p.registrations) registered.set(r.id, r.method);
      return null;
    });
    t.client.onRequest('client/unregisterCapability', (p: { unregisterations: Unregistration[] }) => {
      unregistrations++;
      for (const r of p.unregisterations) registered.delete(r.id);
      return null;
    });
  });

  afterEach(async () => {
    await t.shutdown().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const complete = async (line: number, character: number): Promise<CompletionItem[]> => {
    const r = (await t.client.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: { line, character } })) as CompletionItem[] | CompletionList | null;
    return r === null ? [] : Array.isArray(r) ? r : r.items;
  };
  const hoverAt = (line: number, character: number): Promise<Hover | null> =>
    t.client.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character } }) as Promise<Hover | null>;
  const registeredMethods = (): string[] => [...registered.values()].sort();

  /** Opens the Dockerfile and waits for the diagnostics of its first analysis. */
  async function openAndDiagnose(): Promise<Diagnostic[]> {
    const from = t.mark();
    await t.open(uri, DOCKERFILE);
    return (await t.diagnostics(uri, { version: 1, from })).diagnostics;
  }

  it('is off by default: no registration, no completion, Layer Lens hover and diagnostics only', async () => {
    t.settings = {};
    const res = await t.initialize(DYNAMIC);
    assert.strictEqual(res.capabilities.completionProvider, undefined);
    assert.strictEqual(res.capabilities.semanticTokensProvider, undefined);
    const ds = await openAndDiagnose();
    assert.deepStrictEqual(sources(ds), [DIAGNOSTIC_SOURCE]);
    assert.deepStrictEqual(await complete(3, 0), []);
    const h = markdown(await hoverAt(1, 2));
    assert.match(h, /^\*\*Layer Lens\*\* · WORKDIR/);
    assert.doesNotMatch(h, /working directory/i);
    assert.deepStrictEqual(registeredMethods(), []);
    assert.strictEqual(registrations, 0);
  });

  it('on: registers every feature dynamically and serves completion with documentation', async () => {
    t.settings = { baseLanguageFeatures: 'on' };
    await t.initialize(DYNAMIC);
    await openAndDiagnose();
    assert.deepStrictEqual(registeredMethods(), BASE_METHODS);
    // An empty line offers instructions; resolving one adds its documentation.
    const items = await complete(4, 0);
    const healthcheck = items.find((i) => i.label.startsWith('HEALTHCHECK --interval'));
    assert.ok(healthcheck, items.map((i) => i.label).join(', '));
    const resolved = (await t.client.sendRequest(CompletionResolveRequest.type, healthcheck)) as CompletionItem;
    const docs = typeof resolved.documentation === 'string' ? resolved.documentation : (resolved.documentation?.value ?? '');
    assert.match(docs, /health/i);
  });

  it('on: one hover holds the instruction documentation and then the layer information', async () => {
    t.settings = { baseLanguageFeatures: 'on' };
    await t.initialize(DYNAMIC);
    await openAndDiagnose();
    const h = markdown(await hoverAt(1, 2));
    const docsAt = h.search(/working directory/i);
    const oursAt = h.indexOf('**Layer Lens** · WORKDIR');
    assert.ok(docsAt >= 0 && oursAt > docsAt, h);
    assert.match(h, /\n---\n/);
  });

  it('on: validation diagnostics are published with Layer Lens diagnostics, and their quick fix is an edit', async () => {
    t.settings = { baseLanguageFeatures: 'on' };
    await t.initialize(DYNAMIC);
    const ds = await openAndDiagnose();
    assert.deepStrictEqual(sources(ds), [BASE_DIAGNOSTIC_SOURCE, DIAGNOSTIC_SOURCE].sort());
    const casing = ds.find((d) => d.source === BASE_DIAGNOSTIC_SOURCE && d.range.start.line === 2);
    assert.ok(casing, JSON.stringify(ds));
    const actions = (await t.client.sendRequest(CodeActionRequest.type, {
      textDocument: { uri },
      range: casing.range,
      context: { diagnostics: [casing] },
    })) as CodeAction[];
    const fix = actions.find((a) => /uppercase/i.test(a.title));
    assert.ok(fix, actions.map((a) => a.title).join(', '));
    assert.deepStrictEqual(fix.diagnostics, [casing]);
    const fixed = applyEdits(DOCKERFILE, fix.edit!.changes![uri]!);
    assert.strictEqual(fixed.split('\n')[2], '  COPY . .');
  });

  it('on: formatting, symbols, folding and semantic tokens', async () => {
    t.settings = { baseLanguageFeatures: 'on' };
    await t.initialize(DYNAMIC);
    await openAndDiagnose();
    const edits = await t.client.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: { tabSize: 4, insertSpaces: true } });
    assert.strictEqual(applyEdits(DOCKERFILE, edits ?? []).split('\n')[2], 'copy . .');
    const symbols = (await t.client.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } })) as { name: string }[];
    assert.deepStrictEqual(symbols.map((s) => s.name), ['FROM', 'WORKDIR', 'copy', 'RUN']);
    const folding = await t.client.sendRequest(FoldingRangeRequest.type, { textDocument: { uri } });
    assert.ok(Array.isArray(folding));
    const tokens = await t.client.sendRequest(SemanticTokensRequest.type, { textDocument: { uri } });
    // Five integers per token; the first token is the keyword FROM at line 0, column 0, length 4.
    assert.ok(tokens && tokens.data.length > 0 && tokens.data.length % 5 === 0);
    assert.deepStrictEqual(tokens.data.slice(0, 4), [0, 0, 4, SEMANTIC_TOKENS_LEGEND.tokenTypes.indexOf('keyword')]);
  });

  it('turns on and off with the setting, without a restart', async () => {
    t.settings = {};
    await t.initialize(DYNAMIC);
    await openAndDiagnose();
    assert.deepStrictEqual(registeredMethods(), []);

    let from = t.mark();
    await t.configure({ baseLanguageFeatures: 'on' });
    const on = await t.waitFor<{ diagnostics: Diagnostic[] }>('textDocument/publishDiagnostics', (p) => p.diagnostics.some((d) => d.source === BASE_DIAGNOSTIC_SOURCE), { from });
    assert.deepStrictEqual(sources(on.diagnostics), [BASE_DIAGNOSTIC_SOURCE, DIAGNOSTIC_SOURCE].sort());
    await waitFor(() => registeredMethods().length === BASE_METHODS.length, 'the base features to be registered');
    assert.ok((await complete(4, 0)).length > 0);

    from = t.mark();
    await t.configure({ baseLanguageFeatures: 'off' });
    const off = await t.waitFor<{ diagnostics: Diagnostic[] }>('textDocument/publishDiagnostics', () => true, { from });
    assert.deepStrictEqual(sources(off.diagnostics), [DIAGNOSTIC_SOURCE]);
    await waitFor(() => registeredMethods().length === 0, 'the base features to be unregistered');
    assert.strictEqual(unregistrations, 1);
    assert.deepStrictEqual(await complete(4, 0), []);
    assert.doesNotMatch(markdown(await hoverAt(1, 2)), /working directory/i);
  });

  it('a client without dynamic registration gets static capabilities from initializationOptions', async () => {
    t.settings = { baseLanguageFeatures: 'on' };
    const res = await t.client.sendRequest(InitializeRequest.type, {
      processId: null,
      rootUri: null,
      workspaceFolders: null,
      capabilities: FULL_CAPABILITIES,
      initializationOptions: { layerLens: { baseLanguageFeatures: 'on' } },
    });
    await t.client.sendNotification(InitializedNotification.type, {});
    const c = res.capabilities;
    assert.deepStrictEqual(
      [!!c.completionProvider, c.documentFormattingProvider, c.documentRangeFormattingProvider, c.documentSymbolProvider, c.foldingRangeProvider],
      [true, true, true, true, true],
    );
    assert.deepStrictEqual(c.semanticTokensProvider, { legend: SEMANTIC_TOKENS_LEGEND, full: true });
    await openAndDiagnose();
    assert.ok((await complete(4, 0)).some((i) => i.label === 'RUN'));
    assert.strictEqual(registrations, 0);
  });

  it('a client without dynamic registration and without the option gets no base capabilities', async () => {
    const res = await t.initialize(FULL_CAPABILITIES);
    assert.strictEqual(res.capabilities.completionProvider, undefined);
    assert.strictEqual(res.capabilities.documentFormattingProvider, undefined);
  });
});

async function waitFor(cond: () => boolean, what: string, deadlineMs = 5000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
