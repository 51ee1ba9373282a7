// Base Dockerfile language features — completion, instruction docs on hover, validation, formatting, symbols,
// folding, semantic tokens and the syntactic quick fixes — from rcjsuen's dockerfile-language-service (the library
// inside Microsoft's Container Tools and Docker DX). A thin adapter: the library takes text and returns LSP values.
//
// Off unless `layerLens.baseLanguageFeatures` resolves to `on` (the VS Code client turns `auto` into on/off from the
// installed extensions): when another Dockerfile language server runs, a second completion list, a second set of
// syntax errors and a second formatter would only get in the way.
//
// On/off without a restart: with a client that registers capabilities dynamically (VS Code does), each feature is
// registered while on and unregistered when turned off. A client without dynamic registration gets static
// capabilities when the feature is on at `initialize` (from initializationOptions); turning it off then empties the
// answers, and turning it on later needs a server restart.

import {
  CompletionRequest,
  DocumentFormattingRequest,
  DocumentRangeFormattingRequest,
  DocumentSymbolRequest,
  FoldingRangeRequest,
  SemanticTokensRegistrationType,
  BulkRegistration,
  CodeActionKind,
  type ClientCapabilities,
  type CodeAction,
  type CodeActionParams,
  type Connection,
  type Diagnostic,
  type Disposable,
  type Hover,
  type MarkupContent,
  type Position,
  type SemanticTokensLegend,
  type ServerCapabilities,
  type TextDocuments,
} from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { DockerfileLanguageServiceFactory, type DockerfileLanguageService } from 'dockerfile-language-service';
import type { LayerLensSettings } from '../protocol';
import { normaliseSettings } from './settings';

type LibraryDiagnostic = Parameters<DockerfileLanguageService['computeCodeActions']>[2]['diagnostics'][number];

/** `source` of the library's validation diagnostics (set by dockerfile-utils). */
export const BASE_DIAGNOSTIC_SOURCE = 'dockerfile-utils';

/** The order in which dockerfile-language-service numbers its token types and modifier bits (dockerSemanticTokens.js). */
export const SEMANTIC_TOKENS_LEGEND: SemanticTokensLegend = {
  tokenTypes: ['keyword', 'comment', 'parameter', 'property', 'namespace', 'class', 'macro', 'string', 'variable', 'operator', 'modifier'],
  tokenModifiers: ['declaration', 'definition', 'deprecated'],
};

/** Whether the setting (or initializationOptions) asks for the base features. `auto` reaching the server means off. */
export function baseFeaturesWanted(rawSettings: unknown): boolean {
  const o = rawSettings as Record<string, unknown> | null | undefined;
  // initializationOptions may hold the settings bare or under `layerLens` (as other editors configure servers).
  const section = o && typeof o === 'object' && typeof o['layerLens'] === 'object' ? o['layerLens'] : o;
  return normaliseSettings(section).baseLanguageFeatures === 'on';
}

interface Feature {
  /** Client supports dynamic registration for it. */
  readonly dynamic: (caps: ClientCapabilities) => boolean;
  readonly register: (r: BulkRegistration) => void;
  readonly staticCapability: (caps: ServerCapabilities) => void;
}

const FEATURES: readonly Feature[] = [
  {
    dynamic: (c) => c.textDocument?.completion?.dynamicRegistration === true,
    register: (r) => r.add(CompletionRequest.type, { documentSelector: null, resolveProvider: true, triggerCharacters: ['=', ' ', '$', '-'] }),
    staticCapability: (s) => (s.completionProvider = { resolveProvider: true, triggerCharacters: ['=', ' ', '$', '-'] }),
  },
  {
    dynamic: (c) => c.textDocument?.formatting?.dynamicRegistration === true,
    register: (r) => r.add(DocumentFormattingRequest.type, { documentSelector: null }),
    staticCapability: (s) => (s.documentFormattingProvider = true),
  },
  {
    dynamic: (c) => c.textDocument?.rangeFormatting?.dynamicRegistration === true,
    register: (r) => r.add(DocumentRangeFormattingRequest.type, { documentSelector: null }),
    staticCapability: (s) => (s.documentRangeFormattingProvider = true),
  },
  {
    dynamic: (c) => c.textDocument?.documentSymbol?.dynamicRegistration === true,
    register: (r) => r.add(DocumentSymbolRequest.type, { documentSelector: null }),
    staticCapability: (s) => (s.documentSymbolProvider = true),
  },
  {
    dynamic: (c) => c.textDocument?.foldingRange?.dynamicRegistration === true,
    register: (r) => r.add(FoldingRangeRequest.type, { documentSelector: null }),
    staticCapability: (s) => (s.foldingRangeProvider = true),
  },
  {
    dynamic: (c) => c.textDocument?.semanticTokens?.dynamicRegistration === true,
    register: (r) => r.add(SemanticTokensRegistrationType.type, { documentSelector: null, legend: SEMANTIC_TOKENS_LEGEND, full: true }),
    staticCapability: (s) => (s.semanticTokensProvider = { legend: SEMANTIC_TOKENS_LEGEND, full: true }),
  },
];

