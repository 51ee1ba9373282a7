import * as assert from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  ConnectionResolution, contextDirName, nodeFileReader, parseHost, resolveConnection, ResolveInput,
} from '../../server/src/docker/connection';
import { DaemonClient } from '../../server/src/docker/daemonClient';
import { DaemonError } from '../../server/src/docker/errors';
import { daemonRequired } from '../docker/harness';

type Env = Record<string, string | undefined>;

describe('docker/connection: resolveConnection', () => {
  let home: string;
  const files = (): ResolveInput['readFile'] => nodeFileReader();
  const resolve = (env: Env, extra: Partial<ResolveInput> = {}): ConnectionResolution =>
    resolveConnection({ env: { HOME: home, ...env }, readFile: files(), ...extra });

  function writeContext(cfgDir: string, name: string, host: string, opts: { skipTLSVerify?: boolean; tls?: Record<string, string> } = {}): void {
    const hash = createHash('sha256').update(name).digest('hex');
    const metaDir = path.join(cfgDir, 'contexts', 'meta', hash);
    fs.mkdirSync(metaDir, { recursive: true });
    fs.writeFileSync(path.join(metaDir, 'meta.json'), JSON.stringify({
      Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: opts.skipTLSVerify ?? false } },
    }));
    if (opts.tls) {
      const tlsDir = path.join(cfgDir, 'contexts', 'tls', hash, 'docker');
      fs.mkdirSync(tlsDir, { recursive: true });
      for (const [f, body] of Object.entries(opts.tls)) fs.writeFileSync(path.join(tlsDir, f), body);
    }
  }

  function writeCerts(dir: string, which: string[] = ['ca.pem', 'cert.pem', 'key.pem']): void {
    fs.mkdirSync(dir, { recursive: true });
    for (const f of which) fs.writeFileSync(path.join(dir, f), `PEM ${f} in ${dir}`);
  }

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'll-home-'));
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('defaults to the unix socket and the "default" context', () => {
    const r = resolve({});
    assert.deepStrictEqual(
      { host: r.host, source: r.source, contextName: r.contextName, problem: r.problem, opts: r.dockerodeOptions, tls: r.tls },
      { host: 'unix:///var/run/docker.sock', source: 'default', contextName: 'default', problem: null, opts: { socketPath: '/var/run/docker.sock' }, tls: null },
    );
  });

  it('the host setting wins over DOCKER_HOST, DOCKER_CONTEXT and config', () => {
    fs.mkdirSync(path.join(home, '.docker'));
    fs.writeFileSync(path.join(home, '.docker', 'config.json'), JSON.stringify({ currentContext: 'x' }));
    const r = resolve({ DOCKER_HOST: 'tcp://1.2.3.4:2375', DOCKER_CONTEXT: 'y' }, { hostSetting: ' unix:///tmp/setting.sock ' });
    assert.strictEqual(r.source, 'setting');
    assert.strictEqual(r.host, 'unix:///tmp/setting.sock');
    assert.deepStrictEqual(r.dockerodeOptions, { socketPath: '/tmp/setting.sock' });
    assert.strictEqual(resolve({}, { hostSetting: '   ' }).source, 'config', 'blank setting = not set');
  });

  it('DOCKER_HOST unix://, unix:// without path, tcp:// with and without port, bare host:port, IPv6', () => {
    assert.deepStrictEqual(resolve({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }).dockerodeOptions, { socketPath: '/run/user/1000/docker.sock' });
    assert.strictEqual(resolve({ DOCKER_HOST: 'unix://' }).host, 'unix:///var/run/docker.sock');
    const t = resolve({ DOCKER_HOST: 'tcp://10.0.0.5:2375' });
    assert.deepStrictEqual([t.host, t.source, t.contextName, t.dockerodeOptions], ['tcp://10.0.0.5:2375', 'DOCKER_HOST', 'default', { protocol: 'http', host: '10.0.0.5', port: 2375 }]);
    assert.strictEqual(resolve({ DOCKER_HOST: 'tcp://myhost' }).host, 'tcp://myhost:2375');
    assert.strictEqual(resolve({ DOCKER_HOST: 'myhost:1234' }).host, 'tcp://myhost:1234');
    const v6 = resolve({ DOCKER_HOST: 'tcp://[::1]:2375' });
    assert.deepStrictEqual([v6.host, v6.dockerodeOptions.host], ['tcp://[::1]:2375', '::1']);
  });

  it('DOCKER_TLS_VERIFY uses TLS (default port still 2375, as the CLI) with certs from DOCKER_CERT_PATH', () => {
    const certs = path.join(home, 'certs');
    writeCerts(certs);
    const r = resolve({ DOCKER_HOST: 'tcp://remote', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs });
    assert.strictEqual(r.host, 'tcp://remote:2375');
    assert.strictEqual(r.dockerodeOptions.protocol, 'https');
    assert.strictEqual(r.dockerodeOptions.ca!.toString(), `PEM ca.pem in ${certs}`);
    assert.strictEqual(r.dockerodeOptions.cert!.toString(), `PEM cert.pem in ${certs}`);
    assert.strictEqual(r.dockerodeOptions.key!.toString(), `PEM key.pem in ${certs}`);
    assert.deepStrictEqual(r.tls, { verify: true, certDir: certs });
    assert.strictEqual(r.problem, null);
  });

  it('without DOCKER_CERT_PATH, certs come from the config dir (~/.docker, or DOCKER_CONFIG)', () => {
    writeCerts(path.join(home, '.docker'));
    const a = resolve({ DOCKER_HOST: 'tcp://h:9999', DOCKER_TLS_VERIFY: 'yes' });
    assert.strictEqual(a.tls!.certDir, path.join(home, '.docker'));
    assert.strictEqual(a.host, 'tcp://h:9999');
    const cfg = path.join(home, 'elsewhere');
    writeCerts(cfg);
    const b = resolve({ DOCKER_HOST: 'tcp://h', DOCKER_TLS_VERIFY: '1', DOCKER_CONFIG: cfg });
    assert.strictEqual(b.tls!.certDir, cfg);
    assert.strictEqual(b.dockerodeOptions.ca!.toString(), `PEM ca.pem in ${cfg}`);
  });

  it('DOCKER_TLS without VERIFY: TLS without verification; DOCKER_CERT_PATH alone does not enable TLS', () => {
    const r = resolve({ DOCKER_HOST: 'tcp://h', DOCKER_TLS: '1' });
    assert.deepStrictEqual([r.host, r.dockerodeOptions.protocol, r.tls], ['tcp://h:2375', 'https', { verify: false, certDir: null }]);
    const certs = path.join(home, 'c');
    writeCerts(certs);
    const plain = resolve({ DOCKER_HOST: 'tcp://h', DOCKER_CERT_PATH: certs });
    assert.deepStrictEqual([plain.host, plain.dockerodeOptions.protocol, plain.tls], ['tcp://h:2375', 'http', null]);
  });

  it('a client cert without its key is reported as a problem', () => {
    const certs = path.join(home, 'half');
    writeCerts(certs, ['ca.pem', 'cert.pem']);
    const r = resolve({ DOCKER_HOST: 'tcp://h', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs });
    assert.match(r.problem!, /cert\.pem but no key\.pem/);
  });

  it('npipe:// is unusable on linux, fine on win32; unknown schemes and bad ports are problems', () => {
    const p = resolve({ DOCKER_HOST: 'npipe:////./pipe/docker_engine' });
    assert.match(p.problem!, /Windows named pipe/);
    assert.strictEqual(p.source, 'DOCKER_HOST');
    const w = resolve({ DOCKER_HOST: 'npipe:////./pipe/docker_engine' }, { platform: 'win32' });
    assert.deepStrictEqual([w.problem, w.dockerodeOptions.socketPath], [null, '//./pipe/docker_engine']);
    assert.match(resolve({ DOCKER_HOST: 'http://h:1' }).problem!, /unsupported protocol/);
    assert.match(resolve({ DOCKER_HOST: 'tcp://h:99999' }).problem!, /out of range/);
    assert.match(resolve({ DOCKER_HOST: 'tcp://h:abc' }).problem!, /invalid port/);
    assert.match(resolve({ DOCKER_HOST: 'unix://relative.sock' }).problem!, /absolute/);
  });

  it('ssh://user@host:port with the agent socket and a default private key', () => {
    fs.mkdirSync(path.join(home, '.ssh'));
    fs.writeFileSync(path.join(home, '.ssh', 'id_rsa'), 'RSA KEY');
    fs.writeFileSync(path.join(home, '.ssh', 'id_ed25519'), 'ED KEY');
    const r = resolve({ DOCKER_HOST: 'ssh://deploy@build.example:2222', SSH_AUTH_SOCK: '/tmp/agent.sock' });
    assert.strictEqual(r.host, 'ssh://deploy@build.example:2222');
    const o = r.dockerodeOptions;
    assert.deepStrictEqual([o.protocol, o.host, o.port, o.username, o.sshOptions!.agent, o.sshOptions!.privateKey!.toString()],
      ['ssh', 'build.example', 2222, 'deploy', '/tmp/agent.sock', 'ED KEY']);
    const bare = resolve({ DOCKER_HOST: 'ssh://box' });
    assert.deepStrictEqual([bare.host, bare.dockerodeOptions.port, bare.dockerodeOptions.username, bare.dockerodeOptions.sshOptions!.agent],
      ['ssh://box', 22, undefined, undefined]);
    assert.match(resolve({ DOCKER_HOST: 'ssh://u:pw@box' }).problem!, /password/);
  });

  it('DOCKER_HOST beats DOCKER_CONTEXT (CLI precedence)', () => {
    writeContext(path.join(home, '.docker'), 'ctx', 'tcp://ctx-host:2375');
    const r = resolve({ DOCKER_HOST: 'unix:///x.sock', DOCKER_CONTEXT: 'ctx' });
    assert.deepStrictEqual([r.source, r.host, r.contextName], ['DOCKER_HOST', 'unix:///x.sock', 'default']);
  });

  it('DOCKER_CONTEXT reads contexts/meta/<sha256(name)>/meta.json', () => {
    writeContext(path.join(home, '.docker'), 'my ctx', 'unix:///ctx/docker.sock');
    const r = resolve({ DOCKER_CONTEXT: 'my ctx' });
    assert.deepStrictEqual([r.source, r.contextName, r.host, r.dockerodeOptions, r.problem],
      ['DOCKER_CONTEXT', 'my ctx', 'unix:///ctx/docker.sock', { socketPath: '/ctx/docker.sock' }, null]);
  });

  it('context TLS material from contexts/tls/<sha256>/docker, SkipTLSVerify, plain tcp without material', () => {
    const cfg = path.join(home, '.docker');
    writeContext(cfg, 'secure', 'tcp://s.example:2376', { tls: { 'ca.pem': 'CA', 'cert.pem': 'CERT', 'key.pem': 'KEY' } });
    writeContext(cfg, 'skip', 'tcp://k.example', { skipTLSVerify: true }); // no port: Go dials 443 / 80
    writeContext(cfg, 'plain', 'tcp://p.example');
    const s = resolve({ DOCKER_CONTEXT: 'secure' });
    assert.deepStrictEqual([s.host, s.dockerodeOptions.protocol, s.dockerodeOptions.ca!.toString(), s.dockerodeOptions.key!.toString(), s.tls!.verify],
      ['tcp://s.example:2376', 'https', 'CA', 'KEY', true]);
    assert.strictEqual(s.tls!.certDir, path.join(cfg, 'contexts', 'tls', contextDirName('secure'), 'docker'));
    const k = resolve({ DOCKER_CONTEXT: 'skip' });
    assert.deepStrictEqual([k.host, k.dockerodeOptions.protocol, k.dockerodeOptions.port, k.tls], ['tcp://k.example', 'https', 443, { verify: false, certDir: null }]);
    const p = resolve({ DOCKER_CONTEXT: 'plain' });
    assert.deepStrictEqual([p.host, p.dockerodeOptions.protocol, p.dockerodeOptions.port, p.tls], ['tcp://p.example', 'http', 80, null]);
  });

  it('currentContext in config.json (DOCKER_CONFIG respected); "default" means DOCKER_HOST-or-socket', () => {
    const cfg = path.join(home, 'cfg');
    writeContext(cfg, 'remote', 'ssh://me@r.example');
    fs.writeFileSync(path.join(cfg, 'config.json'), JSON.stringify({ auths: {}, currentContext: 'remote' }));
    const r = resolve({ DOCKER_CONFIG: cfg });
    assert.deepStrictEqual([r.source, r.contextName, r.host], ['config', 'remote', 'ssh://me@r.example']);
    // DOCKER_CONTEXT beats config.json
    assert.strictEqual(resolve({ DOCKER_CONFIG: cfg, DOCKER_CONTEXT: 'default' }).host, 'unix:///var/run/docker.sock');
    assert.strictEqual(resolve({ DOCKER_CONFIG: cfg, DOCKER_CONTEXT: 'default' }).source, 'DOCKER_CONTEXT');
    fs.writeFileSync(path.join(cfg, 'config.json'), JSON.stringify({ currentContext: 'default' }));
    assert.deepStrictEqual([resolve({ DOCKER_CONFIG: cfg }).source, resolve({ DOCKER_CONFIG: cfg }).host], ['config', 'unix:///var/run/docker.sock']);
    fs.writeFileSync(path.join(cfg, 'config.json'), JSON.stringify({ auths: {} }));
    assert.strictEqual(resolve({ DOCKER_CONFIG: cfg }).source, 'default');
  });

  it('missing contexts and broken files are problems, not exceptions', () => {
    const cfg = path.join(home, '.docker');
    fs.mkdirSync(cfg);
    const a = resolve({ DOCKER_CONTEXT: 'ghost' });
    assert.match(a.problem!, /context "ghost" \(from DOCKER_CONTEXT\) does not exist/);
    fs.writeFileSync(path.join(cfg, 'config.json'), JSON.stringify({ currentContext: 'gone' }));
    assert.match(resolve({}).problem!, /current context "gone" .*config\.json.* is not found/);
    fs.writeFileSync(path.join(cfg, 'config.json'), '{not json');
    assert.match(resolve({}).problem!, /config\.json is not valid JSON/);
    const hash = contextDirName('broken');
    fs.mkdirSync(path.join(cfg, 'contexts', 'meta', hash), { recursive: true });
    fs.writeFileSync(path.join(cfg, 'contexts', 'meta', hash, 'meta.json'), '{"Endpoints":{}}');
    assert.match(resolve({ DOCKER_CONTEXT: 'broken' }).problem!, /no docker endpoint host/);
  });

  it('is pure: only the injected reader and env are used', () => {
    const seen: string[] = [];
    const r = resolveConnection({
      env: { DOCKER_CONTEXT: 'c' }, homeDir: '/nonexistent-home',
      readFile: (p) => {
        seen.push(p);
        return p.endsWith('meta.json') ? Buffer.from(JSON.stringify({ Endpoints: { docker: { Host: 'tcp://virt:1' } } })) : null;
      },
    });
    assert.strictEqual(r.host, 'tcp://virt:1');
    assert.ok(seen.every((p) => p.startsWith('/nonexistent-home/.docker/')), seen.join(', '));
  });

  it('parseHost edge cases', () => {
    assert.deepStrictEqual(parseHost('tcp://'), { kind: 'tcp', hostname: 'localhost', port: null });
    assert.match((parseHost('fd://') as { problem: string }).problem, /fd:\/\//);
  });

  it('agrees with the docker CLI on the current context and endpoint', function () {
    this.timeout(60000);
    if (spawnSync('docker', ['--version']).status !== 0) {
      if (daemonRequired()) assert.fail('docker CLI not found (CI or LAYERLENS_REQUIRE_DAEMON is set)');
      this.skip();
    }
    const cfg = path.join(home, 'clicfg');
    fs.mkdirSync(cfg);
    const cli = (env: Env, ...args: string[]): string => execFileSync('docker', args, {
      env: { PATH: process.env.PATH, HOME: home, DOCKER_CONFIG: cfg, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
    const certs = path.join(home, 'clicerts');
    fs.mkdirSync(certs);
    // The CLI checks the PEMs: make a real self-signed pair.
    const ssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(certs, 'key.pem'),
      '-out', path.join(certs, 'cert.pem'), '-days', '1', '-subj', '/CN=layerlens-test'], { stdio: 'ignore' });
    if (ssl.status !== 0) {
      if (daemonRequired()) assert.fail('openssl not found (CI or LAYERLENS_REQUIRE_DAEMON is set)');
      this.skip();
    }
    fs.copyFileSync(path.join(certs, 'cert.pem'), path.join(certs, 'ca.pem'));
    cli({}, 'context', 'create', 'tls1', '--docker', `host=tcp://10.9.8.7:2376,ca=${certs}/ca.pem,cert=${certs}/cert.pem,key=${certs}/key.pem`);
    cli({}, 'context', 'create', 'skippy', '--docker', 'host=tcp://s.example:2376,skip-tls-verify=true');
    cli({}, 'context', 'create', 'sshy', '--docker', 'host=ssh://me@box:2222');
    cli({}, 'context', 'create', 'noport', '--docker', 'host=tcp://np.example');
    cli({}, 'context', 'use', 'sshy');
    const cases: Env[] = [
      {}, { DOCKER_CONTEXT: 'tls1' }, { DOCKER_CONTEXT: 'skippy' }, { DOCKER_CONTEXT: 'default' },
      { DOCKER_HOST: 'tcp://1.1.1.1' }, { DOCKER_HOST: 'tcp://1.1.1.1', DOCKER_CONTEXT: 'tls1' }, { DOCKER_HOST: 'unix:///tmp/x.sock' },
      { DOCKER_HOST: 'tcp://1.1.1.1', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }, { DOCKER_HOST: '1.1.1.1:5' },
      { DOCKER_HOST: 'unix://' }, { DOCKER_CONTEXT: 'noport' },
    ];
    for (const env of cases) {
      const out = cli(env, 'context', 'ls', '--format', '{{if .Current}}{{.Name}} {{.DockerEndpoint}}{{end}}').trim();
      const r = resolveConnection({ env: { HOME: home, DOCKER_CONFIG: cfg, ...env }, readFile: nodeFileReader() });
      assert.strictEqual(`${r.contextName} ${r.host}`, out, JSON.stringify(env));
      assert.strictEqual(r.problem, null);
    }
    const t = resolveConnection({ env: { HOME: home, DOCKER_CONFIG: cfg, DOCKER_CONTEXT: 'tls1' }, readFile: nodeFileReader() });
    assert.ok(t.dockerodeOptions.cert!.equals(fs.readFileSync(path.join(certs, 'cert.pem'))));
    assert.ok(t.dockerodeOptions.key!.equals(fs.readFileSync(path.join(certs, 'key.pem'))));
    assert.strictEqual(t.tls!.verify, true);
    const s = resolveConnection({ env: { HOME: home, DOCKER_CONFIG: cfg, DOCKER_CONTEXT: 'skippy' }, readFile: nodeFileReader() });
    assert.strictEqual(s.tls!.verify, false);
  });
});

