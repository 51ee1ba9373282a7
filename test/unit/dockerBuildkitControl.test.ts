import * as assert from 'assert';
import * as fs from 'fs';
import * as http from 'http';
import * as http2 from 'http2';
import type { Socket } from 'net';
import * as os from 'os';
import * as path from 'path';
import { ControlApiUnavailable, decodeDiskUsage, DISK_USAGE_METHOD } from '../../server/src/docker/buildkitControl';
import { resolveConnection } from '../../server/src/docker/connection';
import { closeAllConnections, DaemonClient } from '../../server/src/docker/daemonClient';

// A protobuf writer for the few wire types DiskUsageResponse uses.
function varint(n: bigint): Buffer {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? b | 0x80 : b);
  } while (v > 0n);
  return Buffer.from(out);
}
const num = (field: number, n: number | bigint): Buffer => Buffer.concat([varint(BigInt(field << 3)), varint(BigInt(n))]);
const bytes = (field: number, b: Buffer | string): Buffer => {
  const body = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  return Buffer.concat([varint(BigInt((field << 3) | 2)), varint(BigInt(body.length)), body]);
};
const ts = (seconds: number, nanos: number): Buffer => Buffer.concat([num(1, seconds), num(2, nanos)]);
const frame = (msg: Buffer): Buffer => {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(msg.length, 1);
  return Buffer.concat([prefix, msg]);
};

const RESPONSE = frame(Buffer.concat([
  bytes(1, Buffer.concat([
    bytes(1, 'rec1aaaaaaaaaaaaaaaaaaaaa'), num(2, 1), num(4, 499_994_234), bytes(5, 'parentaaaaaaaaaaaaaaaaaaa'),
    bytes(6, ts(1_795_794_986, 925_613_651)), bytes(7, ts(1_795_795_352, 305_473_675)), num(8, 9),
    bytes(9, 'fileop target'), bytes(10, 'regular'), num(11, 1),
  ])),
  // No parent, no LastUsedAt, Parents (newer BuildKit) instead of Parent, a field this client does not know (99).
  bytes(1, Buffer.concat([
    bytes(1, 'rec2bbbbbbbbbbbbbbbbbbbbb'), num(3, 1), num(4, 4), bytes(6, ts(1_795_794_000, 0)),
    bytes(9, 'mount / from exec /bin/sh -c echo'), bytes(10, 'regular'), bytes(12, 'rec1aaaaaaaaaaaaaaaaaaaaa'), num(99, 7),
  ])),
]));

const EXPECTED = [
  {
    id: 'rec1aaaaaaaaaaaaaaaaaaaaa', parent: 'parentaaaaaaaaaaaaaaaaaaa', type: 'regular', description: 'fileop target',
    inUse: false, shared: true, size: 499_994_234, createdAt: '2026-11-27T15:56:26.925613651Z',
    lastUsedAt: '2026-11-27T16:02:32.305473675Z', usageCount: 9,
  },
  {
    id: 'rec2bbbbbbbbbbbbbbbbbbbbb', parent: 'rec1aaaaaaaaaaaaaaaaaaaaa', type: 'regular', description: 'mount / from exec /bin/sh -c echo',
    inUse: true, shared: false, size: 4, createdAt: '2026-11-27T15:40:00.000000000Z', lastUsedAt: null, usageCount: 0,
  },
];

