// Waiting for a condition with a deadline: the only kind of waiting the end-to-end tests do (no fixed sleeps).

export class WaitTimeout<T> extends Error {
  constructor(message: string, readonly last: T | undefined) {
    super(message);
    this.name = 'WaitTimeout';
  }
}

/**
 * Probes until `done(value)` holds and resolves that value; rejects with a WaitTimeout (carrying the last value)
 * after `deadlineMs`. `intervalMs` is only the pause between two probes.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => T | Promise<T>,
  done: (value: T) => boolean,
  deadlineMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (done(last)) return last;
    if (Date.now() >= deadline) {
      throw new WaitTimeout(`timed out after ${deadlineMs} ms waiting for ${what}; last seen: ${show(last)}`, last);
    }
    await new Promise<void>((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v, null, 1);
  return s === undefined ? String(v) : s.length > 2000 ? `${s.slice(0, 2000)}…` : s;
}
