// BuildKit's build-cache records straight from BuildKit's control API (moby.buildkit.v1.Control/DiskUsage), reached
// through the daemon's `POST /grpc` endpoint upgraded to h2c, the way buildx's "docker" driver talks to the BuildKit
// embedded in dockerd. Why: before API 1.42 (Docker < 23) `GET /system/df` ignores `type=build-cache` and also sizes
// every image, container and volume — seconds on a daemon holding a thousand images — while the control API
// returns exactly the records dockerd turns into /system/df's BuildCache list (moby builder-next DiskUsage), and
// nothing else. Callers fall back to /system/df whenever this path fails for a reason other than time.
//
// The wire format is small enough to read by hand: one gRPC message (5-byte prefix: compressed flag, length) holding
// a DiskUsageResponse { repeated UsageRecord record = 1 } (buildkit api/services/control/control.proto).

import * as http from 'http';
import type { ClientHttp2Session } from 'http2';
import type { Socket } from 'net';
import type { BuildCacheRecord } from './types';
import { parseBuildCache } from './validate';

export const DISK_USAGE_METHOD = '/moby.buildkit.v1.Control/DiskUsage';
const MAX_RESPONSE = 64 * 1024 * 1024;

/** The daemon does not offer this path (no /grpc, no upgrade, not BuildKit's API): use /system/df instead. */
export class ControlApiUnavailable extends Error {
  override readonly name = 'ControlApiUnavailable';
}

/** Protobuf reader over one message: fields by number, as raw varints (bigint) or length-delimited bytes. */
export function fields(buf: Buffer, what: string): Array<[number, bigint | Buffer]> {
  const out: Array<[number, bigint | Buffer]> = [];
  let p = 0;
  const varint = (): bigint => {
    let r = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (p >= buf.length) throw new ControlApiUnavailable(`${what}: truncated varint`);
      const b = buf[p++]!;
      r |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return r;
    }
    throw new ControlApiUnavailable(`${what}: varint too long`);
  };
  while (p < buf.length) {
    const tag = Number(varint());
    const field = tag >>> 3;
    switch (tag & 7) {
      case 0:
        out.push([field, varint()]);
        break;
      case 1:
        p += 8; // fixed64: no field we read uses it
        break;
      case 2: {
        const len = Number(varint());
        if (p + len > buf.length) throw new ControlApiUnavailable(`${what}: field ${field} overruns the message`);
        out.push([field, buf.subarray(p, p + len)]);
        p += len;
        break;
      }
      case 5:
        p += 4;
        break;
      default:
        throw new ControlApiUnavailable(`${what}: unsupported wire type ${tag & 7}`);
    }
  }
  if (p !== buf.length) throw new ControlApiUnavailable(`${what}: truncated field`);
  return out;
}

/** google.protobuf.Timestamp → RFC 3339 with nanoseconds, as dockerd writes times. */
function timestamp(buf: Buffer, what: string): string {
  let seconds = 0n;
  let nanos = 0n;
  for (const [f, v] of fields(buf, what)) {
    if (typeof v !== 'bigint') continue;
    if (f === 1) seconds = BigInt.asIntN(64, v);
    else if (f === 2) nanos = BigInt.asIntN(32, v);
  }
  const iso = new Date(Number(seconds) * 1000).toISOString(); // …T16:04:15.000Z
  return `${iso.slice(0, 19)}.${String(nanos).padStart(9, '0')}Z`;
}

/**
 * gRPC response body (DiskUsage) → records, validated like /system/df's (the same parser, on the same JSON shape).
 * Throws ControlApiUnavailable when the body is not one uncompressed DiskUsageResponse.
 */
