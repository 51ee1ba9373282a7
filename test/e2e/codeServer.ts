// A sandboxed code-server (VS Code in a browser) for the end-to-end tests: its own HOME and XDG folders, config,
// user data and extensions folders, a free port on 127.0.0.1, no auth. Everything it starts carries an environment
// marker, so that after it is stopped (by PID) the test can prove that nothing it started is still running.
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { E2ETools } from './e2eEnv';
import { waitUntil, WaitTimeout } from './wait';

/** Environment variable set on code-server and Chromium: every descendant inherits it. */
const SANDBOX_MARKER = 'LAYERLENS_E2E_SANDBOX';

export class CodeServerSandbox {
  readonly home: string;
  readonly configFile: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly browserProfileDir: string;
  readonly logFile: string;
  private proc: ChildProcess | null = null;
  private envOverrides: Readonly<Record<string, string | undefined>> = {};
  private exited: Promise<void> = Promise.resolve();

  private constructor(readonly root: string, private readonly tools: E2ETools) {
    this.home = path.join(root, 'home');
    this.configFile = path.join(root, 'code-server.yaml');
    this.userDataDir = path.join(root, 'user-data');
    this.extensionsDir = path.join(root, 'extensions');
    this.browserProfileDir = path.join(root, 'chromium-profile');
    this.logFile = path.join(root, 'code-server.log');
  }

  static create(tools: E2ETools): CodeServerSandbox {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-e2e-'));
    const s = new CodeServerSandbox(root, tools);
    for (const d of [s.home, s.userDataDir, s.extensionsDir, s.browserProfileDir, path.join(root, 'tmp'), path.join(s.userDataDir, 'User')]) {
      fs.mkdirSync(d, { recursive: true });
    }
    // code-server reads (and otherwise creates in ~/.config) this file even for --version.
    fs.writeFileSync(s.configFile, 'auth: none\ncert: false\n');
    return s;
  }

