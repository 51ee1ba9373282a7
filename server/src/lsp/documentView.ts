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

/** Parses each document version once, however many hint and hover requests ask about it. */
export class ViewCache {
  private readonly current = new Map<string, CurrentText>();
  private readonly views = new Map<string, { analysed: Analysed; version: number; view: DocumentView }>();

  currentOf(doc: TextDocument): CurrentText {
    const hit = this.current.get(doc.uri);
    if (hit && hit.version === doc.version) return hit;
    const text = doc.getText();
    const c: CurrentText = { version: doc.version, text, model: parseDockerfile(text), lines: splitLines(text) };
    this.current.set(doc.uri, c);
    return c;
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
