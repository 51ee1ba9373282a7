// "Nothing lost": what a quick fix may and may not change in a Dockerfile. A fix may insert text, move an
// instruction with its comments, and (LL004) drop the RUN keyword and flags of the RUNs it joins and blank lines
// between them. It may never drop a comment, a word of any instruction, or an instruction other than those.

import * as assert from 'assert';
import { parseDockerfile } from '../../server/src/engine/dockerfileModel';
import type { DiagnosticCode } from '../../server/src/engine/diagnostics';

function multiset(items: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of items) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

/** Items of `before` missing from `after`, counting repeats. */
export function missing(before: readonly string[], after: readonly string[]): string[] {
  const have = multiset(after);
  const out: string[] = [];
  for (const x of before) {
    const n = have.get(x) ?? 0;
    if (n === 0) out.push(x);
    else have.set(x, n - 1);
  }
  return out;
}

const lines = (t: string): string[] => t.replace(/^\uFEFF/, '').split(/\r?\n/);

function commentLines(t: string): string[] {
  return lines(t).filter((l) => /^\s*#/.test(l)).map((l) => l.trim());
}

/** Words of the text, without RUN keywords and their flags (LL004 removes those) nor lone escapes and `&&`. */
function words(t: string, escape: string): string[] {
  return lines(t)
    .map((l) => l.replace(/^\s*RUN((?:\s+--\S+)*)(\s+|$)/i, ''))
    .flatMap((l) => l.split(/\s+/))
    .filter((w) => w !== '' && w !== escape && w !== '&&');
}

/** Asserts that `after` (the fixed text) keeps everything of `before` that a fix of `code` must keep. */
export function assertPreserved(before: string, after: string, code: DiagnosticCode, joined = 0): void {
  const m0 = parseDockerfile(before);
  const m1 = parseDockerfile(after);
  const ctx = (): string => `\n--- before (${code}) ---\n${JSON.stringify(before)}\n--- after ---\n${JSON.stringify(after)}`;
  assert.deepStrictEqual(missing(commentLines(before), commentLines(after)), [], `comments lost${ctx()}`);
  assert.deepStrictEqual(missing(words(before, m0.escape), words(after, m1.escape)), [], `words lost${ctx()}`);
  assert.strictEqual(m1.stages.length, m0.stages.length, `stage count changed${ctx()}`);
  assert.strictEqual(m1.escape, m0.escape, `escape directive changed${ctx()}`);
  const n0 = m0.instructions.length;
  const n1 = m1.instructions.length;
  if (code === 'LL003') assert.strictEqual(n1, n0, `instruction count changed${ctx()}`);
  if (code === 'LL004') assert.strictEqual(n1, n0 - (joined - 1), `joining ${joined} RUNs should leave ${n0 - joined + 1} instructions${ctx()}`);
  if (code === 'LL001') assert.ok(n1 >= n0, `instructions lost${ctx()}`);
  if (code === 'LL001' || code === 'LL003') {
    // Every instruction but the one fixed (LL003) keeps its exact text; LL001 moves instructions, never rewrites them.
    const t0 = m0.instructions.map((i) => `${i.keyword} ${i.text}`);
    const t1 = m1.instructions.map((i) => `${i.keyword} ${i.text}`);
    assert.ok(missing(t0, t1).length <= (code === 'LL003' ? 1 : 0), `instructions rewritten: ${JSON.stringify(missing(t0, t1))}${ctx()}`);
  }
}