  /**
   * The environment of everything the sandbox starts: nothing is written outside `root`. `extra` overrides it; an
   * undefined value removes the variable.
   */
  env(extra: Readonly<Record<string, string | undefined>> = this.envOverrides): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: this.home,
      XDG_CONFIG_HOME: path.join(this.home, '.config'),
      XDG_DATA_HOME: path.join(this.home, '.local', 'share'),
      XDG_CACHE_HOME: path.join(this.home, '.cache'),
      XDG_STATE_HOME: path.join(this.home, '.local', 'state'),
      // code-server's IPC sockets (vscode-*.sock) go to the temp folder.
      TMPDIR: path.join(this.root, 'tmp'),
      [SANDBOX_MARKER]: this.root,
      ...extra,
    };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    return env;
  }

  writeUserSettings(settings: Record<string, unknown>): void {
    fs.writeFileSync(path.join(this.userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  }

  /**
   * code-server's machine settings (the "Remote" settings of a remote window): where VS Code takes settings of
   * `machine` scope from in code-server. Written while it runs, they apply at once (VS Code watches the file).
   */
  writeMachineSettings(settings: Record<string, unknown>): void {
    fs.mkdirSync(path.join(this.userDataDir, 'Machine'), { recursive: true });
    fs.writeFileSync(path.join(this.userDataDir, 'Machine', 'settings.json'), JSON.stringify(settings, null, 2));
  }

  private baseArgs(): string[] {
    return [this.tools.codeServerEntry, '--config', this.configFile, '--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir];
  }

  /** `code-server --install-extension FILE.vsix` (a folder is refused; only a .vsix installs cleanly). */
  async installExtension(vsix: string): Promise<string> {
    const out = await runToEnd(this.tools.node, [...this.baseArgs(), '--install-extension', vsix], this.env(), 120_000);
    if (!/successfully installed/i.test(out)) throw new Error(`installing ${vsix} into code-server failed:\n${out}`);
    return out;
  }

  /**
   * Starts code-server on a free port and resolves its URL once /healthz answers. `envOverrides` apply to it (and so
   * to the extension host and the language server) and to later env() calls. `workspaceTrust`: leave VS Code's
   * workspace trust on (the default turns it off with --disable-workspace-trust), so that a folder not yet trusted
   * opens in Restricted Mode — the user settings must then also turn `security.workspace.trust.enabled` on.
   */
  async start(
    workspace: string,
    envOverrides: Readonly<Record<string, string | undefined>> = {},
    deadlineMs = 60_000,
    workspaceTrust = false,
  ): Promise<string> {
    if (this.proc) throw new Error('code-server already started');
    this.envOverrides = envOverrides;
    const port = await freePort();
    const args = [
      ...this.baseArgs(),
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      ...(workspaceTrust ? [] : ['--disable-workspace-trust']),
      '--disable-getting-started-override',
      workspace,
    ];
    const log = fs.openSync(this.logFile, 'a');
    const proc = spawn(this.tools.node, args, { env: this.env(), stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const url = `http://127.0.0.1:${port}`;
    const up = await waitUntil(
      `${url}/healthz`,
      async () => (proc.exitCode !== null || proc.signalCode !== null ? 'exited' : (await healthy(url)) ? 'up' : 'down'),
      (state) => state !== 'down',
      deadlineMs,
    ).catch((e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${this.logTail()}`);
    });
    if (up === 'exited') throw new Error(`code-server exited (${proc.exitCode ?? proc.signalCode}) before answering:\n${this.logTail()}`);
    return url;
  }

  /** Processes started by this sandbox that are running now (code-server, extension hosts, language servers…). */
  processes(): { pid: number; cmdline: string }[] {
    return sandboxProcesses(this.root);
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  logTail(lines = 40): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /**
   * Ends code-server by its PID (SIGTERM; it takes its extension hosts and language servers down), then waits for
   * every process carrying this sandbox's marker to be gone. Returns the ones still running at the deadline (after
   * SIGKILLing them by PID): the caller fails the test when that list is not empty.
   */
  async stop(deadlineMs = 20_000): Promise<string[]> {
    const proc = this.proc;
    this.proc = null;
    const started = Date.now();
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const exited = await waitUntil('code-server to exit', () => proc.exitCode !== null || proc.signalCode !== null, (x) => x, deadlineMs).catch(() => false);
      if (!exited) proc.kill('SIGKILL');
      await this.exited;
    }
    const left = await waitUntil('the sandbox processes to end', () => this.processes(), (ps) => ps.length === 0, Math.max(0, deadlineMs - (Date.now() - started))).catch(
      (e: unknown) => (e instanceof WaitTimeout ? (e.last as { pid: number; cmdline: string }[]) : []),
    );
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    return left.map((p) => `${p.pid} ${p.cmdline}`);
  }

  /** Removes the sandbox folder (after stop()). */
  dispose(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** User settings every end-to-end suite starts from: no start page, trust prompt, telemetry, updates, tips or chat. */
export const QUIET_USER_SETTINGS: Readonly<Record<string, unknown>> = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'editor.minimap.enabled': false,
  'files.autoSave': 'off',
};

/** Stops code-server, removes the sandbox, and fails when any process of it outlived code-server. */
export async function tearDownSandbox(sandbox: CodeServerSandbox): Promise<void> {
  const leaked = await sandbox.stop();
  const log = sandbox.logTail();
  sandbox.dispose();
  if (leaked.length > 0) throw new Error(`processes of the e2e sandbox still running after code-server was stopped:\n${leaked.join('\n')}\n${log}`);
}

/** Processes (not zombies) whose environment carries the marker of the sandbox at `root`. */
export function sandboxProcesses(root: string): { pid: number; cmdline: string }[] {
  const needle = Buffer.from(`${SANDBOX_MARKER}=${root}\0`);
  const found: { pid: number; cmdline: string }[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${name}/environ`);
      if (env.indexOf(needle) < 0) continue;
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue;
      found.push({ pid, cmdline: fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() });
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${url}/healthz`, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Runs a program to its end; resolves with stdout+stderr, rejects on a non-zero exit or the time-out. */
export function runToEnd(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.on('data', (d: Buffer) => chunks.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const out = Buffer.concat(chunks).toString('utf8');
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')}: ${signal ? `killed by ${signal}` : `exit ${code}`}\n${out}`));
    });
  });
}