describe('docker/connection: DaemonClient with an unusable configuration', () => {
  it('info() reports the problem; calls reject with a config DaemonError', async () => {
    const r = resolveConnection({ env: { HOME: '/nonexistent', DOCKER_HOST: 'npipe:////./pipe/x' }, readFile: () => null });
    const c = new DaemonClient(r, { cacheDir: null });
    const info = await c.info();
    assert.strictEqual(info.reachable, false);
    assert.strictEqual(info.host, 'npipe:////./pipe/x');
    assert.match(info.error!, /^cannot use npipe:\/\/\/\/\.\/pipe\/x: .*Windows named pipe/);
    await assert.rejects(c.listImages(), (e: unknown) => e instanceof DaemonError && e.kind === 'config');
  });

  it('a modem-breaking process env (DOCKER_CERT_PATH without certs) does not break an explicit host', async () => {
    const saved = { ...process.env };
    process.env.DOCKER_HOST = 'tcp://127.0.0.1:1';
    process.env.DOCKER_CERT_PATH = '/nonexistent-certs';
    process.env.DOCKER_TLS_VERIFY = '1';
    try {
      const c = DaemonClient.fromEnvironment({ hostSetting: 'unix:///nonexistent/dir/docker.sock', cacheDir: null });
      const info = await c.info();
      assert.strictEqual(info.error, 'cannot connect to unix:///nonexistent/dir/docker.sock: ENOENT (is dockerd running?)');
      assert.strictEqual(process.env.DOCKER_CERT_PATH, '/nonexistent-certs', 'env restored');
    } finally {
      for (const k of ['DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });
});
