// Issue 7.5, security (the parts that exist on this branch): TLS to a tcp:// daemon is verified with the given
// certificates (made here with openssl; a TLS proxy on loopback in front of the real daemon socket) and a bad
// certificate is refused with a clear message; workspace settings cannot redirect the daemon connection; no product
// code spawns a process (so no shell ever sees user text). The webview's CSP waits for the webview (issue 4).

import * as assert from 'assert';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as tls from 'tls';
import { pathToFileURL } from 'url';
import { closeAllConnections, DaemonClient } from '../../server/src/docker/daemonClient';
import { DAEMON_STATUS_METHOD, type DaemonStatusParams } from '../../server/src/protocol';
import { requireDaemon } from '../docker/harness';
import { TestClient } from '../server/lspHarness';
import { recordFigure, tmpDir } from './figures';

const ROOT = path.resolve(__dirname, '../../..');
const BIN = path.join(ROOT, 'bin/layerlens.js');
const REAL_SOCKET = '/var/run/docker.sock';

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  assert.strictEqual(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A CA and a certificate signed by it (server: SANs; client: clientAuth). Files: <name>-key.pem, <name>.pem. */
function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}-key.pem`, '-out', `${name}.pem`], dir);
}

function makeCert(dir: string, ca: string, name: string, ext: string): void {
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
}

/** A docker cert dir as DOCKER_CERT_PATH expects it: ca.pem, cert.pem, key.pem. */
function certDir(dir: string, name: string, ca: string, client: string): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d);
  fs.copyFileSync(path.join(dir, `${ca}.pem`), path.join(d, 'ca.pem'));
  fs.copyFileSync(path.join(dir, `${client}.pem`), path.join(d, 'cert.pem'));
  fs.copyFileSync(path.join(dir, `${client}-key.pem`), path.join(d, 'key.pem'));
  return d;
}

describe('hardening 7.5: security', function () {
  this.timeout(120_000);
  const figures: Record<string, unknown> = {};
  after(() => recordFigure('security', figures));

  describe('TLS to a tcp:// daemon (openssl-made certificates, TLS proxy on loopback to the real daemon)', () => {
    let dir: string;
    let server: tls.Server;
    let port: number;
    let handshakes = 0;
    let refusedHandshakes = 0;

    before(async function () {
      await requireDaemon(this);
      dir = tmpDir('tls');
      makeCa(dir, 'ca');
      makeCa(dir, 'evil-ca');
      makeCert(dir, 'ca', 'server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
      makeCert(dir, 'ca', 'wrong-name', 'subjectAltName=DNS:elsewhere.example\nextendedKeyUsage=serverAuth\n');
      makeCert(dir, 'ca', 'client', 'extendedKeyUsage=clientAuth\n');
      makeCert(dir, 'evil-ca', 'evil-client', 'extendedKeyUsage=clientAuth\n');
      ({ server, port } = await tlsProxy('server'));
    });

    /** A TLS listener on loopback presenting `<certName>.pem`, requiring a client certificate from our CA. */
    async function tlsProxy(certName: string): Promise<{ server: tls.Server; port: number }> {
      const read = (f: string): Buffer => fs.readFileSync(path.join(dir, f));
      const srv = tls.createServer({ key: read(`${certName}-key.pem`), cert: read(`${certName}.pem`), ca: read('ca.pem'), requestCert: true, rejectUnauthorized: true }, (c) => {
        handshakes++;
        const upstream = net.connect(REAL_SOCKET);
        c.pipe(upstream).pipe(c);
        c.on('error', () => upstream.destroy());
        upstream.on('error', () => c.destroy());
      });
      srv.on('tlsClientError', () => refusedHandshakes++);
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      return { server: srv, port: (srv.address() as net.AddressInfo).port };
    }

    after(async () => {
      closeAllConnections();
      if (server) await new Promise((r) => server.close(r));
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      figures['tls'] = { handshakesAccepted: handshakes, handshakesRefusedByServer: refusedHandshakes };
    });

    const client = (certs: string, host = `tcp://127.0.0.1:${port}`, verify = '1'): DaemonClient =>
      DaemonClient.fromEnvironment({ env: { DOCKER_HOST: host, DOCKER_TLS_VERIFY: verify, DOCKER_CERT_PATH: certs }, homeDir: '/nonexistent', cacheDir: null, timeoutMs: 5000 });

    it('the right CA and client certificate: connected to the real daemon through TLS (API and CLI)', async () => {
      const good = certDir(dir, 'good', 'ca', 'client');
      const info = await client(good).info();
      assert.strictEqual(info.reachable, true, info.error ?? '');
      assert.match(info.version ?? '', /^\d+\.\d+/);
      fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM alpine\nRUN echo tls\n');
      // Not spawnSync: the TLS proxy runs in this process and must keep serving while the CLI talks to it.
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'analyze', path.join(dir, 'Dockerfile'), '--json'], {
          env: { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: good, LAYERLENS_CACHE_DIR: path.join(dir, '.cache') },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
      assert.strictEqual(r.status, 0, r.stderr);
      const report = JSON.parse(r.stdout) as { daemon: { reachable: boolean; host: string; error: string | null } };
      assert.deepStrictEqual([report.daemon.reachable, report.daemon.host, report.daemon.error], [true, `tcp://127.0.0.1:${port}`, null]);
    });

    it('a server certificate from another CA is refused with one clear sentence', async () => {
      const wrongCa = certDir(dir, 'wrong-ca', 'evil-ca', 'client');
      const info = await client(wrongCa).info();
      assert.strictEqual(info.reachable, false);
      assert.match(info.error ?? '', new RegExp(`^TLS handshake with tcp://127\\.0\\.0\\.1:${port} failed: self[- ]signed certificate in certificate chain$`));
      figures['badCaMessage'] = info.error;
    });

    it('a server certificate for another host name is refused', async () => {
      const good = certDir(dir, 'good-name', 'ca', 'client');
      const other = await tlsProxy('wrong-name');
      try {
        const info = await client(good, `tcp://127.0.0.1:${other.port}`).info();
        assert.strictEqual(info.reachable, false);
        assert.match(info.error ?? '', new RegExp(`^TLS handshake with tcp://127\\.0\\.0\\.1:${other.port} failed: .*IP: 127\\.0\\.0\\.1 is not in the cert's list`));
        figures['wrongNameMessage'] = info.error;
      } finally {
        closeAllConnections();
        await new Promise((r) => other.server.close(r));
      }
    });

    it('a client certificate the daemon does not trust is refused, and the message says so', async () => {
      const evilClient = certDir(dir, 'evil-client', 'ca', 'evil-client');
      const info = await client(evilClient).info();
      assert.strictEqual(info.reachable, false);
      // Regression: it said only "closed the connection during GET /_ping (ECONNRESET)".
      assert.match(info.error ?? '', new RegExp(`^the daemon at tcp://127\\.0\\.0\\.1:\\d+ closed the connection during GET /(_ping|version) \\(ECONNRESET\\); if it requires a client certificate, check that ${evilClient.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/cert\\.pem is signed by a CA it trusts$`));
      figures['untrustedClientMessage'] = info.error;
    });
  });

  describe('untrusted workspaces: settings from the workspace cannot redirect the daemon', () => {
    it('package.json keeps layerLens.dockerHost a machine setting and restricted in untrusted workspaces', () => {
      const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] } };
        contributes: { configuration: { properties: Record<string, { scope?: string }> } };
      };
      assert.strictEqual(pkg.contributes.configuration.properties['layerLens.dockerHost']!.scope, 'machine');
      assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('layerLens.dockerHost'));
      assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('layerLens.contextFolders'));
    });

    it('the server uses what workspace/configuration answers (VS Code applies the restriction there), never a pushed or on-disk workspace value', async () => {
      const dir = tmpDir('untrusted');
      // A hostile workspace: its own settings file names a daemon, and a push carries one too.
      fs.mkdirSync(path.join(dir, '.vscode'));
      fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({ 'layerLens.dockerHost': 'tcp://203.0.113.9:2375' }));
      fs.writeFileSync(path.join(dir, 'Dockerfile'), 'FROM alpine\n');
      let dialled = 0;
      const trap = net.createServer((s) => { dialled++; s.destroy(); });
      await new Promise<void>((r) => trap.listen(path.join(dir, 'trap.sock'), r));
      const user = `unix://${path.join(dir, 'user.sock')}`;
      const c = new TestClient({ env: { ...process.env, DOCKER_HOST: '', LAYERLENS_CACHE_DIR: path.join(dir, '.cache') }, editDebounceMs: 0 }, { dockerHost: user });
      try {
        await c.initialize(undefined, pathToFileURL(dir).toString());
        await c.client.sendNotification('workspace/didChangeConfiguration', { settings: { layerLens: { dockerHost: `unix://${path.join(dir, 'trap.sock')}` } } });
        const uri = pathToFileURL(path.join(dir, 'Dockerfile')).toString();
        await c.open(uri, 'FROM alpine\n');
        await c.analysed(uri, { timeoutMs: 20_000 });
        const s = await c.waitFor<DaemonStatusParams>(DAEMON_STATUS_METHOD, (p) => p.host !== '', { timeoutMs: 10_000 });
        assert.strictEqual(s.host, user, 'the daemon is the one the configuration request answered');
        assert.strictEqual(dialled, 0, 'the pushed workspace value was dialled');
      } finally {
        await c.shutdown();
        closeAllConnections();
        trap.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('no shell, no process: product code never spawns', () => {
    it('server/src and client/src import no child_process and pass no shell option (audit)', () => {
      const files: string[] = [];
      const walk = (d: string): void => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          if (e.isDirectory()) walk(path.join(d, e.name));
          else if (/\.(ts|js|mjs)$/.test(e.name)) files.push(path.join(d, e.name));
        }
      };
      for (const d of ['server/src', 'client/src', 'webview/src']) if (fs.existsSync(path.join(ROOT, d))) walk(path.join(ROOT, d));
      const offenders = files.filter((f) => /child_process|\bshell\s*:\s*true|\bexecSync\b|\bspawn\(|\bexecFile\(/.test(fs.readFileSync(f, 'utf8')));
      figures['spawnAudit'] = { filesScanned: files.length, offenders: offenders.map((f) => path.relative(ROOT, f)) };
      assert.ok(files.length > 50, `only ${files.length} files scanned`);
      assert.deepStrictEqual(offenders, []);
    });

    it('the runtime dependencies spawn only without a shell (dockerode, docker-modem, ssh2, LSP libraries)', () => {
      const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
      const seen = new Set<string>();
      const queue = Object.keys(pkg.dependencies);
      const spawning: string[] = [];
      let scanned = 0;
      while (queue.length > 0) {
        const name = queue.shift()!;
        if (seen.has(name)) continue;
        seen.add(name);
        const dir = path.join(ROOT, 'node_modules', name);
        if (!fs.existsSync(path.join(dir, 'package.json'))) continue;
        const meta = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
        queue.push(...Object.keys(meta.dependencies ?? {}));
        const walk = (d: string): void => {
          for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            if (e.isDirectory()) { if (!/^(test|tests|node_modules|examples?|benchmarks?)$/.test(e.name)) walk(path.join(d, e.name)); }
            else if (e.name.endsWith('.js') && !(name === 'ssh2' && e.name === 'install.js' && d === dir)) {
              // (ssh2/install.js builds an optional native addon at npm install time; Layer Lens never loads it.)
              scanned++;
              const text = fs.readFileSync(path.join(d, e.name), 'utf8');
              assert.doesNotMatch(text, /shell\s*:\s*true/, `${path.relative(ROOT, path.join(d, e.name))} passes shell: true`);
              if (/require\(['"](node:)?child_process['"]\)/.test(text)) spawning.push(path.relative(path.join(ROOT, 'node_modules'), path.join(d, e.name)));
            }
          }
        };
        walk(dir);
      }
      figures['dependencySpawnAudit'] = { packages: seen.size, filesScanned: scanned, filesRequiringChildProcess: spawning };
      // Known and argument-only: ssh2's agent (Windows Pageant / Cygwin helpers); vscode-languageclient forks the
      // bundled server (TransportKind.ipc: a fixed module path) and kills it on Windows with taskkill; the
      // language server's files.js resolves global npm/yarn folders, which Layer Lens never calls. Anything new
      // that loads child_process must be looked at.
      const known = ['ssh2/lib/agent.js', 'vscode-languageclient/lib/node/main.js', 'vscode-languageclient/lib/node/processes.js', 'vscode-languageserver/lib/node/files.js'];
      assert.deepStrictEqual(spawning.filter((f) => !known.includes(f)), []);
    });
  });
});
