// Words and numbers shared by inlay hints and hovers, so both say the same thing the same way.

import { formatBytes, type CacheStatus, type StepReport, type StepSize } from '../engine/report';

/** `cached`, `rebuilds`, `?` — the words users (and tests) look for. */
export function cacheWord(c: CacheStatus): string {
  return c === 'hit' ? 'cached' : c === 'miss' ? 'rebuilds' : '?';
}

/** `12.3 MiB`, `~4.0 KiB` when estimated, null when unknown. */
export function sizeText(s: StepSize): string | null {
  if (s.bytes === null) return null;
  return `${s.exact ? '' : '~'}${formatBytes(s.bytes)}`;
}

export function sizeSource(s: StepSize): string {
  if (s.bytes === null) return 'unknown until it is built';
  switch (s.source) {
    case 'context':
      return 'exact: the files it copies from the build context';
    case 'history':
      return 'exact: from the image history';
    case 'previous-build':
      return 'estimated: the same step in the previous build';
    case 'none':
      return s.bytes === 0 ? 'no filesystem change' : s.exact ? 'exact' : 'estimated';
  }
}

/**
 * Instructions that make no real layer (ENV, LABEL, CMD …, and WORKDIR, whose layer is an empty directory): their
 * hint only speaks up when they bust the cache.
 */
export function isMetadataOnly(step: StepReport): boolean {
  return !step.createsLayer && step.instruction !== 'FROM';
}

/** Inline markdown code for untrusted text (file names, image history): one line, fenced past any backticks. */
export function mdCode(text: string, max = 200): string {
  let t = text.replace(/[\r\n]+/g, ' ');
  if (t.length > max) t = `${t.slice(0, max - 1)}…`;
  const longest = Math.max(0, ...(t.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = t.startsWith('`') || t.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${t}${pad}${fence}`;
}
