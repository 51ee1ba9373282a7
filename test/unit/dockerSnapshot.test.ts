import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Analyzer } from '../../server/src/analyze';
import { resolveConnection } from '../../server/src/docker/connection';
import { closeAllConnections, DaemonClient } from '../../server/src/docker/daemonClient';
import { loadDaemonSnapshot } from '../../server/src/docker/snapshot';
import { FakeDaemon } from './dockerHelpers.test';

function clientFor(fake: FakeDaemon): DaemonClient {
  const conn = resolveConnection({ env: {}, homeDir: '/nonexistent', readFile: () => null, hostSetting: `unix://${fake.socketPath}` });
  return new DaemonClient(conn, { timeoutMs: 1000, cacheDir: null });
}

const img = (id: string, parent: string, created: number, tags: string[] = []): Record<string, unknown> =>
  ({ Id: id, ParentId: parent, RepoTags: tags.length ? tags : null, Created: created, Size: 10 });

describe('docker/snapshot: loadDaemonSnapshot (fake daemon)', () => {
  let fake: FakeDaemon;
  beforeEach(async () => {
    fake = await new FakeDaemon().start();
    fake.json('GET /images/json', [img('sha256:base', '', 1, ['base:1']), img('sha256:mid', 'sha256:base', 2), img('sha256:top', 'sha256:mid', 3, ['app:1', 'app:latest'])]);
    for (const id of ['base', 'mid', 'top']) {
      fake.json(`GET /images/sha256:${id}/json`, { Id: `sha256:${id}`, Parent: '', Created: '2024-01-01T00:00:00Z', Config: { Cmd: [id] }, RootFS: { Layers: [`sha256:${id}-layer`] } });
      fake.json(`GET /images/sha256:${id}/history`, [{ Id: `sha256:${id}`, Created: 1, CreatedBy: `/bin/sh -c #(nop) ${id}`, Size: 0, Comment: '', Tags: null }]);
    }
    fake.json('GET /system/df', { LayersSize: 1, Images: [], BuildCache: [
      { ID: 'r1', Parent: '', Type: 'regular', Description: 'mount / from exec /bin/sh -c x', InUse: false, Shared: true, Size: 6, CreatedAt: 'c', LastUsedAt: null, UsageCount: 1 },
      { ID: 'r2', Parents: ['r1'], Type: 'regular', Description: 'fileop target', InUse: false, Shared: false, Size: 2, CreatedAt: 'c', LastUsedAt: 'l', UsageCount: 3 },
    ] });
  });
  afterEach(async () => {
    closeAllConnections();
    await fake.stop();
  });

  it('collects images, graph, tags, inspect, history and build cache as plain maps', async () => {
    const s = await loadDaemonSnapshot(clientFor(fake));
    assert.strictEqual(s.daemon.reachable, true);
    assert.strictEqual(s.daemon.error, null);
    assert.deepStrictEqual([...s.images.keys()], ['sha256:top', 'sha256:mid', 'sha256:base'], 'newest first');
    assert.deepStrictEqual(s.childrenByParent.get(''), ['sha256:base']);
    assert.deepStrictEqual(s.childrenByParent.get('sha256:base'), ['sha256:mid']);
    assert.strictEqual(s.imageByTag.get('app:latest'), 'sha256:top');
    assert.deepStrictEqual(s.inspects.get('sha256:mid')!.config.cmd, ['mid']);
    assert.strictEqual(s.histories.get('sha256:top')![0]!.createdBy, '/bin/sh -c #(nop) top');
    assert.deepStrictEqual(s.buildCache.map((r) => [r.id, r.parent, r.lastUsedAt]), [['r1', null, null], ['r2', 'r1', 'l']]);
    assert.strictEqual(s.buildCacheById.get('r2')!.usageCount, 3);
    assert.strictEqual(fake.count('GET /images/json?all=1'), 1);
    assert.strictEqual(fake.count('GET /system/df?type=build-cache'), 1);
  });

  it('starts from ping + version the caller already has: none asked again; unreachable asks nothing at all', async () => {
    const c = clientFor(fake);
    const known = await c.info();
    const before = fake.requests.length;
    const s = await loadDaemonSnapshot(c, { info: known });
    assert.strictEqual(s.daemon.version, '99.0-fake');
    assert.deepStrictEqual(fake.requests.slice(before).filter((r) => r === 'GET /_ping' || r === 'GET /version'), []);
    assert.strictEqual(s.images.size, 3);
    const mark = fake.requests.length;
    const down = await loadDaemonSnapshot(c, { info: { reachable: false, host: c.host, version: null, apiVersion: null, error: 'did not answer GET /_ping within 1 s' } });
    assert.strictEqual(down.daemon.reachable, false);
    assert.strictEqual(down.daemon.error, 'did not answer GET /_ping within 1 s');
    assert.deepStrictEqual(fake.requests.slice(mark), [], 'a daemon known to be unreachable is asked nothing more');
  });

  it('inspect and history are fetched once per image ID across snapshots', async () => {
    const c = clientFor(fake);
    await loadDaemonSnapshot(c);
    assert.strictEqual(fake.count('GET /images/sha256:'), 6);
    fake.json('GET /images/json', [img('sha256:new', 'sha256:top', 4), img('sha256:top', 'sha256:mid', 3), img('sha256:mid', 'sha256:base', 2), img('sha256:base', '', 1)]);
    fake.json('GET /images/sha256:new/json', { Id: 'sha256:new', Config: {} });
    fake.json('GET /images/sha256:new/history', []);
    const s2 = await loadDaemonSnapshot(c);
    assert.strictEqual(fake.count('GET /images/sha256:'), 8, 'only the new image was inspected');
    assert.strictEqual(s2.inspects.size, 4);
    // Concurrent snapshots share in-flight work.
    await Promise.all([loadDaemonSnapshot(c), loadDaemonSnapshot(c)]);
    assert.strictEqual(fake.count('GET /images/sha256:'), 8);
  });

  it('an image deleted between list and inspect is skipped silently', async () => {
    fake.json('GET /images/sha256:mid/json', { message: 'No such image: sha256:mid' }, true, 404);
    const s = await loadDaemonSnapshot(clientFor(fake));
    assert.strictEqual(s.daemon.error, null);
    assert.ok(!s.inspects.has('sha256:mid'));
    assert.strictEqual(s.inspects.size, 2);
  });

  it('failures become daemon.error text, never exceptions', async () => {
    fake.json('GET /system/df', { message: 'df exploded' }, true, 500);
    fake.raw('GET /images/sha256:top/history', 'not json');
    const s = await loadDaemonSnapshot(clientFor(fake));
    assert.strictEqual(s.daemon.reachable, true);
    assert.match(s.daemon.error!, /build cache unavailable: GET \/system\/df\?type=build-cache on .* failed: HTTP 500: df exploded/);
    assert.match(s.daemon.error!, /could not read 1 image\(s\): GET \/images\/sha256:top\/history .* malformed JSON/);
    assert.strictEqual(s.buildCache.length, 0);
    assert.strictEqual(s.images.size, 3);
    assert.match(s.imagesError!, /could not read 1 image\(s\)/, 'an image whose details failed makes the image set incomplete');

    fake.raw('GET /images/json', '[');
    const s2 = await loadDaemonSnapshot(clientFor(fake));
    assert.match(s2.daemon.error!, /cannot list images: .*malformed JSON/);
    assert.match(s2.imagesError!, /cannot list images/);
  });

  it('a complete read leaves imagesError null', async () => {
    const s = await loadDaemonSnapshot(clientFor(fake));
    assert.strictEqual(s.imagesError, null);
  });

  // A listing that times out on a busy daemon once made the base image "not present locally: it will be pulled".
  it('analysis: images that could not be listed make every step unknown, never "not present locally"', async () => {
    fake.json('GET /images/json', { message: 'daemon busy' }, true, 500);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'll-snap-'));
    try {
      fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM base:1\nRUN echo hi\n');
      const analyzer = new Analyzer({ env: {}, hostSetting: `unix://${fake.socketPath}`, cacheDir: null, daemonTimeoutMs: 1000 });
      try {
        const { report } = await analyzer.analyze({ dockerfile: path.join(dir, 'Dockerfile') });
        assert.deepStrictEqual(report.steps.map((st) => st.cache), ['unknown', 'unknown']);
        assert.match(report.steps[0]!.reason, /local images could not be read \(cannot list images: .*daemon busy\)/);
        assert.doesNotMatch(report.steps[0]!.reason, /not present locally/);
      } finally {
        await analyzer.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unreachable daemon gives reachable:false and empty maps', async () => {
    const conn = resolveConnection({ env: {}, homeDir: '/x', readFile: () => null, hostSetting: `unix://${fake.dir}/none.sock` });
    const s = await loadDaemonSnapshot(new DaemonClient(conn, { cacheDir: null }));
    assert.strictEqual(s.daemon.reachable, false);
    assert.match(s.daemon.error!, /^cannot connect to unix:\/\/.*none\.sock: ENOENT \(is dockerd running\?\)$/);
    assert.strictEqual(s.images.size, 0);
  });
});
