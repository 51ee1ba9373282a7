// Inlay hints: at the end of the first line of every instruction, the layer size and the cache word.

import type { InlayHint, Range } from 'vscode-languageserver';
import type { StepReport } from '../engine/report';
import type { DocumentView } from './documentView';
import { cacheWord, isMetadataOnly, sizeText } from './format';

/** The label of one step, or null when it says nothing worth a hint (a cached ENV, a skipped stage's RUN). */
export function hintLabel(step: StepReport): string | null {
  if (step.skipped) return step.instruction === 'FROM' ? 'skipped (not needed for the target)' : null;
  if (isMetadataOnly(step)) return step.cache === 'miss' ? 'rebuilds' : null;
  // `FROM stage` and `FROM scratch` add no bytes of their own: the word alone says it.
  const size = step.instruction === 'FROM' && step.size.source === 'none' ? null : sizeText(step.size);
  return [size, cacheWord(step.cache)].filter((x): x is string => x !== null).join(' · ');
}

export function inlayHints(view: DocumentView, range: Range): InlayHint[] {
  const report = view.analysed.report;
  if (!report) return [];
  const hints: InlayHint[] = [];
  for (const step of report.steps) {
    const line = view.toCurrent.get(step.line);
    if (line === undefined) continue; // changed since the analysis: no hint until it is re-analysed
    const l0 = line - 1;
    if (l0 < range.start.line || l0 > range.end.line) continue;
    const label = hintLabel(step);
    if (label === null) continue;
    hints.push({
      position: { line: l0, character: view.current.lines[l0]!.length },
      label,
      paddingLeft: true,
      tooltip: step.reason,
    });
  }
  return hints;
}
