// A BuildKit session, the way the docker CLI opens one for `docker build` with BuildKit: `POST /session` upgraded to
// h2c, after which the daemon is the gRPC client and we serve it. We offer two services:
//   - moby.filesync.v1.FileSync/DiffCopy: the build context and the Dockerfile's folder, sent with fsutil's
//     protocol (a STAT packet per entry, an empty STAT to end the listing, then the files the receiver asks for
//     by ID as DATA packets, each ended by an empty DATA; FIN both ways to finish);
//   - grpc.health.v1.Health/Check: the daemon probes the session every second and drops it after 10 s of silence.
//
// Why not upload a tar like the classic builder: BuildKit keys `COPY . <dest>` on a checksum of the context root,
// and the root of an uploaded tar gets a header of its own (it is unpacked into a snapshot) where a synced
// directory's root has the empty one — so a tar-built `COPY .` never shares the cache of a terminal build. A session
// sends what the CLI sends, and both share one cache.
//
// gRPC is spoken by hand over Node's http2 server (five-byte message prefix, trailers for the status): two methods,
// protobuf messages of a few fields; no generated code, and nothing loaded until a build opens a session.

import { randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import type { Http2Server, ServerHttp2Stream, IncomingHttpHeaders } from 'http2';
import type { Duplex } from 'stream';
import { FileSyncWalkError, fileSyncWalk, GoMode, type FileSyncWalkOptions, type SyncStat } from '../context/fileSyncWalk';
import { fields } from './buildkitControl';

export const DIFF_COPY_METHOD = '/moby.filesync.v1.FileSync/DiffCopy';
export const HEALTH_CHECK_METHOD = '/grpc.health.v1.Health/Check';

const PACKET_STAT = 0;
const PACKET_REQ = 1;
const PACKET_DATA = 2;
const PACKET_FIN = 3;
const PACKET_ERR = 4;
/** fsutil's copy buffer: one DATA packet per 32 KiB read. */
const CHUNK = 32 * 1024;
/** Go's os.ModeType: entries of these types carry no data. */
const MODE_TYPE = GoMode.dir | GoMode.symlink | GoMode.namedPipe | GoMode.socket | GoMode.device | GoMode.charDevice | 0x80000;

const GRPC_OK = '0';
const GRPC_UNKNOWN = '2';
const GRPC_NOT_FOUND = '5';
const GRPC_UNIMPLEMENTED = '12';

/** A folder the daemon may ask for by name ("context", "dockerfile"). */
export interface SyncedDir {
  readonly name: string;
  readonly dir: string;
  /** Rewrites records before they are sent (the CLI zeroes uid/gid of the context). */
  readonly map?: (stat: SyncStat) => boolean;
}

export interface BuildSessionOptions {
  readonly dirs: readonly SyncedDir[];
  /** Lets BuildKit reuse what it received for this folder last time (the CLI hashes the context path). */
  readonly sharedKey: string;
  /** Shown by the daemon; the CLI uses the context folder's name. */
  readonly name: string;
  /** Bytes of file content sent so far. */
  readonly onBytes?: (total: number) => void;
}

/** The request headers that announce a session to the daemon. */
export function sessionHeaders(id: string, opts: Pick<BuildSessionOptions, 'name' | 'sharedKey'>): Record<string, string | string[]> {
  return {
    Upgrade: 'h2c',
    'X-Docker-Expose-Session-Uuid': id,
    'X-Docker-Expose-Session-Name': opts.name,
    'X-Docker-Expose-Session-Sharedkey': opts.sharedKey,
    'X-Docker-Expose-Session-Grpc-Method': [DIFF_COPY_METHOD, HEALTH_CHECK_METHOD],
  };
}

export function newSessionId(): string {
  return randomBytes(16).toString('hex');
}

// ---------------------------------------------------------------------------------------------------------------
// protobuf (fsutil types.Packet and types.Stat)

function varint(n: bigint | number): Buffer {
  if (typeof n === 'number' && n >= 0 && n <= 0xffffffff) {
    // The common case (modes, sizes, IDs) without BigInt arithmetic: a 20,000-entry context encodes 200,000 varints.
    const out: number[] = [];
    let v = n;
    while (v >= 0x80) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return Buffer.from(out);
  }
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

function varintField(field: number, v: bigint | number): Buffer[] {
  return v === 0 || v === 0n ? [] : [varint(field << 3), varint(v)];
}

/** A length-delimited field; empty strings and bytes are left out (proto3 defaults), messages never are. */
function bytesField(field: number, b: Buffer, always = false): Buffer[] {
  return b.length === 0 && !always ? [] : [varint((field << 3) | 2), varint(b.length), b];
}

export function encodeStat(s: SyncStat): Buffer {
  return Buffer.concat([
    ...bytesField(1, Buffer.from(s.path, 'utf8')),
    ...varintField(2, s.mode),
    ...varintField(3, s.uid),
    ...varintField(4, s.gid),
    ...varintField(5, s.size),
    ...varintField(6, s.modTimeNs),
    ...bytesField(7, Buffer.from(s.linkname, 'utf8')),
    ...varintField(8, s.devmajor),
    ...varintField(9, s.devminor),
  ]);
}

export function encodePacket(type: number, opts: { stat?: SyncStat; id?: number; data?: Buffer } = {}): Buffer {
  return Buffer.concat([
    ...varintField(1, type),
    ...(opts.stat ? bytesField(2, encodeStat(opts.stat), true) : []),
    ...varintField(3, opts.id ?? 0),
    ...bytesField(4, opts.data ?? Buffer.alloc(0)),
  ]);
}

export interface Packet {
  readonly type: number;
  readonly id: number;
  readonly data: Buffer;
}

export function decodePacket(buf: Buffer): Packet {
  let type = 0;
  let id = 0;
  let data: Buffer = Buffer.alloc(0);
  for (const [field, value] of fields(buf, 'fsutil packet')) {
    if (field === 1 && typeof value === 'bigint') type = Number(value);
    else if (field === 3 && typeof value === 'bigint') id = Number(value);
    else if (field === 4 && Buffer.isBuffer(value)) data = value;
  }
  return { type, id, data };
}

/** gRPC length-prefixed message. */
function frame(msg: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

/** Splits a gRPC request body into messages as chunks arrive. */
class MessageReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + len) break;
      if (this.buf[0] !== 0) throw new Error('compressed gRPC messages are not supported');
      out.push(this.buf.subarray(5, 5 + len));
      this.buf = this.buf.subarray(5 + len);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// the session

/** Metadata values as sent (gRPC repeats a header for each value of a key). */
function metadata(raw: readonly string[] | undefined, headers: IncomingHttpHeaders, key: string): string[] {
  if (raw && raw.length > 0) {
    const out: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === key) out.push(raw[i + 1]!);
    return out;
  }
  const v = headers[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export class BuildSession {
  private readonly server: Http2Server;
  private bytes = 0;
  private closed = false;
  /** Why a transfer failed (reported with the build's own error). */
  transferError: string | null = null;

  /** Serves the session on `socket`, the connection `POST /session` upgraded. */
  constructor(private readonly socket: Duplex, readonly id: string, private readonly opts: BuildSessionOptions) {
    // Loaded here: only a BuildKit build needs HTTP/2 server code.
    const http2 = require('http2') as typeof import('http2');
    this.server = http2.createServer();
    this.server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders?: string[]) => {
      this.onStream(stream, headers, rawHeaders).catch(() => stream.destroy());
    });
    this.server.on('sessionError', () => this.close());
    socket.on('error', () => this.close());
    this.server.emit('connection', socket);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    this.socket.destroy();
  }

  private async onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: readonly string[] | undefined): Promise<void> {
    stream.on('error', () => undefined); // a reset stream is the daemon's decision; the build reports it
    const method = String(headers[':path'] ?? '');
    if (method === HEALTH_CHECK_METHOD) {
      stream.resume();
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': GRPC_OK }));
      stream.end(frame(Buffer.from([0x08, 0x01]))); // HealthCheckResponse { status: SERVING }
      return;
    }
    if (method !== DIFF_COPY_METHOD) {
      stream.resume();
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': GRPC_UNIMPLEMENTED, 'grpc-message': encodeURIComponent(`${method} is not offered`) }, { endStream: true });
      return;
    }
    const dirName = metadata(rawHeaders, headers, 'dir-name')[0] ?? '';
    const dir = this.opts.dirs.find((d) => d.name === dirName);
    if (!dir) {
      stream.resume();
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': GRPC_NOT_FOUND, 'grpc-message': encodeURIComponent(`no access allowed to dir "${dirName}"`) }, { endStream: true });
      return;
    }
    const walk: FileSyncWalkOptions = {
      excludes: nullIfEmpty(metadata(rawHeaders, headers, 'exclude-patterns')),
      includes: nullIfEmpty(metadata(rawHeaders, headers, 'include-patterns')),
      followPaths: nullIfEmpty(metadata(rawHeaders, headers, 'followpaths')),
      ...(dir.map ? { map: dir.map } : {}),
    };
    await this.diffCopy(stream, dir, walk);
  }

  /** fsutil.Send over one DiffCopy stream. */
  private diffCopy(stream: ServerHttp2Stream, dir: SyncedDir, walkOpts: FileSyncWalkOptions): Promise<void> {
    return new Promise<void>((resolve) => {
      let status = GRPC_OK;
      let message = '';
      let ended = false;
      const files = new Map<number, string>();
      const queue: Array<{ id: number; abs: string }> = [];
      let sending = false;

      const end = (code: string, msg = ''): void => {
        if (ended) return;
        ended = true;
        status = code;
        message = msg;
        if (code !== GRPC_OK && this.transferError === null) this.transferError = msg;
        if (!stream.destroyed && !stream.writableEnded) stream.end();
        resolve();
      };
      // STAT packets are tens of bytes: they are gathered and written 64 KiB at a time (one write per packet costs
      // an HTTP/2 frame each — seconds for a large context). Anything else flushes what is gathered first.
      let gathered: Buffer[] = [];
      let gatheredBytes = 0;
      const flushGathered = async (): Promise<void> => {
        if (gathered.length === 0) return;
        const chunk = Buffer.concat(gathered, gatheredBytes);
        gathered = [];
        gatheredBytes = 0;
        await writeRaw(chunk);
      };
      const gather = async (packet: Buffer): Promise<void> => {
        const f = frame(packet);
        gathered.push(f);
        gatheredBytes += f.length;
        if (gatheredBytes >= 64 * 1024) await flushGathered();
      };
      const write = async (packet: Buffer): Promise<void> => {
        await flushGathered();
        await writeRaw(frame(packet));
      };
      const writeRaw = async (bytes: Buffer): Promise<void> => {
        if (ended || stream.destroyed) throw new Error('stream closed');
        if (!stream.write(bytes)) {
          await new Promise<void>((ok, fail) => {
            const done = (): void => { stream.off('drain', done); stream.off('close', closed); ok(); };
            const closed = (): void => { stream.off('drain', done); fail(new Error('stream closed')); };
            stream.on('drain', done);
            stream.once('close', closed);
          });
        }
      };
      const fail = (msg: string): void => {
        void write(encodePacket(PACKET_ERR, { data: Buffer.from(msg, 'utf8') })).catch(() => undefined).finally(() => end(GRPC_UNKNOWN, msg));
      };
      const sendFiles = async (): Promise<void> => {
        if (sending) return;
        sending = true;
        try {
          while (queue.length > 0 && !ended) {
            const { id, abs } = queue.shift()!;
            // Like fsutil: a file that cannot be opened any more is sent empty (the walk already listed it).
            const fh = await fsp.open(abs, 'r').catch(() => null);
            if (fh) {
              try {
                const buf = Buffer.allocUnsafe(CHUNK);
                for (;;) {
                  const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
                  if (bytesRead === 0) break;
                  await write(encodePacket(PACKET_DATA, { id, data: Buffer.from(buf.subarray(0, bytesRead)) }));
                  this.bytes += bytesRead;
                  this.opts.onBytes?.(this.bytes);
                }
              } finally {
                await fh.close();
              }
            }
            await write(encodePacket(PACKET_DATA, { id }));
          }
        } catch (e) {
          if (!ended) fail(`sending ${dir.name} failed: ${(e as Error).message}`);
        } finally {
          sending = false;
        }
      };

      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => {
        const t: Record<string, string> = { 'grpc-status': status };
        if (message) t['grpc-message'] = encodeURIComponent(message);
        stream.sendTrailers(t);
      });
      stream.on('close', () => end(ended ? status : GRPC_UNKNOWN, ended ? message : 'the daemon closed the transfer'));

      const reader = new MessageReader();
      stream.on('data', (chunk: Buffer) => {
        let msgs: Buffer[];
        try {
          msgs = reader.push(chunk);
        } catch (e) {
          fail((e as Error).message);
          return;
        }
        for (const m of msgs) {
          let p: Packet;
          try {
            p = decodePacket(m);
          } catch (e) {
            fail(`unreadable packet from the daemon: ${(e as Error).message}`);
            return;
          }
          if (p.type === PACKET_REQ) {
            const abs = files.get(p.id);
            if (abs === undefined) {
              fail(`invalid file id ${p.id}`);
              return;
            }
            files.delete(p.id);
            queue.push({ id: p.id, abs });
            void sendFiles();
          } else if (p.type === PACKET_FIN) {
            // Everything asked for was received: answer FIN and finish the call.
            void write(encodePacket(PACKET_FIN)).then(() => end(GRPC_OK), () => end(GRPC_OK));
          } else if (p.type === PACKET_ERR) {
            end(GRPC_UNKNOWN, `error from receiver: ${p.data.toString('utf8')}`);
          }
        }
      });

      void (async () => {
        let id = 0;
        try {
          for await (const st of fileSyncWalk(dir.dir, walkOpts)) {
            if (ended) return;
            if ((st.mode & MODE_TYPE) === 0) files.set(id, st.abs);
            id++;
            await gather(encodePacket(PACKET_STAT, { stat: st }));
          }
          await write(encodePacket(PACKET_STAT)); // the empty STAT: end of the listing
        } catch (e) {
          if (ended) return;
          fail(e instanceof FileSyncWalkError ? e.message : `walking ${dir.dir} failed: ${(e as Error).message}`);
        }
      })();
    });
  }
}

function nullIfEmpty(v: string[]): string[] | null {
  return v.length === 0 ? null : v;
}
