// Real-daemon tests for server/src/docker/. They need a running dockerd and the docker CLI. With env CI set, an
// unreachable daemon FAILS the suite; locally it is skipped with a message.
//
// Fixture: a busybox rootfs imported as a base image, then a classic-builder build adding three layers:
//   1. COPY ctx/ /data/          -> a.txt (6 B), big.bin (1 MiB), keep/k.txt
//   2. RUN  rm/ln/mkdir …        -> whiteouts (file + opaque dir), a hardlink pair, a symlink
//   3. COPY late.txt /late/
// plus a one-step BuildKit build for /system/df records.

import * as assert from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { closeAllConnections, DaemonClient, DaemonEvent } from '../../server/src/docker/daemonClient';
import { loadDaemonSnapshot } from '../../server/src/docker/snapshot';
import { daemonRequired } from './harness';
import type { ImageInspect, LayerFileEntry } from '../../server/src/docker/types';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

function docker(args: string[], opts: { input?: Buffer; env?: Record<string, string> } = {}): string {
  const r = spawnSync('docker', args, {
    input: opts.input, env: { ...process.env, ...(opts.env ?? {}) }, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.status}): ${r.stderr?.toString() ?? r.error}`);
  return r.stdout.toString('utf8').trim();
}

/**
 * A BuildKit build. Through the Engine API (`POST /build?version=2`, no session needed) when the daemon is on a unix
 * socket, so it does not depend on the CLI having buildx; otherwise the CLI with DOCKER_BUILDKIT=1.
 */
async function buildKitBuild(client: DaemonClient, ctxDir: string, tag: string): Promise<void> {
  const socketPath = client.connection.dockerodeOptions.socketPath;
  if (!socketPath) {
    docker(['build', '--network', 'none', '-q', '-t', tag, ctxDir], { env: { DOCKER_BUILDKIT: '1' } });
    return;
  }
  const body = execFileSync('tar', ['-C', ctxDir, '-c', '.']);
  const q = new URLSearchParams({ version: '2', t: tag, networkmode: 'none', q: '1' });
  const out = await new Promise<string>((resolve, reject) => {
    const req = http.request({ socketPath, method: 'POST', path: `/build?${q}`, headers: { 'Content-Type': 'application/x-tar', 'Content-Length': body.length } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(parts).toString()) : reject(new Error(`build: HTTP ${res.statusCode} ${Buffer.concat(parts)}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
  const errors = out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { error?: string }).filter((m) => m.error);
  if (errors.length > 0) throw new Error(`BuildKit build failed: ${errors.map((e) => e.error).join('; ')}`);
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('docker/daemonClient against the real daemon', function () {
  this.timeout(180000);
  const uniq = `${process.pid}-${Date.now().toString(36)}`;
  const baseTag = `layerlens-test/busybox:${uniq}`;
  const appTag = `layerlens-test/app:${uniq}`;
  const bkTag = `layerlens-test/bk:${uniq}`;
  const extraTag = `layerlens-test/app:${uniq}-extra`;
  const big = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  const files = { 'a.txt': Buffer.from('hello\n'), 'big.bin': big, 'keep/k.txt': Buffer.from('keep me\n'), late: Buffer.from(`late ${uniq}\n`) };

  let work: string;
  let cacheDir: string;
  let client: DaemonClient;
  let baseId: string;
  let appId: string;
  let app: ImageInspect;
  let base: ImageInspect;
  const created: string[] = [];

  before(async function () {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'll-real-'));
    cacheDir = path.join(work, 'cache');
    client = DaemonClient.fromEnvironment({ cacheDir, timeoutMs: 10000 });
    const info = await client.info();
    const cliOk = spawnSync('docker', ['--version']).status === 0;
    const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
    const missing = !info.reachable ? `the Docker daemon is unreachable: ${info.error}`
      : !cliOk ? 'the docker CLI is not installed' : !busybox ? 'busybox (static) is not installed' : null;
    if (missing) {
      if (daemonRequired()) throw new Error(`real-daemon tests need Docker (CI or LAYERLENS_REQUIRE_DAEMON is set): ${missing}`);
      // eslint-disable-next-line no-console
      console.log(`      skipping real-daemon tests: ${missing}`);
      this.skip();
    }

    // Base image: a busybox rootfs through `docker import`.
    const root = path.join(work, 'rootfs');
    fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
    fs.copyFileSync(busybox!, path.join(root, 'bin', 'busybox'));
    fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
    for (const a of ['sh', 'ls', 'cat', 'echo', 'mkdir', 'rm', 'touch', 'chmod', 'ln']) fs.symlinkSync('busybox', path.join(root, 'bin', a));
    const rootTar = execFileSync('tar', ['-C', root, '-c', '.'], { maxBuffer: 64 * 1024 * 1024 });
    baseId = docker(['import', '-', baseTag], { input: rootTar });
    created.push(baseTag);

    const ctx = path.join(work, 'ctx');
    fs.mkdirSync(path.join(ctx, 'data', 'keep'), { recursive: true });
    fs.writeFileSync(path.join(ctx, 'data', 'a.txt'), files['a.txt']);
    fs.writeFileSync(path.join(ctx, 'data', 'big.bin'), files['big.bin']);
    fs.writeFileSync(path.join(ctx, 'data', 'keep', 'k.txt'), files['keep/k.txt']);
    fs.writeFileSync(path.join(ctx, 'late.txt'), files.late);
    fs.writeFileSync(path.join(ctx, 'Dockerfile'), [
      `FROM ${baseTag}`,
      'COPY data/ /data/',
      'RUN rm /data/a.txt && rm /bin/cat && rm -rf /data/keep && mkdir /data/keep && echo fresh > /data/keep/n.txt' +
        ' && ln /data/keep/n.txt /data/keep/n2.txt && ln -s /data/big.bin /data/big.link',
      'COPY late.txt /late/',
      '',
    ].join('\n'));
    docker(['build', '--network', 'none', '-q', '-t', appTag, ctx], { env: { DOCKER_BUILDKIT: '0' } });
    created.push(appTag);
    appId = docker(['image', 'inspect', '-f', '{{.Id}}', appTag]);

    const bk = path.join(work, 'bk');
    fs.mkdirSync(bk);
    fs.writeFileSync(path.join(bk, 'Dockerfile'), `FROM ${baseTag}\nRUN echo ${uniq} > /bk.txt\n`);
    await buildKitBuild(client, bk, bkTag);
    created.push(bkTag);
  });

  after(() => {
    for (const t of [extraTag, ...created].reverse()) spawnSync('docker', ['rmi', t], { stdio: 'ignore' });
    closeAllConnections();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('info(): reachable, with version and API version', async () => {
    const info = await client.info();
    assert.strictEqual(info.reachable, true, info.error ?? '');
    assert.strictEqual(info.version, docker(['version', '-f', '{{.Server.Version}}']));
    assert.strictEqual(info.apiVersion, docker(['version', '-f', '{{.Server.APIVersion}}']));
  });

  it('listImages({all:true}): the tagged image and its intermediate parent chain down to the base', async () => {
    const images = await client.listImages({ all: true });
    const byId = new Map(images.map((i) => [i.id, i]));
    const top = byId.get(appId);
    assert.ok(top, 'built image listed');
    assert.deepStrictEqual(top.repoTags, [appTag]);
    const chain: string[] = [];
    let cur = top;
    while (cur.parentId !== '' && chain.length < 10) {
      chain.push(cur.parentId);
      cur = byId.get(cur.parentId)!;
      assert.ok(cur, `parent ${chain[chain.length - 1]} listed (all=1 includes intermediate images)`);
    }
    assert.strictEqual(chain.length, 3, 'three build steps, three parents');
    assert.strictEqual(chain[2], baseId);
    assert.deepStrictEqual(byId.get(chain[0]!)!.repoTags, []);
    const withoutAll = await client.listImages();
    assert.ok(!withoutAll.some((i) => i.id === chain[0]), 'intermediates only with all=1');
  });

  it('inspectImage(): layers, configs and the classic probe config', async () => {
    app = await client.inspectImage(appTag);
    base = await client.inspectImage(baseId);
    assert.strictEqual(app.id, appId);
    assert.deepStrictEqual(app.repoTags, [appTag]);
    assert.strictEqual(app.layers.length, 4);
    assert.strictEqual(app.layers[0], base.layers[0]);
    assert.strictEqual(base.layers.length, 1);
    assert.strictEqual(base.containerConfig, null, 'imported image: no probe config');
    assert.ok(app.containerConfig, 'classic build: probe config present');
    assert.strictEqual(app.containerConfig.cmd![0], '/bin/sh');
    assert.match(app.containerConfig.cmd!.join(' '), /#\(nop\) COPY file:[0-9a-f]{64} in \/late\/ $/);
    assert.ok(app.config.env!.includes('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'));
    assert.match(app.created, /^\d{4}-\d\d-\d\dT/);
    const direct = docker(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', appTag]);
    assert.deepStrictEqual(app.layers, JSON.parse(direct));
  });

  it('history(): newest first, CreatedBy and exact layer sizes', async () => {
    const h = await client.history(appTag);
    assert.strictEqual(h.length, 4);
    assert.deepStrictEqual(h[0]!.tags, [appTag]);
    assert.strictEqual(h[0]!.id, appId);
    assert.match(h[0]!.createdBy, /^\/bin\/sh -c #\(nop\) COPY file:[0-9a-f]{64} in \/late\/ $/);
    assert.strictEqual(h[0]!.size, files.late.length);
    assert.match(h[1]!.createdBy, /^\/bin\/sh -c rm \/data\/a\.txt && rm \/bin\/cat/);
    assert.match(h[2]!.createdBy, /^\/bin\/sh -c #\(nop\) COPY dir:[0-9a-f]{64} in \/data\/ $/);
    assert.strictEqual(h[2]!.size, files['a.txt'].length + files['big.bin'].length + files['keep/k.txt'].length);
    assert.strictEqual(h[3]!.id, baseId);
    assert.strictEqual(h[3]!.comment, 'Imported from -');
  });

  it('buildCache(): BuildKit records from /system/df with parent links', async () => {
    const records = await client.buildCache();
    const run = records.find((r) => r.description === `mount / from exec /bin/sh -c echo ${uniq} > /bk.txt`);
    assert.ok(run, `RUN record present among ${records.length}`);
    assert.strictEqual(run.type, 'regular');
    assert.ok(run.usageCount >= 1);
    assert.ok(run.parent !== null && records.some((r) => r.id === run.parent), 'parent record exists');
    assert.ok(run.size >= 0);
    assert.match(run.createdAt, /^\d{4}-/);
  });

  it('layerFiles(): exact sizes and sha256 of added files, whiteouts, links; then served from disk', async () => {
    const diffIds = app.layers.slice(1);
    const t0 = Date.now();
    const layers = await client.layerFiles(appId, diffIds);
    const exportMs = Date.now() - t0;
    assert.deepStrictEqual([...layers.keys()], diffIds);
    const find = (l: LayerFileEntry[], p: string, wh: LayerFileEntry['whiteout'] = 'none'): LayerFileEntry | undefined =>
      l.find((e) => e.path === p && e.whiteout === wh);

    const copy = layers.get(diffIds[0]!)!;
    assert.deepStrictEqual(find(copy, 'data/a.txt'), {
      path: 'data/a.txt', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 6, linkname: '', sha256: sha(files['a.txt']), whiteout: 'none',
    });
    assert.strictEqual(find(copy, 'data/big.bin')!.size, 1048576);
    assert.strictEqual(find(copy, 'data/big.bin')!.sha256, sha(big));
    assert.strictEqual(find(copy, 'data/keep/k.txt')!.sha256, sha(files['keep/k.txt']));
    assert.strictEqual(find(copy, 'data')!.type, 'dir');
    const sum = copy.filter((e) => e.type === 'file').reduce((n, e) => n + e.size, 0);
    const h = await client.history(appTag);
    assert.strictEqual(sum, h[2]!.size, 'layer file sizes add up to the history size');

    const run = layers.get(diffIds[1]!)!;
    assert.ok(find(run, 'data/a.txt', 'file'), 'whiteout for the deleted file');
    assert.ok(find(run, 'bin/cat', 'file'), 'whiteout for the deleted base-image file');
    assert.ok(find(run, 'data/keep', 'opaque'), 'recreated directory is opaque');
    assert.ok(!run.some((e) => e.path === 'data/keep/k.txt'));
    const n1 = find(run, 'data/keep/n.txt')!;
    const n2 = find(run, 'data/keep/n2.txt')!;
    const [file, link] = n1.type === 'file' ? [n1, n2] : [n2, n1];
    assert.deepStrictEqual([file.type, file.size, file.sha256], ['file', 6, sha('fresh\n')]);
    assert.deepStrictEqual([link.type, link.linkname], ['hardlink', file.path]);
    assert.deepStrictEqual([find(run, 'data/big.link')!.type, find(run, 'data/big.link')!.linkname], ['symlink', '/data/big.bin']);

    const late = layers.get(diffIds[2]!)!;
    assert.deepStrictEqual(late.filter((e) => e.type === 'file').map((e) => [e.path, e.size, e.sha256]),
      [['late/late.txt', files.late.length, sha(files.late)]]);

    // Second request: no daemon call at all, also from a fresh client sharing the cache dir.
    const before = client.stats.requests;
    const t1 = Date.now();
    const again = await client.layerFiles(appId, diffIds);
    const cachedMs = Date.now() - t1;
    assert.strictEqual(client.stats.requests, before);
    assert.deepStrictEqual(again, layers);
    const fresh = DaemonClient.fromEnvironment({ cacheDir });
    await fresh.layerFiles(appTag, [diffIds[1]!]);
    assert.strictEqual(fresh.stats.requests, 0);
    // eslint-disable-next-line no-console
    console.log(`      (export+parse of ${appTag}: ${exportMs} ms; from disk cache: ${cachedMs} ms)`);
  });

  it('layerFiles(): the base layer of the imported image', async () => {
    const m = await client.layerFiles(baseId, [base.layers[0]!]);
    const entries = m.get(base.layers[0]!)!;
    const bb = entries.find((e) => e.path === 'bin/busybox')!;
    const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p))!;
    assert.strictEqual(bb.size, fs.statSync(busybox).size);
    assert.strictEqual(bb.sha256, sha(fs.readFileSync(busybox)));
    assert.deepStrictEqual(entries.find((e) => e.path === 'bin/sh')!.linkname, 'busybox');
  });

  it('events(): sees a tag event for the image', async () => {
    const got: DaemonEvent[] = [];
    let connected = false;
    const sub = client.events({ type: ['image'] }, (e) => got.push(e), (s) => { connected = s.connected; });
    try {
      await until(() => connected, 10000, 'the event stream to connect');
      docker(['tag', appTag, extraTag]);
      await until(() => got.some((e) => e.action === 'tag' && e.actorId === appId), 10000, 'the tag event');
    } finally {
      sub.dispose();
    }
  });

  it('loadDaemonSnapshot(): plain maps with the built image graph', async () => {
    const snap = await loadDaemonSnapshot(client);
    assert.strictEqual(snap.daemon.reachable, true);
    assert.strictEqual(snap.daemon.error, null);
    assert.ok(snap.images.has(appId));
    assert.strictEqual(snap.imageByTag.get(appTag), appId);
    assert.deepStrictEqual(snap.inspects.get(appId)!.layers, app.layers);
    assert.strictEqual(snap.histories.get(appId)!.length, 4);
    const parent = snap.images.get(appId)!.parentId;
    assert.ok(snap.childrenByParent.get(parent)!.includes(appId));
    assert.ok(snap.buildCache.some((r) => r.description.includes(uniq)));
    const before = client.stats.requests;
    await loadDaemonSnapshot(client);
    // Second snapshot: ping, version, images, df, plus inspect/history only for images that appeared meanwhile.
    assert.ok(client.stats.requests - before < 10, `second snapshot used ${client.stats.requests - before} requests`);
  });
});
