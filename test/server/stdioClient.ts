// A plain JSON-RPC client over a child process's stdio — what Neovim, Helix or Emacs do: `Content-Length` framing,
// requests matched by id, notifications recorded. No LSP library on this side, so the server's stdio transport
// is tested as any editor sees it. Also used by bench/lspBench.ts.

import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';

export interface Message {
  readonly jsonrpc: '2.0';
  readonly id?: number | string | null;
  readonly method?: string;
  readonly params?: unknown;
  readonly result?: unknown;
  readonly error?: { code: number; message: string };
}

export class StdioClient {
  readonly child: ChildProcessWithoutNullStreams;
  readonly received: Message[] = [];
  stderr = '';
  /** Bytes on stdout that were not a well-framed message (must stay empty: stdout is the transport). */
  garbage = '';
  private buf = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: Message) => void }>();
  private readonly waiters = new Set<{ pred: (m: Message) => boolean; resolve: (m: Message) => void }>();
  readonly exited: Promise<number | null>;
  /** Answers for server → client requests (e.g. `workspace/configuration`), by method. */
  readonly handlers = new Map<string, (params: unknown) => unknown>();

  constructor(command: string, args: readonly string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(command, [...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => this.onData(d));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const headerEnd = this.buf.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const header = this.buf.subarray(0, headerEnd).toString('ascii');
      const m = /^Content-Length: (\d+)$/im.exec(header);
      if (!m) {
        this.garbage += header;
        this.buf = this.buf.subarray(headerEnd + 4);
        continue;
      }
      const len = Number(m[1]);
      if (this.buf.length < headerEnd + 4 + len) return;
      const body = this.buf.subarray(headerEnd + 4, headerEnd + 4 + len).toString('utf8');
      this.buf = this.buf.subarray(headerEnd + 4 + len);
      this.dispatch(JSON.parse(body) as Message);
    }
  }

  private dispatch(msg: Message): void {
    if (msg.method !== undefined && msg.id !== undefined && msg.id !== null) {
      // A request from the server: answer it (null unless a handler says otherwise).
      const h = this.handlers.get(msg.method);
      this.write({ jsonrpc: '2.0', id: msg.id, result: h ? h(msg.params) : null });
      this.received.push(msg);
    } else if (msg.method === undefined && typeof msg.id === 'number') {
      this.pending.get(msg.id)?.resolve(msg);
      this.pending.delete(msg.id);
      return;
    } else {
      this.received.push(msg);
    }
    for (const w of [...this.waiters]) {
      if (w.pred(msg)) {
        this.waiters.delete(w);
        w.resolve(msg);
      }
    }
  }

  private write(msg: Message): void {
    const body = Buffer.from(JSON.stringify(msg), 'utf8');
    this.child.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
    this.child.stdin.write(body);
  }

  request<T>(method: string, params?: unknown, timeoutMs = 30_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`)), timeoutMs);
      this.pending.set(id, {
        resolve: (m) => {
          clearTimeout(timer);
          if (m.error) reject(new Error(`${method}: ${m.error.message}`));
          else resolve(m.result as T);
        },
      });
      this.write({ jsonrpc: '2.0', id, method, ...(params !== undefined ? { params } : {}) });
    });
  }

  notify(method: string, params?: unknown): void {
    this.write({ jsonrpc: '2.0', method, ...(params !== undefined ? { params } : {}) });
  }

  /** The first message from the server (notification or request) matching `pred`, seen before or after this call. */
  waitFor(pred: (m: Message) => boolean, timeoutMs = 30_000, from = 0): Promise<Message> {
    const hit = this.received.slice(from).find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise<Message>((resolve, reject) => {
      const w = { pred, resolve: (m: Message): void => { clearTimeout(timer); resolve(m); } };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`no matching message within ${timeoutMs} ms; got: ${this.received.map((m) => m.method).join(', ')}; stderr: ${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
