// The context tar Layer Lens sends must be the docker CLI's, byte for byte: the classic builder keys COPY/ADD on its
// headers (tarsum), so a different header is a different cache. The CLI here is /usr/bin/docker (20.10, which writes
// the file-type bits in the mode field: variant 'full'); it is pointed at a fake daemon socket that records the body
// of `POST /build`. No real daemon is needed, but the CLI is: missing, it fails under CI/LAYERLENS_REQUIRE_DAEMON.

import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { ContextIndex } from '../../server/src/context/contextIndex';
import { contextTarChunks } from '../../server/src/context/contextTar';
import { DOCKER_CLI, daemonRequired } from './harness';

/** Runs `docker build` against a fake daemon and returns the context tar it uploaded. */
async function cliContextTar(contextDir: string): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-fakesock-'));
  const sock = path.join(dir, 'd.sock');
  let body: Buffer | null = null;
  const server = http.createServer((req, res) => {
    if (req.url?.endsWith('/_ping')) {
      res.writeHead(200, { 'API-Version': '1.41', OSType: 'linux', 'Docker-Experimental': 'false', 'Content-Type': 'text/plain' });
      res.end('OK');
      return;
    }
    if (req.method === 'POST' && req.url?.includes('/build')) {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        body = Buffer.concat(parts);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ errorDetail: { message: 'recorded' }, error: 'recorded' }) + '\n');
      });
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"message":"not here"}');
  });
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    await new Promise<void>((resolve, reject) => {
      const p = spawn(DOCKER_CLI, ['build', '-t', 'layerlens-tarcheck:x', contextDir], {
        env: { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_BUILDKIT: '0' },
        stdio: 'ignore',
      });
      p.on('error', reject);
      p.on('exit', () => resolve()); // it exits 1 on our "recorded" error: expected
    });
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (!body) throw new Error('the docker CLI sent no build context');
  return body;
}

async function ourTar(contextDir: string): Promise<Buffer> {
  const idx = await ContextIndex.open(contextDir, path.join(contextDir, 'Dockerfile'), { builder: 'classic', cacheDir: null, ignoreFlavor: 'legacy' });
  const parts: Buffer[] = [];
  for await (const c of contextTarChunks({ contextDir: idx.contextDir, entries: idx.sentEntries(), hardlinkLeader: (r) => idx.hardlinkLeader(r), variant: 'full' })) parts.push(c);
  idx.dispose();
  return Buffer.concat(parts);
}

/** The first differing 512-byte block, described, or null. */
function firstDifference(a: Buffer, b: Buffer): string | null {
  for (let off = 0; off < Math.max(a.length, b.length); off += 512) {
    const x = a.subarray(off, off + 512);
    const y = b.subarray(off, off + 512);
    if (!x.equals(y)) return `block at ${off}: CLI ${JSON.stringify(x.subarray(0, 100).toString('latin1'))} vs ours ${JSON.stringify(y.subarray(0, 100).toString('latin1'))}`;
  }
  return null;
}

describe('context tar: byte-identical to the docker CLI', function () {
  this.timeout(120_000);
  let dir: string;

  before(function () {
    if (!fs.existsSync(DOCKER_CLI)) {
      if (daemonRequired()) throw new Error(`${DOCKER_CLI} is missing [failing, not skipping: CI/LAYERLENS_REQUIRE_DAEMON is set]`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-tarctx-'));
    const w = (rel: string, content: string | Buffer, mode = 0o644): void => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), content);
      fs.chmodSync(path.join(dir, rel), mode);
    };
    w('Dockerfile', 'FROM scratch\nCOPY . /\n');
    w('.dockerignore', 'ignored\n*.tmp\n!keep.tmp\n');
    w('a.txt', 'hello\n', 0o755);
    w('keep.tmp', 'kept');
    w('drop.tmp', 'dropped');
    w('ignored/z', 'never sent');
    w('sub/b', 'x'.repeat(1500));
    fs.linkSync(path.join(dir, 'sub/b'), path.join(dir, 'sub/hard'));
    fs.symlinkSync('a.txt', path.join(dir, 'link'));
    fs.symlinkSync('l'.repeat(130), path.join(dir, 'longlink'));
    w(`sub/${'l'.repeat(120)}/f`, 'long directory name: PAX path');
    w(`${'p'.repeat(90)}/${'q'.repeat(90)}`, 'long name that USTAR splits into prefix and name');
    w('sub/é-ünïcode.txt', 'non-ASCII name: PAX path');
    w('sub/empty', '');
    w('sub/setuid', 'suid', 0o4755);
    fs.mkdirSync(path.join(dir, 'emptydir'), { mode: 0o700 });
    fs.chmodSync(path.join(dir, 'emptydir'), 0o700);
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('hardlinks, symlinks, long and non-ASCII names, .dockerignore with an exception, odd modes: the same bytes', async function () {
    const [cli, ours] = await Promise.all([cliContextTar(dir), ourTar(dir)]);
    assert.strictEqual(firstDifference(cli, ours), null);
    assert.strictEqual(ours.length, cli.length);
    assert.ok(!cli.includes(Buffer.from('never sent')), 'the CLI applied .dockerignore too');
  });
});