export function decodeDiskUsage(body: Buffer): BuildCacheRecord[] {
  if (body.length < 5) throw new ControlApiUnavailable(`DiskUsage: ${body.length}-byte response`);
  if (body[0] !== 0) throw new ControlApiUnavailable('DiskUsage: compressed response (not requested)');
  const len = body.readUInt32BE(1);
  if (5 + len !== body.length) throw new ControlApiUnavailable(`DiskUsage: ${body.length - 5} bytes after the prefix, ${len} announced`);
  const records: Array<Record<string, unknown>> = [];
  for (const [f, rec] of fields(body.subarray(5), 'DiskUsageResponse')) {
    if (f !== 1 || !Buffer.isBuffer(rec)) continue;
    const at = `UsageRecord[${records.length}]`;
    const r: Record<string, unknown> = {};
    const parents: string[] = [];
    for (const [n, v] of fields(rec, at)) {
      const text = (): string => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
      const num = (): number => (typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : NaN);
      switch (n) {
        case 1: r.ID = text(); break;
        case 3: r.InUse = v === 1n; break;
        case 4: r.Size = num(); break;
        case 5: r.Parent = text(); break;
        case 6: r.CreatedAt = Buffer.isBuffer(v) ? timestamp(v, `${at}.CreatedAt`) : undefined; break;
        case 7: r.LastUsedAt = Buffer.isBuffer(v) ? timestamp(v, `${at}.LastUsedAt`) : null; break;
        case 8: r.UsageCount = num(); break;
        case 9: r.Description = text(); break;
        case 10: r.Type = text(); break;
        case 11: r.Shared = v === 1n; break;
        case 12: parents.push(text()); break;
        default: break; // Mutable (2) and fields newer than we know
      }
    }
    if (parents.length > 0) r.Parents = parents;
    records.push(r);
  }
  return parseBuildCache({ BuildCache: records });
}

export interface PlainEndpoint {
  /** Unix socket path, or host + port of a plain-HTTP TCP daemon. */
  readonly socketPath?: string;
  readonly host?: string;
  readonly port?: number;
}

/**
 * Calls DiskUsage over a fresh connection (the upgrade takes the socket over, so never a pooled one). Resolves with
 * the raw gRPC body; rejects with ControlApiUnavailable when the daemon does not speak it, or with the transport's
 * error. `signal` aborts everything.
 */
export function diskUsageOverGrpc(endpoint: PlainEndpoint, signal: AbortSignal): Promise<Buffer> {
  // Loaded on first use: most processes (the language server between builds) never need HTTP/2.
  const http2 = require('http2') as typeof import('http2');
  return new Promise<Buffer>((resolve, reject) => {
    let socket: Socket | null = null;
    let session: ClientHttp2Session | null = null;
    let settled = false;
    const cleanup = (): void => {
      signal.removeEventListener('abort', onAbort);
      session?.destroy();
      socket?.destroy();
      req.destroy();
    };
    const finish = (err: unknown, body?: Buffer): void => {
      if (settled) return;
      settled = true;
      cleanup();
      if (err) reject(err);
      else resolve(body!);
    };
    const onAbort = (): void => finish(signal.reason ?? Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    const req = http.request({
      ...(endpoint.socketPath ? { socketPath: endpoint.socketPath } : { host: endpoint.host, port: endpoint.port }),
      method: 'POST',
      path: '/grpc',
      agent: false,
      headers: { Connection: 'Upgrade', Upgrade: 'h2c' },
    });
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) return onAbort();
    req.on('error', (e) => finish(e));
    req.on('response', (res) => {
      res.resume();
      finish(new ControlApiUnavailable(`POST /grpc answered HTTP ${res.statusCode} instead of switching protocols`));
    });
    req.on('upgrade', (_res, sock: Socket, head: Buffer) => {
      socket = sock;
      if (head.length > 0) sock.unshift(head);
      const s = http2.connect('http://docker', { createConnection: () => sock });
      session = s;
      s.on('error', (e) => finish(e));
      const stream = s.request({ ':method': 'POST', ':path': DISK_USAGE_METHOD, 'content-type': 'application/grpc', te: 'trailers' });
      const parts: Buffer[] = [];
      let size = 0;
      let status: string | undefined;
      let message = '';
      const grpcStatus = (h: Record<string, unknown>): void => {
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
        if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
      };
      stream.on('response', (h) => {
        const type = String(h['content-type'] ?? '');
        if (h[':status'] !== 200 || !type.startsWith('application/grpc')) {
          finish(new ControlApiUnavailable(`${DISK_USAGE_METHOD} answered HTTP/2 ${h[':status']} (${type || 'no content type'})`));
          return;
        }
        grpcStatus(h);
      });
      stream.on('trailers', (t) => grpcStatus(t));
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE) finish(new ControlApiUnavailable(`DiskUsage response larger than ${MAX_RESPONSE} bytes`));
        else parts.push(c);
      });
      stream.on('error', (e) => finish(e));
      stream.on('end', () => {
        if (status !== '0') finish(new ControlApiUnavailable(`${DISK_USAGE_METHOD} failed: gRPC status ${status ?? 'missing'}${message ? `: ${message}` : ''}`));
        else finish(null, Buffer.concat(parts, size));
      });
      stream.end(Buffer.from([0, 0, 0, 0, 0])); // DiskUsageRequest {}: no filter
    });
    req.end();
  });
}