export class BaseFeatures {
  private readonly service: DockerfileLanguageService = DockerfileLanguageServiceFactory.createLanguageService();
  private on = false;
  private caps: ClientCapabilities = {};
  private registration: Promise<Disposable | null> = Promise.resolve(null);
  /** Turns on/off apply in the order they were asked for. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly connection: Connection,
    private readonly documents: TextDocuments<TextDocument>,
    private readonly isDockerfile: (doc: TextDocument) => boolean,
  ) {}

  /**
   * At `initialize`: the static capabilities for features the client cannot register dynamically, when the base
   * features are wanted from the start. Hover and code actions are always advertised by Layer Lens itself.
   */
  initialize(caps: ClientCapabilities, initializationOptions: unknown, capabilities: ServerCapabilities): void {
    this.caps = caps;
    const t = caps.textDocument;
    this.service.setCapabilities({
      completion: { completionItem: t?.completion?.completionItem },
      hover: { contentFormat: t?.hover?.contentFormat },
      foldingRange: { lineFoldingOnly: t?.foldingRange?.lineFoldingOnly, rangeLimit: t?.foldingRange?.rangeLimit },
    });
    this.service.setLogger({ log: (m) => this.connection.console.log(`dockerfile-language-service: ${m}`) });
    if (baseFeaturesWanted(initializationOptions)) {
      this.on = true;
      for (const f of FEATURES) if (!f.dynamic(caps)) f.staticCapability(capabilities);
    }
    this.installHandlers();
  }

  /** Turns the features on or off; resolves once the client has (un)registered them. */
  setEnabled(on: boolean): Promise<void> {
    const step = this.queue.then(async () => {
      const dynamic = FEATURES.filter((f) => f.dynamic(this.caps));
      const registered = await this.registration;
      if (on && registered === null && dynamic.length > 0) {
        const bulk = BulkRegistration.create();
        for (const f of dynamic) f.register(bulk);
        this.registration = this.connection.client.register(bulk).catch((e: unknown) => {
          this.connection.console.warn(`Layer Lens: registering the base Dockerfile features failed: ${String(e)}`);
          return null;
        });
        await this.registration;
      } else if (!on && registered !== null) {
        this.registration = Promise.resolve(null);
        registered.dispose();
      }
      this.on = on;
    });
    this.queue = step.catch(() => undefined);
    return step;
  }

  /**
   * The library's validation diagnostics for a Dockerfile's text, published with Layer Lens's own. Decided from the
   * settings the publication uses (not from the registration state), so that a settings change and the re-analysis
   * it causes cannot race.
   */
  diagnostics(text: string, settings: LayerLensSettings): Diagnostic[] {
    return settings.baseLanguageFeatures === 'on' ? this.service.validate(text) : [];
  }

  /** One hover: the instruction's documentation first, then Layer Lens's layer information. */
  mergeHover(doc: TextDocument | undefined, position: Position, ours: Hover | null): Hover | null {
    const docs = this.on && doc && this.isDockerfile(doc) ? this.service.computeHover(doc.getText(), position) : null;
    if (!docs) return ours;
    if (!ours) return docs;
    return { contents: { kind: 'markdown', value: `${markdownOf(docs)}\n\n---\n\n${markdownOf(ours)}` }, range: ours.range ?? docs.range };
  }

  /** The library's syntactic quick fixes for its own diagnostics, as edits (no server-side commands to register). */
  codeActions(doc: TextDocument | undefined, p: CodeActionParams): CodeAction[] {
    if (!this.on || !doc || !this.isDockerfile(doc)) return [];
    const text = doc.getText();
    const out: CodeAction[] = [];
    for (const d of p.context.diagnostics) {
      if (d.source !== BASE_DIAGNOSTIC_SOURCE) continue;
      // A copy: the library rewrites `code` in place. Its types are an older vscode-languageserver-types (message: string
      // only); the diagnostics it reads are its own, whose message is a string.
      const copy = { ...d } as LibraryDiagnostic;
      for (const c of this.service.computeCodeActions(p.textDocument, p.range, { diagnostics: [copy] })) {
        const edits = this.service.computeCommandEdits(text, c.command, c.arguments ?? []);
        if (edits.length > 0) out.push({ title: c.title, kind: CodeActionKind.QuickFix, diagnostics: [d], edit: { changes: { [doc.uri]: edits } } });
      }
    }
    return out;
  }

  private dockerfile(uri: string): TextDocument | null {
    const doc = this.documents.get(uri);
    return this.on && doc && this.isDockerfile(doc) ? doc : null;
  }

  private installHandlers(): void {
    const c = this.connection;
    c.onCompletion(async (p) => {
      const doc = this.dockerfile(p.textDocument.uri);
      return doc ? await this.service.computeCompletionItems(doc.getText(), p.position) : null;
    });
    c.onCompletionResolve((item) => this.service.resolveCompletionItem(item));
    c.onDocumentFormatting((p) => {
      const doc = this.dockerfile(p.textDocument.uri);
      return doc ? this.service.format(doc.getText(), p.options) : null;
    });
    c.onDocumentRangeFormatting((p) => {
      const doc = this.dockerfile(p.textDocument.uri);
      return doc ? this.service.formatRange(doc.getText(), p.range, p.options) : null;
    });
    c.onDocumentSymbol((p) => {
      const doc = this.dockerfile(p.textDocument.uri);
      return doc ? this.service.computeSymbols(p.textDocument, doc.getText()) : null;
    });
    c.onFoldingRanges((p) => {
      const doc = this.dockerfile(p.textDocument.uri);
      return doc ? this.service.computeFoldingRanges(doc.getText()) : null;
    });
    c.languages.semanticTokens.on((p) => {
      const doc = this.dockerfile(p.textDocument.uri);
      return doc ? this.service.computeSemanticTokens(doc.getText()) : { data: [] };
    });
  }
}

function markdownOf(h: Hover): string {
  const c = h.contents;
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((x) => (typeof x === 'string' ? x : `\`\`\`${x.language}\n${x.value}\n\`\`\``)).join('\n\n');
  if ('kind' in c) return (c as MarkupContent).kind === 'markdown' ? c.value : c.value.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
  return `\`\`\`${c.language}\n${c.value}\n\`\`\``;
}
