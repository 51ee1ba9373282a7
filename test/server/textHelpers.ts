// Shared by the rule tests and the LSP tests: applying LSP text edits to a string, and context facts from a table.

import * as assert from 'assert';
import type { ContextFacts, Range } from '../../server/src/engine/diagnostics';

export interface PlainTextEdit {
  readonly range: Range;
  readonly newText: string;
}

/** Applies LSP-style edits (positions in the original text; line content excludes the line break). */
export function applyEdits(text: string, edits: readonly PlainTextEdit[]): string {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  const lineEnd = (l: number): number => {
    const end = l + 1 < starts.length ? starts[l + 1]! - 1 : text.length;
    return end > starts[l]! && text[end - 1] === '\r' ? end - 1 : end;
  };
  const offset = (p: Range['start']): number => {
    assert.ok(p.line < starts.length, `line ${p.line} beyond the text`);
    const o = starts[p.line]! + p.character;
    assert.ok(o <= lineEnd(p.line), `character ${p.character} beyond line ${p.line}`);
    return o;
  };
  const spans = edits.map((e) => ({ s: offset(e.range.start), e: offset(e.range.end), t: e.newText })).sort((a, b) => b.s - a.s || b.e - a.e);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i]!.e <= spans[i - 1]!.s, 'edits overlap');
  let out = text;
  for (const sp of spans) out = out.slice(0, sp.s) + sp.t + out.slice(sp.e);
  return out;
}

/** Context facts from a path → size table; directories are implied by the paths below them. */
export function facts(files: Record<string, number>, opts: Partial<Omit<ContextFacts, 'entries'>> = {}): ContextFacts {
  const entries = new Map<string, { kind: 'file' | 'dir'; size: number }>();
  for (const [p, size] of Object.entries(files)) {
    const segs = p.split('/');
    for (let i = 1; i < segs.length; i++) entries.set(segs.slice(0, i).join('/'), { kind: 'dir', size: 4096 });
    entries.set(p, { kind: 'file', size });
  }
  return { entries, dockerfileRel: 'Dockerfile', dockerignoreRel: null, builder: 'buildkit', ...opts };
}
