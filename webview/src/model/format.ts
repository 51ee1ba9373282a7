// Readable sizes and times for the Layer Explorer. Pure (no DOM): unit-tested in test/unit/explorerModel.test.ts.
import { formatBytes } from '../../../server/src/engine/report';

export { formatBytes };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "5 minutes ago", "3 hours ago", "2 days ago", "4 months ago", "2 years ago"; "unknown" for null. */
export function relativeTime(then: number | null, now: number): string {
  if (then === null || !Number.isFinite(then)) return 'unknown';
  const d = now - then;
  // A clock a little ahead of the host's (a remote daemon) still reads as "just now".
  if (d < MINUTE) return 'just now';
  if (d < HOUR) return plural(Math.floor(d / MINUTE), 'minute');
  if (d < DAY) return plural(Math.floor(d / HOUR), 'hour');
  if (d < 30 * DAY) return plural(Math.floor(d / DAY), 'day');
  if (d < 365 * DAY) return plural(Math.floor(d / (30 * DAY)), 'month');
  return plural(Math.floor(d / (365 * DAY)), 'year');
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
}

/** A share (0..1) as a percentage for people: "42%", "<1%" for a small non-zero share, "0%". */
export function percent(share: number): string {
  if (!(share > 0)) return '0%';
  if (share < 0.01) return '<1%';
  return `${Math.round(share * 100)}%`;
}

/** "sha256:0123456789ab…" → "0123456789ab" (what `docker images` shows). */
export function shortId(id: string): string {
  const hex = id.startsWith('sha256:') ? id.slice('sha256:'.length) : id;
  return hex.slice(0, 12);
}