describe('docker/buildkitControl: DiskUsage over the daemon\'s /grpc endpoint', () => {
  it('decodes records into the same shape /system/df gives', () => {
    assert.deepStrictEqual(decodeDiskUsage(RESPONSE), EXPECTED);
  });

  it('rejects what is not one uncompressed DiskUsageResponse', () => {
    const compressed = Buffer.from(RESPONSE);
    compressed[0] = 1;
    const bad: Array<[string, Buffer]> = [
      ['empty', Buffer.alloc(0)],
      ['compressed', compressed],
      ['length mismatch', RESPONSE.subarray(0, RESPONSE.length - 1)],
      ['truncated varint', frame(Buffer.from([0x08, 0x80]))],
      ['overrunning field', frame(Buffer.from([0x0a, 0x10, 0x00]))],
    ];
    for (const [what, body] of bad) assert.throws(() => decodeDiskUsage(body), ControlApiUnavailable, what);
  });

  describe('DaemonClient.buildCache() on an API 1.41 daemon', () => {
    let dir: string;
    let server: http.Server;
    let requests: string[];
    let grpc: 'serve' | 'refuse';
    const sockets = new Set<Socket>();

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-grpc-'));
      requests = [];
      grpc = 'serve';
      server = http.createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`);
        res.setHeader('Content-Type', 'application/json');
        if (req.url === '/_ping') res.end('OK');
        else if (req.url === '/version') res.end(JSON.stringify({ Version: '20.10.24-fake', ApiVersion: '1.41' }));
        else if (req.url?.startsWith('/system/df')) res.end(JSON.stringify({ BuildCache: [{ ID: 'fromdfaaaaaaaaaaaaaaaaaaa', Type: 'regular' }] }));
        else if (req.url === '/grpc') { res.statusCode = 404; res.end('{"message":"page not found"}'); }
        else { res.statusCode = 404; res.end('{}'); }
      });
      server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
      // dockerd's /grpc: 101 Switching Protocols, then HTTP/2 with prior knowledge on the same socket.
      server.on('upgrade', (req: http.IncomingMessage, socket: Socket) => {
        requests.push(`${req.method} ${req.url} upgrade ${req.headers.upgrade}`);
        if (grpc === 'refuse' || req.url !== '/grpc') { socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'); return; }
        socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
        const h2 = http2.createServer();
        h2.on('stream', (stream, headers) => {
          requests.push(`h2 ${headers[':path']}`);
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(headers[':path'] === DISK_USAGE_METHOD ? RESPONSE : Buffer.alloc(0));
        });
        h2.emit('connection', socket);
      });
      await new Promise<void>((resolve) => server.listen(path.join(dir, 'docker.sock'), resolve));
    });

    afterEach(async () => {
      closeAllConnections();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const client = (): DaemonClient =>
      new DaemonClient(resolveConnection({ env: {}, homeDir: '/nonexistent', readFile: () => null, hostSetting: `unix://${path.join(dir, 'docker.sock')}` }), { timeoutMs: 2000, cacheDir: null });

    it('asks BuildKit\'s control API, not /system/df (which would size every image too)', async () => {
      const c = client();
      assert.strictEqual((await c.info()).apiVersion, '1.41');
      assert.deepStrictEqual(await c.buildCache(), EXPECTED);
      assert.ok(requests.includes(`h2 ${DISK_USAGE_METHOD}`), requests.join(', '));
      assert.ok(!requests.some((r) => r.startsWith('GET /system/df')), requests.join(', '));
    });

    it('falls back to /system/df when /grpc is not offered, and does not try it again', async () => {
      grpc = 'refuse';
      const c = client();
      await c.info();
      assert.deepStrictEqual((await c.buildCache()).map((r) => r.id), ['fromdfaaaaaaaaaaaaaaaaaaa']);
      assert.deepStrictEqual((await c.buildCache()).map((r) => r.id), ['fromdfaaaaaaaaaaaaaaaaaaa']);
      assert.strictEqual(requests.filter((r) => r.startsWith('POST /grpc')).length, 1, requests.join(', '));
      assert.strictEqual(requests.filter((r) => r.startsWith('GET /system/df')).length, 2, requests.join(', '));
    });

    it('uses /system/df before the API version is known', async () => {
      assert.deepStrictEqual((await client().buildCache()).map((r) => r.id), ['fromdfaaaaaaaaaaaaaaaaaaa']);
      assert.ok(!requests.some((r) => r.startsWith('POST /grpc')));
    });
  });
});
