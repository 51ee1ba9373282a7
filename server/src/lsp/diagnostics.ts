// Diagnostics: the pure rules of engine/diagnostics.ts, turned into LSP diagnostics with severities from settings,
// a link to each rule's documentation and the related lines.

import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver';
import { computeDiagnostics, ruleHref, type LayerDiagnostic, type Severity } from '../engine/diagnostics';
import { DIAGNOSTIC_SOURCE, type LayerLensSettings } from '../protocol';
import type { Analysed } from './documentView';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

/** The rule results for an analysed document (its own text, its context, cache bytes measured so far). */
export function layerDiagnostics(analysed: Analysed): LayerDiagnostic[] {
  return computeDiagnostics({ text: analysed.text, model: analysed.model, context: analysed.facts, cacheBytes: analysed.cacheBytes });
}

export function toLspDiagnostic(d: LayerDiagnostic, uri: string, settings: LayerLensSettings): Diagnostic | null {
  const override = settings.diagnostics.severity[d.code];
  if (override === 'off') return null;
  return {
    range: d.range,
    severity: SEVERITY[override ?? d.severity],
    code: d.code,
    codeDescription: { href: ruleHref(d.code) },
    source: DIAGNOSTIC_SOURCE,
    message: d.message,
    relatedInformation: d.related.map((r) => ({
      location: { uri, range: { start: { line: r.line - 1, character: 0 }, end: { line: r.line - 1, character: 0 } } },
      message: r.message,
    })),
    data: d.data,
  };
}

export function lspDiagnostics(analysed: Analysed, settings: LayerLensSettings): Diagnostic[] {
  return layerDiagnostics(analysed)
    .map((d) => toLspDiagnostic(d, analysed.uri, settings))
    .filter((d): d is Diagnostic => d !== null);
}
