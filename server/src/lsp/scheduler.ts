// When analyses run: debounced per document (a burst of keystrokes makes one analysis), never two at once for the
// same document, and a request that arrives during a run makes exactly one more run afterwards, for the newest text.

import type { AnalysisCause } from '../protocol';

interface Slot {
  timer: NodeJS.Timeout | null;
  running: boolean;
  again: boolean;
  cause: AnalysisCause;
}

export class AnalysisScheduler {
  private readonly slots = new Map<string, Slot>();
  private disposed = false;

  constructor(
    private readonly run: (uri: string, cause: AnalysisCause) => Promise<void>,
    private readonly onError: (uri: string, e: unknown) => void,
  ) {}

  schedule(uri: string, cause: AnalysisCause, delayMs: number): void {
    if (this.disposed) return;
    let s = this.slots.get(uri);
    if (!s) {
      s = { timer: null, running: false, again: false, cause };
      this.slots.set(uri, s);
    }
    s.cause = cause;
    if (s.timer) clearTimeout(s.timer);
    const slot = s;
    s.timer = setTimeout(() => this.fire(uri, slot), delayMs);
  }

  cancel(uri: string): void {
    const s = this.slots.get(uri);
    if (s?.timer) clearTimeout(s.timer);
    this.slots.delete(uri);
  }

  private fire(uri: string, s: Slot): void {
    s.timer = null;
    if (s.running) {
      s.again = true;
      return;
    }
    s.running = true;
    this.run(uri, s.cause)
      .catch((e: unknown) => this.onError(uri, e))
      .finally(() => {
        s.running = false;
        if (s.again && this.slots.get(uri) === s && !this.disposed) {
          s.again = false;
          this.fire(uri, s);
        }
      });
  }

  dispose(): void {
    this.disposed = true;
    for (const s of this.slots.values()) if (s.timer) clearTimeout(s.timer);
    this.slots.clear();
  }
}
