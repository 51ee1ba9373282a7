// Stale protection. A report is computed for one document version; the editor asks for hints and hovers at newer
// versions before the debounced re-analysis lands. Instructions that are textually unchanged keep their result at
// their new line; from the first changed instruction on, results are dropped (a changed step changes the cache fate
// of what follows), so a hint never shows against a line it was not computed for.

import type { DockerfileModel, ParsedInstruction } from '../engine/dockerfileModel';

/** Analysed first line (1-based) → current first line, for the instructions whose result still holds. */
export type LineMap = ReadonlyMap<number, number>;

const same = (a: ParsedInstruction, b: ParsedInstruction): boolean => a.keyword === b.keyword && a.dockerLine === b.dockerLine;

export function mapLines(analysed: DockerfileModel, current: DockerfileModel): LineMap {
  const a = analysed.instructions;
  const c = current.instructions;
  const out = new Map<number, number>();
  let p = 0;
  while (p < a.length && p < c.length && same(a[p]!, c[p]!)) {
    out.set(a[p]!.line, c[p]!.line);
    p++;
  }
  // When only comments or blank lines changed, every instruction matched: all results hold, just shifted.
  return out;
}

/** Identity map for a document whose version is the analysed one. */
export function identityMap(model: DockerfileModel): LineMap {
  return new Map(model.instructions.map((i) => [i.line, i.line]));
}
