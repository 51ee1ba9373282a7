// Shared helpers for the docker/ tests (no tests here; named *.test.ts to stay within the docker test files).
// Hand-written tar archives (no dependency): ustar/GNU/v7 headers, PAX records, base-256.

import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type * as net from 'net';
import * as os from 'os';
import * as path from 'path';

export interface HeaderSpec {
  name: string;
  size?: number;
  typeflag?: string; // '0' default
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  format?: 'ustar' | 'gnu' | 'v7';
  prefix?: string;
  /** Encode size as GNU base-256. */
  base256Size?: boolean;
  uname?: string;
}

function octal(buf: Buffer, off: number, len: number, v: number): void {
  buf.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

export function header(h: HeaderSpec): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.name, 0, 100, 'utf8');
  octal(b, 100, 8, h.mode ?? 0o644);
  octal(b, 108, 8, h.uid ?? 0);
  octal(b, 116, 8, h.gid ?? 0);
  const size = h.size ?? 0;
  if (h.base256Size) {
    b[124] = 0x80;
    let v = size;
    for (let i = 135; i > 124; i--) { b[i] = v % 256; v = Math.floor(v / 256); }
  } else {
    octal(b, 124, 12, size);
  }
  octal(b, 136, 12, h.mtime ?? 0);
  b.write(h.typeflag ?? '0', 156, 1, 'latin1');
  if (h.linkname) b.write(h.linkname, 157, 100, 'utf8');
  const format = h.format ?? 'ustar';
  if (format === 'ustar') {
    b.write('ustar\0', 257, 6, 'latin1');
    b.write('00', 263, 2, 'latin1');
  } else if (format === 'gnu') {
    b.write('ustar ', 257, 6, 'latin1');
    b.write(' \0', 263, 2, 'latin1');
  }
  if (format !== 'v7') {
    if (h.uname) b.write(h.uname, 265, 32, 'utf8');
  }
  if (h.prefix && format === 'ustar') b.write(h.prefix, 345, 155, 'utf8');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return b;
}

export function pad(body: Buffer): Buffer {
  const r = body.length % 512;
  return r === 0 ? body : Buffer.concat([body, Buffer.alloc(512 - r)]);
}

export function entry(h: HeaderSpec, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const data = typeof body === 'string' ? Buffer.from(body) : body;
  return Buffer.concat([header({ ...h, size: h.size ?? data.length }), pad(data)]);
}

export function paxRecords(records: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(rest) + 1;
    while (String(len).length + Buffer.byteLength(rest) !== len) len++;
    parts.push(Buffer.from(`${len}${rest}`));
  }
  return Buffer.concat(parts);
}

export function paxEntry(records: Record<string, string>, global = false): Buffer {
  const body = paxRecords(records);
  return entry({ name: global ? 'pax_global_header' : 'PaxHeaders/x', typeflag: global ? 'g' : 'x' }, body);
}

export function gnuLong(kind: 'L' | 'K', value: string): Buffer {
  return entry({ name: '././@LongLink', typeflag: kind, format: 'gnu' }, Buffer.from(value + '\0'));
}

export const END = Buffer.alloc(1024);

export function tar(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, END]);
}

/** Splits a buffer into chunks of `size` bytes (streaming tests). */
export function chunks(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

// ---- docker save archives ---------------------------------------------------------------------------------------


export function sha256hex(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

export function layerTar(files: Record<string, string | Buffer>): Buffer {
  return tar(...Object.entries(files).map(([n, b]) => entry({ name: n, ...(n.endsWith('/') ? { typeflag: '5', mode: 0o755 } : {}) }, b)));
}

/** A legacy-format `docker save` archive for the given layer tars; returns it with the diff IDs. */
export function saveArchive(layers: Buffer[]): { archive: Buffer; diffIds: string[] } {
  const diffIds = layers.map((l) => `sha256:${sha256hex(l)}`);
  const config = Buffer.from(JSON.stringify({ rootfs: { type: 'layers', diff_ids: diffIds } }));
  const cfgName = `${sha256hex(config)}.json`;
  const dirs = layers.map((_, i) => sha256hex(`layer${i}`));
  const manifest = Buffer.from(JSON.stringify([{ Config: cfgName, RepoTags: null, Layers: dirs.map((d) => `${d}/layer.tar`) }]));
  const parts: Buffer[] = [];
  const order = dirs.map((d, i) => ({ d, i })).sort((a, b) => (a.d < b.d ? -1 : 1));
  for (const { d, i } of order) {
    parts.push(entry({ name: `${d}/`, typeflag: '5' }), entry({ name: `${d}/VERSION` }, '1.0'), entry({ name: `${d}/layer.tar` }, layers[i]!));
  }
  parts.push(entry({ name: cfgName }, config), entry({ name: 'manifest.json' }, manifest));
  return { archive: tar(...parts), diffIds };
}

// ---- a fake Docker daemon on a unix socket ------------------------------------------------------------------------


export type FakeHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void;

export class FakeDaemon {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-fake-'));
  readonly socketPath = path.join(this.dir, 'docker.sock');
  /** 'GET /images/json?all=1' for every request received. */
  readonly requests: string[] = [];
  private readonly routes = new Map<string, FakeHandler>();
  private readonly sockets = new Set<net.Socket>();
  private readonly server = http.createServer((req, res) => this.handle(req, res));

  constructor() {
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.json('GET /_ping', 'OK', false);
    this.json('GET /version', { Version: '99.0-fake', ApiVersion: '1.41', Os: 'linux', Arch: 'amd64' });
  }

  /** Routes by 'METHOD /path' (no query); later registrations replace earlier ones. */
  on(route: string, h: FakeHandler): this {
    this.routes.set(route, h);
    return this;
  }

  json(route: string, body: unknown, asJson = true, status = 200): this {
    return this.on(route, (_req, res) => {
      res.writeHead(status, { 'Content-Type': asJson ? 'application/json' : 'text/plain' });
      res.end(asJson ? JSON.stringify(body) : String(body));
    });
  }

  raw(route: string, text: string, status = 200): this {
    return this.on(route, (_req, res) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(text);
    });
  }

  count(prefix: string): number {
    return this.requests.filter((r) => r.startsWith(prefix)).length;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socketPath, () => resolve());
    });
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    this.requests.push(`${req.method} ${decodeURIComponent(url.pathname)}${url.search}`);
    const h = this.routes.get(`${req.method} ${decodeURIComponent(url.pathname)}`);
    if (!h) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: `page not found: ${url.pathname}` }));
      return;
    }
    h(req, res, url);
  }
}

/** Resolves when `cond()` is true; rejects after `ms` with `what`. Polls on a short timer (no fixed sleeps). */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
