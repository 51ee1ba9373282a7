import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { resolveConnection } from '../../server/src/docker/connection';
import { closeAllConnections, DaemonClient, DaemonClientOptions, DaemonEvent, EventStreamStatus } from '../../server/src/docker/daemonClient';
import { DaemonError, DaemonErrorKind } from '../../server/src/docker/errors';
import { FakeDaemon, layerTar, saveArchive, sha256hex, until } from './dockerHelpers.test';

function clientFor(fake: FakeDaemon, opts: DaemonClientOptions = {}): DaemonClient {
  const conn = resolveConnection({ env: {}, homeDir: '/nonexistent', readFile: () => null, hostSetting: `unix://${fake.socketPath}` });
  return new DaemonClient(conn, { timeoutMs: 400, cacheDir: null, ...opts });
}

async function rejectsWith(p: Promise<unknown>, kind: DaemonErrorKind, message: RegExp): Promise<DaemonError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DaemonError, `expected a DaemonError, got ${String(e)}`);
    assert.strictEqual(e.kind, kind, e.message);
    assert.match(e.message, message);
    return e;
  }
  assert.fail('expected a rejection');
}

describe('docker/daemonClient against a fake daemon (unix socket)', () => {
  let fake: FakeDaemon;
  beforeEach(async () => { fake = await new FakeDaemon().start(); });
  afterEach(async () => {
    closeAllConnections();
    await fake.stop();
  });

  it('info(): version and API version of a healthy daemon', async () => {
    const info = await clientFor(fake).info();
    assert.deepStrictEqual(info, { reachable: true, host: `unix://${fake.socketPath}`, version: '99.0-fake', apiVersion: '1.41', error: null });
  });

  describe('(a) a slow daemon', () => {
    it('times out within the budget with a clear error, and aborts the request', async () => {
      let closed = 0;
      fake.on('GET /images/json', (req) => { req.on('close', () => closed++); /* never answers */ });
      const c = clientFor(fake, { timeoutMs: 300 });
      const t0 = Date.now();
      await rejectsWith(c.listImages({ all: true }), 'timeout',
        new RegExp(`^the daemon at unix://${fake.socketPath} did not answer GET /images/json\\?all=1 within 300 ms$`));
      const took = Date.now() - t0;
      assert.ok(took >= 290 && took < 800, `took ${took} ms`);
      await until(() => closed === 1, 2000, 'the server to see the request aborted');
    });

    it('info() never throws: a hanging ping becomes reachable:false within the budget', async () => {
      fake.on('GET /_ping', () => undefined).on('GET /version', () => undefined);
      const t0 = Date.now();
      const info = await clientFor(fake, { timeoutMs: 250 }).info();
      assert.ok(Date.now() - t0 < 800);
      assert.strictEqual(info.reachable, false);
      assert.match(info.error!, /did not answer GET \/(_ping|version) within 250 ms/);
    });

    it('a response that starts but stalls mid-body also times out', async () => {
      fake.on('GET /images/json', (_req, res) => { res.writeHead(200); res.write('[{"Id":'); });
      await rejectsWith(clientFor(fake, { timeoutMs: 300 }).listImages(), 'timeout', /within 300 ms/);
    });

    it('an export that stops sending data fails on the idle timeout', async () => {
      const { archive, diffIds } = saveArchive([layerTar({ a: 'x' })]);
      fake.on('GET /images/img/get', (_req, res) => { res.writeHead(200); res.write(archive.subarray(0, 1500)); });
      const c = clientFor(fake, { exportIdleTimeoutMs: 300 });
      const t0 = Date.now();
      await rejectsWith(c.layerFiles('img', diffIds), 'timeout', /sent no data for 300 ms during GET \/images\/img\/get/);
      assert.ok(Date.now() - t0 < 1000);
    });
  });

  describe('(b) malformed responses', () => {
    it('invalid JSON is an invalid-response error quoting the body', async () => {
      fake.raw('GET /images/json', '{"oops" <html>');
      await rejectsWith(clientFor(fake).listImages(), 'invalid-response',
        /GET \/images\/json on unix:\/\/.* returned malformed JSON \(.*\); body starts with "\{\\"oops\\" <html>"/);
    });

    it('an empty body is malformed too', async () => {
      fake.raw('GET /images/img/history', '');
      await rejectsWith(clientFor(fake).history('img'), 'invalid-response', /body starts with nothing \(empty body\)/);
    });

    it('JSON of the wrong shape names the offending path', async () => {
      fake.json('GET /images/json', [{ Id: 'sha256:aa', Created: 1, Size: 1 }, { Id: 5 }]);
      await rejectsWith(clientFor(fake).listImages(), 'invalid-response', /returned unexpected data: \[1\]\.Id: expected a string, got a number/);
      fake.json('GET /images/x/history', [{ Id: '<missing>', Size: 'big' }]);
      await rejectsWith(clientFor(fake).history('x'), 'invalid-response', /\[0\]\.Size: expected a number, got a string \("big"\)/);
      fake.json('GET /images/x/json', { Id: 'sha256:x', RootFS: { Layers: 'nope' } });
      await rejectsWith(clientFor(fake).inspectImage('x'), 'invalid-response', /RootFS\.Layers: expected an array/);
      fake.json('GET /system/df', { BuildCache: {} });
      await rejectsWith(clientFor(fake).buildCache(), 'invalid-response', /BuildCache: expected an array, got a object/);
      fake.json('GET /images/json', { not: 'an array' });
      await rejectsWith(clientFor(fake).listImages(), 'invalid-response', /response: expected an array, got a object/);
    });

    it('info() with a garbled /version is reachable:false with the reason', async () => {
      fake.json('GET /version', { Version: 1 });
      const info = await clientFor(fake).info();
      assert.strictEqual(info.reachable, false);
      assert.match(info.error!, /GET \/version on .* returned unexpected data: Version: expected a string, got a number/);
    });

    it('a corrupt export is an invalid-response error', async () => {
      fake.on('GET /images/img/get', (_req, res) => { res.writeHead(200); res.end(Buffer.alloc(2048, 0x41)); });
      await rejectsWith(clientFor(fake).layerFiles('img', [`sha256:${'0'.repeat(64)}`]), 'invalid-response',
        /export of image img .* is not a valid docker save archive: invalid tar header checksum/);
    });

    it('null arrays and <none>:<none> tags are normalised; unknown fields ignored', async () => {
      fake.json('GET /images/json', [{ Id: 'sha256:aa', ParentId: '', RepoTags: null, Created: 5, Size: 7, Extra: { x: 1 } },
        { Id: 'sha256:bb', ParentId: 'sha256:aa', RepoTags: ['<none>:<none>'], Created: 6, Size: 8 }]);
      assert.deepStrictEqual(await clientFor(fake).listImages(), [
        { id: 'sha256:aa', parentId: '', repoTags: [], created: 5, size: 7 },
        { id: 'sha256:bb', parentId: 'sha256:aa', repoTags: [], created: 6, size: 8 },
      ]);
    });

    it('inspect: an all-zero ContainerConfig means absent; a classic probe config is kept', async () => {
      const zero = { Hostname: '', User: '', Cmd: null, Env: null, Image: '', WorkingDir: '', Labels: null, Tty: false };
      fake.json('GET /images/a/json', { Id: 'sha256:a', Parent: '', Created: '2024-01-01T00:00:00Z', Size: 3, Config: { Cmd: ['sh'], Env: ['PATH=/bin'], ExposedPorts: { '80/tcp': {} } }, ContainerConfig: zero, RootFS: { Type: 'layers', Layers: ['sha256:l1'] } });
      fake.json('GET /images/b/json', { Id: 'sha256:b', Parent: 'sha256:a', Config: {}, ContainerConfig: { ...zero, Hostname: 'abc', Cmd: ['/bin/sh', '-c', '#(nop) ', 'CMD ["sh"]'], Image: 'sha256:a' } });
      const c = clientFor(fake);
      const a = await c.inspectImage('a');
      assert.strictEqual(a.containerConfig, null);
      assert.deepStrictEqual(a.config.exposedPorts, ['80/tcp']);
      assert.deepStrictEqual(a.layers, ['sha256:l1']);
      const b = await c.inspectImage('b');
      assert.deepStrictEqual(b.containerConfig!.cmd, ['/bin/sh', '-c', '#(nop) ', 'CMD ["sh"]']);
      assert.deepStrictEqual(b.layers, []);
    });
  });

  describe('(c) connection problems', () => {
    it('the daemon closing the connection before answering is a clear disconnected error', async () => {
      fake.on('GET /images/json', (req) => req.socket.destroy());
      await rejectsWith(clientFor(fake).listImages({ all: true }), 'disconnected',
        new RegExp(`^the daemon at unix://${fake.socketPath} closed the connection during GET /images/json\\?all=1 \\(`));
    });

    it('closing in the middle of a body is a disconnected error too', async () => {
      fake.on('GET /images/x/history', (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' });
        res.write('[{"Id":"<missing>",');
        setImmediate(() => res.socket?.destroy());
      });
      await rejectsWith(clientFor(fake).history('x'), 'disconnected', /closed the connection during GET \/images\/x\/history/);
    });

    it('an export cut off mid-stream is a disconnected error', async () => {
      const { archive, diffIds } = saveArchive([layerTar({ a: 'x'.repeat(5000) })]);
      fake.on('GET /images/img/get', (_req, res) => {
        res.writeHead(200);
        res.write(archive.subarray(0, 3000));
        setImmediate(() => res.socket?.destroy());
      });
      await rejectsWith(clientFor(fake).layerFiles('img', diffIds), 'disconnected', /closed the connection during GET \/images\/img\/get/);
    });

    it('no socket: one sentence naming the host', async () => {
      const c = new DaemonClient(resolveConnection({ env: {}, homeDir: '/x', readFile: () => null, hostSetting: `unix://${fake.dir}/missing.sock` }), { cacheDir: null });
      const info = await c.info();
      assert.deepStrictEqual(info, {
        reachable: false, host: `unix://${fake.dir}/missing.sock`, version: null, apiVersion: null,
        error: `cannot connect to unix://${fake.dir}/missing.sock: ENOENT (is dockerd running?)`,
      });
    });

    it('refused TCP connection', async () => {
      const c = new DaemonClient(resolveConnection({ env: {}, homeDir: '/x', readFile: () => null, hostSetting: 'tcp://127.0.0.1:1' }), { cacheDir: null });
      assert.strictEqual((await c.info()).error, 'cannot connect to tcp://127.0.0.1:1: ECONNREFUSED (is dockerd running?)');
    });

    it('HTTP errors carry the daemon message; 404 is not-found', async () => {
      await rejectsWith(clientFor(fake).inspectImage('nope'), 'not-found', /^GET \/images\/nope\/json on .* failed: HTTP 404: page not found/);
      fake.json('GET /images/json', { message: 'boom' }, true, 500);
      const e = await rejectsWith(clientFor(fake).listImages(), 'http', /failed: HTTP 500: boom$/);
      assert.strictEqual(e.statusCode, 500);
    });

    it('rejects image references that would escape the path', async () => {
      await rejectsWith(clientFor(fake).inspectImage('../../_ping?x'), 'config', /is not an image ID or reference/);
      await rejectsWith(clientFor(fake).layerFiles('img', ['nothex']), 'config', /not a sha256 diff ID/);
      assert.strictEqual(fake.count('GET /images'), 0);
    });

    it('image names with slashes and tags are sent as one path segment set', async () => {
      fake.json('GET /images/local/busybox:test/history', []);
      assert.deepStrictEqual(await clientFor(fake).history('local/busybox:test'), []);
    });
  });

  describe('layerFiles: streaming export + content-addressed disk cache', () => {
    let cacheDir: string;
    beforeEach(() => { cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-cache-')); });
    afterEach(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

    const l1 = layerTar({ 'bin/': '', 'bin/tool': 'tool-bytes', 'etc/conf': 'k=v\n' });
    const l2 = layerTar({ 'etc/.wh.conf': '', 'srv/data.bin': Buffer.alloc(100000, 3) });
    const { archive, diffIds } = saveArchive([l1, l2]);

    function serveExport(delayFirstByte?: Promise<void>): void {
      fake.on('GET /images/sha256:img/get', (_req, res) => {
        void (async () => {
          if (delayFirstByte) await delayFirstByte;
          res.writeHead(200, { 'Content-Type': 'application/x-tar' });
          for (let i = 0; i < archive.length; i += 4000) res.write(archive.subarray(i, i + 4000));
          res.end();
        })();
      });
    }

    it('returns entries per diff ID, then serves repeats from disk without calling the daemon', async () => {
      serveExport();
      const c = clientFor(fake, { cacheDir });
      const first = await c.layerFiles('sha256:img', [diffIds[1]!, diffIds[0]!]);
      assert.deepStrictEqual([...first.keys()], [diffIds[1], diffIds[0]]);
      assert.deepStrictEqual(first.get(diffIds[0]!)!.map((e) => [e.path, e.type, e.size, e.sha256]), [
        ['bin', 'dir', 0, ''], ['bin/tool', 'file', 10, sha256hex('tool-bytes')], ['etc/conf', 'file', 4, sha256hex('k=v\n')],
      ]);
      const second = first.get(diffIds[1]!)!;
      assert.deepStrictEqual(second.find((e) => e.whiteout === 'file')!.path, 'etc/conf');
      assert.strictEqual(second.find((e) => e.path === 'srv/data.bin')!.sha256, sha256hex(Buffer.alloc(100000, 3)));
      assert.strictEqual(fake.count('GET /images/sha256:img/get'), 1);

      const before = c.stats.requests;
      const again = await c.layerFiles('sha256:img', [diffIds[0]!]);
      assert.deepStrictEqual(again.get(diffIds[0]!), first.get(diffIds[0]!));
      assert.strictEqual(c.stats.requests, before, 'no daemon request for cached layers');

      // Another client (another process, say) with the same cache dir: still no daemon call.
      const other = clientFor(fake, { cacheDir });
      const fromDisk = await other.layerFiles('sha256:whatever-image', diffIds);
      assert.deepStrictEqual(fromDisk.get(diffIds[1]!), second);
      assert.deepStrictEqual([other.stats.requests, other.stats.layerCacheHits], [0, 2]);
      assert.strictEqual(fake.count('GET /images/sha256:img/get'), 1);
      const hex = diffIds[0]!.slice('sha256:'.length);
      assert.ok(fs.existsSync(path.join(cacheDir, 'layers', 'sha256', `${hex}.json`)));
    });

    it('concurrent requests for the same image share one export', async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => { release = r; });
      serveExport(gate);
      const c = clientFor(fake, { cacheDir });
      const a = c.layerFiles('sha256:img', [diffIds[0]!]);
      const b = c.layerFiles('sha256:img', [diffIds[1]!]);
      await until(() => fake.count('GET /images/sha256:img/get') === 1, 2000, 'the export request');
      release();
      const [ra, rb] = await Promise.all([a, b]);
      assert.strictEqual(ra.get(diffIds[0]!)!.length, 3);
      assert.strictEqual(rb.get(diffIds[1]!)!.length, 2);
      assert.strictEqual(fake.count('GET /images/sha256:img/get'), 1);
      assert.strictEqual(c.stats.exports, 1);
    });

    it('a diff ID the image does not have is not-found; a corrupt cache file is a miss', async () => {
      serveExport();
      const c = clientFor(fake, { cacheDir });
      await rejectsWith(c.layerFiles('sha256:img', [`sha256:${'a'.repeat(64)}`]), 'not-found', /has no layer sha256:a{64} \(its export holds 2 layers\)/);
      const file = path.join(cacheDir, 'layers', 'sha256', `${diffIds[0]!.slice(7)}.json`);
      fs.writeFileSync(file, '{"format":1,"rows":[[1,2]]}');
      const r = await c.layerFiles('sha256:img', [diffIds[0]!]);
      assert.strictEqual(r.get(diffIds[0]!)!.length, 3);
      assert.strictEqual(fake.count('GET /images/sha256:img/get'), 2);
    });

    it('by default reads the whole export and caches every layer in it', async () => {
      serveExport();
      const c = clientFor(fake, { cacheDir });
      await c.layerFiles('sha256:img', [diffIds[0]!]);
      const before = c.stats.requests;
      await c.layerFiles('sha256:img', [diffIds[1]!]);
      assert.strictEqual(c.stats.requests, before, 'the other layer came from the disk cache');
    });

    it('stopExportEarly: stops reading once every requested layer was read', async () => {
      // saveArchive orders layer dirs by sha256("layer<i>"): find the layer stored first, serve up to its end, stall.
      const firstIdx = sha256hex('layer0') < sha256hex('layer1') ? 0 : 1;
      const wantedLayer = [l1, l2][firstIdx]!;
      const cut = archive.indexOf(wantedLayer) + wantedLayer.length + 512;
      let closed = false;
      fake.on('GET /images/sha256:img/get', (req, res) => {
        req.on('close', () => { closed = true; });
        res.writeHead(200);
        res.write(archive.subarray(0, cut)); // …and never more
      });
      const c = clientFor(fake, { cacheDir, exportIdleTimeoutMs: 30000, stopExportEarly: true });
      const r = await c.layerFiles('sha256:img', [diffIds[firstIdx]!]);
      assert.strictEqual(r.get(diffIds[firstIdx]!)!.length, firstIdx === 0 ? 3 : 2);
      await until(() => closed, 2000, 'the export connection to be closed');
      // The other layer was never read: asking for it starts a new export.
      fake.on('GET /images/sha256:img/get', (_req, res) => { res.writeHead(200); res.end(archive); });
      await c.layerFiles('sha256:img', diffIds);
      assert.strictEqual(fake.count('GET /images/sha256:img/get'), 2);
    });

    it('cacheDir: null never touches the disk', async () => {
      serveExport();
      const c = clientFor(fake, { cacheDir: null });
      await c.layerFiles('sha256:img', [diffIds[0]!]);
      await c.layerFiles('sha256:img', [diffIds[0]!]);
      assert.strictEqual(fake.count('GET /images/sha256:img/get'), 2);
      assert.deepStrictEqual(fs.readdirSync(cacheDir), []);
    });
  });

  describe('events()', () => {
    const ev = (t: number, action: string, id: string): string => JSON.stringify({
      Type: 'image', Action: action, Actor: { ID: id, Attributes: { name: id } }, scope: 'local', time: t, timeNano: t * 1e9 + 1,
    });

    it('streams events, skips garbage, reconnects with since= after a disconnect and drops replayed duplicates', async () => {
      const queries: URLSearchParams[] = [];
      fake.on('GET /events', (req, res, url) => {
        queries.push(url.searchParams);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        if (queries.length === 1) {
          res.write(`${ev(100, 'tag', 'a')}\n`);
          res.write('garbage line\n');
          res.write(`${ev(101, 'delete', 'b')}\n`);
          setImmediate(() => req.socket.destroy());
        } else {
          // The daemon replays from `since` (inclusive): one duplicate, then a new event.
          res.write(`${ev(101, 'delete', 'b')}\n${ev(102, 'untag', 'c')}\n`);
        }
      });
      const got: DaemonEvent[] = [];
      const statuses: EventStreamStatus[] = [];
      const sub = clientFor(fake).events({ type: ['image'] }, (e) => got.push(e), (s) => statuses.push(s));
      try {
        await until(() => got.length >= 3, 5000, 'three events');
        assert.deepStrictEqual(got.map((e) => `${e.time} ${e.action} ${e.actorId}`), ['100 tag a', '101 delete b', '102 untag c']);
        assert.deepStrictEqual(got[0]!.attributes, { name: 'a' });
        assert.strictEqual(queries[0]!.get('filters'), '{"type":["image"]}');
        assert.strictEqual(queries[0]!.get('since'), null);
        assert.strictEqual(queries[1]!.get('since'), '101');
        assert.deepStrictEqual(statuses.map((s) => s.connected), [true, false, true]);
        assert.match(statuses[1]!.error!, /closed the connection during GET \/events|ended the event stream/);
      } finally {
        sub.dispose();
      }
      assert.strictEqual(queries.length, 2);
    });

    it('keeps retrying while the daemon is down, and dispose() stops it', async () => {
      fake.on('GET /events', (req) => req.socket.destroy());
      const statuses: EventStreamStatus[] = [];
      const sub = clientFor(fake).events({}, () => undefined, (s) => statuses.push(s));
      await until(() => fake.count('GET /events') >= 2 && statuses.length >= 2, 5000, 'a reconnect attempt');
      sub.dispose();
      assert.ok(statuses.length >= 2 && statuses.every((s) => !s.connected && /closed the connection/.test(s.error ?? '')));
    });
  });
});

describe('docker/daemonClient over TCP + TLS (fake daemon, openssl-made certificates)', () => {
  let dir: string;
  let servers: https.Server[] = [];
  let pem: { key: Buffer; cert: Buffer };

  before(function () {
    this.timeout(60000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-tls-'));
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'),
      '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    if (r.status !== 0) {
      if (process.env.CI) assert.fail('openssl is needed for the TLS tests (CI is set)');
      this.skip();
    }
    fs.copyFileSync(path.join(dir, 'cert.pem'), path.join(dir, 'ca.pem'));
    pem = { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
  });
  afterEach(async () => {
    closeAllConnections();
    await Promise.all(servers.map((s) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); })));
    servers = [];
  });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  async function serve(requireClientCert: boolean): Promise<number> {
    const s = https.createServer({ ...pem, ca: pem.cert, requestCert: requireClientCert, rejectUnauthorized: requireClientCert }, (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(req.url === '/_ping' ? 'OK' : JSON.stringify({ Version: 'tls-fake', ApiVersion: '1.41' }));
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return (s.address() as { port: number }).port;
  }

  const fromEnv = (env: Record<string, string>): DaemonClient =>
    DaemonClient.fromEnvironment({ env: { HOME: dir, ...env }, cacheDir: null, timeoutMs: 3000 });

  it('DOCKER_TLS_VERIFY + DOCKER_CERT_PATH: verified server, client certificate presented', async () => {
    const port = await serve(true);
    const info = await fromEnv({ DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir }).info();
    assert.deepStrictEqual([info.reachable, info.version, info.error], [true, 'tls-fake', null]);
  });

  it('verification failure is a one-sentence TLS error naming the host', async () => {
    const port = await serve(false);
    const other = path.join(dir, 'other');
    fs.mkdirSync(other, { recursive: true });
    spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(other, 'k.pem'), '-out', path.join(other, 'ca.pem'), '-days', '1', '-subj', '/CN=other'], { stdio: 'ignore' });
    const info = await fromEnv({ DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: other }).info();
    assert.strictEqual(info.reachable, false);
    assert.match(info.error!, new RegExp(`^TLS handshake with tcp://127\\.0\\.0\\.1:${port} failed: .*(self.signed|certificate)`, 'i'));
  });

  it('DOCKER_TLS without verify accepts the self-signed server', async () => {
    const port = await serve(false);
    const info = await fromEnv({ DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS: '1' }).info();
    assert.strictEqual(info.reachable, true, info.error ?? '');
  });

  it('plain HTTP to a TLS port fails with a readable reason', async () => {
    const port = await serve(false);
    const info = await fromEnv({ DOCKER_HOST: `tcp://127.0.0.1:${port}` }).info();
    assert.strictEqual(info.reachable, false);
    assert.match(info.error!, new RegExp(`tcp://127\\.0\\.0\\.1:${port}`));
  });
});
