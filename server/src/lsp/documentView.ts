// One analysed document, and how it lines up with the text the editor has now.

import type { TextDocument } from 'vscode-languageserver-textdocument';
import { parseDockerfile, type DockerfileModel } from '../engine/dockerfileModel';
import { splitLines, type CacheKind, type ContextFacts } from '../engine/diagnostics';
import type { AnalysisReport } from '../engine/report';
import type { ContextKey } from './backend';
import { identityMap, mapLines, type LineMap } from './lineMap';

export interface Analysed {
  readonly uri: string;
  readonly version: number;
  readonly text: string;
  readonly model: DockerfileModel;
  readonly report: AnalysisReport | null;
  readonly error: string | null;
  readonly key: ContextKey | null;
  readonly facts: ContextFacts | null;
  /** Where ignore-file entries go: the ignore file in effect, else `<context>/.dockerignore` (created by the fix). */
  readonly ignoreFile: string | null;
  /** Sizes of the changed files the report names, for hovers. */
  readonly fileSizes: ReadonlyMap<string, number>;
  /** Package-cache bytes per RUN line, filled in the background after the analysis. */
  cacheBytes: ReadonlyMap<number, Readonly<Partial<Record<CacheKind, number>>>>;
}

export interface CurrentText {
  readonly version: number;
  readonly text: string;
  readonly model: DockerfileModel;
  readonly lines: readonly string[];
}

export interface DocumentView {
  readonly analysed: Analysed;
  readonly current: CurrentText;
  /** Analysed first line → current first line, for results that still hold. */
  readonly toCurrent: LineMap;
  /** Current first line → analysed first line. */
  readonly toAnalysed: LineMap;
}

/**
 * Beyond these sizes a document is not analysed in the editor: dockerfile-ast's parse grows faster than the text
 * (measured: 1 MB ≈ 0.8 s, 10 MB ≈ 7.5 s, 100,000 short lines ≈ 10 s), and every request would wait on it. Real
 * Dockerfiles are a few hundred lines; the CLI still analyses larger ones.
 */
export const MAX_EDITOR_CHARS = 1024 * 1024;
export const MAX_EDITOR_LINES = 10_000;

const EMPTY_MODEL = parseDockerfile('');

/** Why a document is too large to analyse in the editor, or null. Counts lines without splitting the text. */
export function tooLargeForEditor(text: string): string | null {
  let lines = 1;
  for (let i = text.indexOf('\n'); i >= 0 && lines <= MAX_EDITOR_LINES; i = text.indexOf('\n', i + 1)) lines++;
  if (text.length <= MAX_EDITOR_CHARS && lines <= MAX_EDITOR_LINES) return null;
  const what = text.length > MAX_EDITOR_CHARS ? `${text.length} characters (the limit is ${MAX_EDITOR_CHARS})` : `more than ${MAX_EDITOR_LINES} lines`;
  return `this Dockerfile has ${what}: too large to analyse while editing; run \`layerlens analyze\` in a terminal instead`;
}

/** The model the editor features work on: the parsed text, or an empty model when the text is too large. */
export function editorModel(text: string): DockerfileModel {
  return tooLargeForEditor(text) === null ? parseDockerfile(text) : EMPTY_MODEL;
}

/** Parses each document version once, however many hint and hover requests ask about it. */
export class ViewCache {
  private readonly current = new Map<string, CurrentText>();
  private readonly views = new Map<string, { analysed: Analysed; version: number; view: DocumentView }>();

  currentOf(doc: TextDocument): CurrentText {
    const hit = this.current.get(doc.uri);
    if (hit && hit.version === doc.version) return hit;
    const text = doc.getText();
    const c: CurrentText = { version: doc.version, text, model: editorModel(text), lines: splitLines(text) };
    this.current.set(doc.uri, c);
    return c;
  }

  /** The analysis parsed this version already: requests for it reuse that model instead of parsing again. */
  seed(uri: string, version: number, text: string, model: DockerfileModel): void {
    this.current.set(uri, { version, text, model, lines: splitLines(text) });
  }

  viewOf(analysed: Analysed, doc: TextDocument): DocumentView {
    const hit = this.views.get(doc.uri);
    if (hit && hit.analysed === analysed && hit.version === doc.version) return hit.view;
    const current = this.currentOf(doc);
    const toCurrent = doc.version === analysed.version ? identityMap(analysed.model) : mapLines(analysed.model, current.model);
    const toAnalysed = new Map([...toCurrent].map(([a, c]) => [c, a] as const));
    const view: DocumentView = { analysed, current, toCurrent, toAnalysed };
    this.views.set(doc.uri, { analysed, version: doc.version, view });
    return view;
  }

  forget(uri: string): void {
    this.current.delete(uri);
    this.views.delete(uri);
  }
}
