// Daemons a fault test may break on purpose: its OWN dockerd (own data-root, exec-root, pidfile, socket, no
// iptables, no bridge, own containerd namespaces; the shared daemon is never touched), and a byte-level proxy on a
// unix socket that can delay or stall what the daemon sends back.

import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';

export function ping(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath, path: '/_ping', timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body === 'OK'));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export class OwnDockerd {
  readonly socketPath: string;
  private child: ChildProcess | null = null;
  starts = 0;

  constructor(readonly root: string) {
    fs.mkdirSync(root, { recursive: true });
    this.socketPath = path.join(root, 'd.sock');
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Starts dockerd and resolves once it answers /_ping (fails after `timeoutMs`). */
  async start(timeoutMs = 60_000): Promise<void> {
    await this.clearStaleContainerd();
    const log = fs.openSync(path.join(this.root, `dockerd-${++this.starts}.log`), 'w');
    const r = this.root;
    this.child = spawn('dockerd', [
      '--data-root', path.join(r, 'data'), '--exec-root', path.join(r, 'exec'), '--pidfile', path.join(r, 'dockerd.pid'),
      '-H', `unix://${this.socketPath}`, '--iptables=false', '--bridge=none',
      '--containerd-namespace', 'll-harden', '--containerd-plugins-namespace', 'll-harden-plugins',
    ], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const end = Date.now() + timeoutMs;
    while (!(await ping(this.socketPath))) {
      if (this.child.exitCode !== null) throw new Error(`dockerd exited with ${this.child.exitCode}; see ${this.root}`);
      if (Date.now() > end) throw new Error(`dockerd did not answer within ${timeoutMs} ms; see ${this.root}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  /**
   * A SIGKILLed dockerd leaves its managed containerd behind, still exiting or a zombie not reaped yet. The next dockerd
   * sees that pid alive, waits for the old socket and gives up ("timeout waiting for containerd to start"), as seen in
   * CI. End that containerd and drop its pid file, as a service manager restarting dockerd would.
   */
  private async clearStaleContainerd(): Promise<void> {
    const pidFile = path.join(this.root, 'exec', 'containerd', 'containerd.pid');
    if (!fs.existsSync(pidFile)) return;
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid) && !isZombie(pid) && cmdline(pid).includes(this.root)) {
      process.kill(pid, 'SIGKILL');
      const end = Date.now() + 10_000;
      while (processAlive(pid) && !isZombie(pid) && Date.now() < end) await new Promise((res) => setTimeout(res, 50));
    }
    fs.rmSync(pidFile, { force: true });
  }

  /** SIGKILL: no clean shutdown, sockets cut mid-response. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM, then the containerd it started is gone too. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
    // After a SIGKILL the managed containerd outlives dockerd until the next dockerd reaps it: end it by its pid.
    const pidFile = path.join(this.root, 'exec', 'containerd', 'containerd.pid');
    const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : NaN;
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid) && cmdline(pid).includes(this.root)) process.kill(pid, 'SIGTERM');
    // dockerd bind-mounts its data root; a SIGKILLed one leaves that mount behind. Only mounts below our root.
    for (let round = 0; round < 5; round++) {
      const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(this.root + '/'));
      if (mounts.length === 0) break;
      for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', [m]);
    }
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((res) => c.once('exit', () => res()));
    c.kill(sig);
    await exited;
    this.child = null;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** State `Z` in /proc/PID/stat: exited, waiting to be reaped (kill(pid, 0) still succeeds). */
function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Processes whose command line names `marker` (a test's own temp folder): what a leak would leave running. */
export function processesMentioning(marker: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    if (cmdline(Number(d)).includes(marker)) out.push(Number(d));
  }
  return out;
}

/**
 * Copies image `ref` from the shared daemon into `socketPath`'s (`docker save | docker load`, argument arrays, no
 * shell): our own dockerd starts empty and must not pull.
 */
export function copyImage(ref: string, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const save = spawn('docker', ['save', ref], { stdio: ['ignore', 'pipe', 'pipe'] });
    const load = spawn('docker', ['-H', `unix://${socketPath}`, 'load', '-q'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    save.stderr.on('data', (c: Buffer) => (err += c.toString()));
    load.stderr.on('data', (c: Buffer) => (err += c.toString()));
    save.stdout.pipe(load.stdin);
    let saved: number | null = null;
    save.on('close', (code) => (saved = code));
    load.on('close', (code) => (code === 0 && saved === 0 ? resolve() : reject(new Error(`docker save | load of ${ref} failed (${saved}, ${code}): ${err}`))));
  });
}

export type ProxyMode = { kind: 'pass' } | { kind: 'delay'; ms: number } | { kind: 'stall' };

/** A unix-socket proxy to `target`; `mode` applies to bytes coming back from the daemon, read per chunk. */
export class FaultProxy {
  mode: ProxyMode = { kind: 'pass' };
  connections = 0;
  /** Bytes passed from the daemon back to clients. */
  bytesBack = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly server: net.Server;

  constructor(readonly socketPath: string, readonly target: string) {
    this.server = net.createServer((client) => {
      this.connections++;
      const upstream = net.connect(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.on('data', (c) => upstream.write(c));
      upstream.on('data', (c) => {
        const m = this.mode;
        if (m.kind === 'stall') return;
        if (m.kind === 'delay') {
          upstream.pause();
          setTimeout(() => {
            if (!client.destroyed) {
              this.bytesBack += c.length;
              client.write(c);
            }
            upstream.resume();
          }, m.ms);
        } else {
          this.bytesBack += c.length;
          client.write(c);
        }
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((res, rej) => {
      this.server.once('error', rej);
      this.server.listen(this.socketPath, () => res());
    });
    return this;
  }

  /** Cuts every open connection (the daemon "goes away" for its clients); new ones are still accepted. */
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}
