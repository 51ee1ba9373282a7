// Follows the daemon through its `/events` stream: a build, tag, untag, delete or prune invalidates the daemon
// snapshot and re-analyses open Dockerfiles. Events come in bursts (a build emits one per step), so they are
// debounced; nothing here polls.

import type { DaemonEvent, EventStreamStatus } from '../docker/daemonClient';
import type { DaemonInfo } from '../docker/types';
import type { AnalysisBackend, Disposable } from './backend';

export class DaemonWatch {
  events = 0;
  refreshes = 0;
  eventsConnected = false;
  private info: Promise<DaemonInfo> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stream: Disposable | null = null;
  private everConnected = false;
  /** The last daemon info asked for said unreachable. */
  private knownUnreachable = false;

  constructor(
    private readonly backend: AnalysisBackend,
    /** The daemon changed: re-analyse. */
    private readonly onChanged: () => void,
    /** Connection state changed: update the status shown to the user. */
    private readonly onStatus: () => void,
    private readonly debounceMs = 250,
  ) {}

  start(): void {
    this.stream = this.backend.daemonEvents(
      (e) => this.event(e),
      (s) => this.status(s),
    );
  }

  /** Ping + version, asked once per daemon change rather than per analysis. */
  daemonInfo(): Promise<DaemonInfo> {
    if (!this.info) {
      const asked = this.backend.daemonInfo();
      this.info = asked;
      void asked.then((i) => {
        if (this.info === asked) this.knownUnreachable = !i.reachable;
      }, () => undefined);
    }
    return this.info;
  }

  private event(_e: DaemonEvent): void {
    this.events++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.changed(), this.debounceMs);
  }

  private changed(): void {
    this.timer = null;
    this.knownUnreachable = false;
    this.refreshes++;
    this.backend.invalidateDaemon();
    this.info = null;
    this.onChanged();
  }

  private status(s: EventStreamStatus): void {
    const was = this.eventsConnected;
    this.eventsConnected = s.connected;
    if (s.connected && !was) {
      // Back after an outage (or a daemon restart): whatever we knew may be gone.
      // Also on a first connection when analyses ran while the daemon was unreachable (absent at start): their
      // results say "daemon unreachable" and nothing else would redo them.
      if (this.everConnected || this.knownUnreachable) this.changed();
      else this.info = null;
      this.everConnected = true;
    } else if (!s.connected && was) {
      this.info = null;
    }
    this.onStatus();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.stream?.dispose();
  }
}
