/**
 * Helpers for tests that run against a real Docker daemon (Debian docker.io 20.10 on this machine).
 *
 * Typical use:
 *
 *   describeDocker('COPY cache', function () {
 *     const scope = useDockerScope('copy');          // unique tags + temp dirs, removed after the suite
 *     let base: string;
 *     before(async () => { base = await ensureBaseImage(); });
 *
 *     for (const builder of BUILDERS) {
 *       it(`hits after a touch (${builder})`, async function () {
 *         const ctx = scope.context({
 *           Dockerfile: `FROM ${BASE_IMAGE}\nCOPY a.txt /a.txt\nRUN echo ${nonce()} > /n\n`,
 *           'a.txt': 'hello\n',
 *         });
 *         const tag = scope.tag();
 *         const first = await dockerBuild({ dir: ctx.dir, tag, builder });
 *         ctx.touch('a.txt');
 *         const second = await dockerBuild({ dir: ctx.dir, tag, builder });
 *         assert.deepStrictEqual(cachedFlags(second), [true, true]);
 *       });
 *     }
 *   });
 *
 * Rules that keep tests independent (they may run in any order, and other people's builds may share
 * the daemon):
 *   - Tag every image with `uniqueTag()` / `scope.tag()`; they are removed after the suite (or at exit).
 *   - BuildKit's cache is content-addressed across projects and classic finds any child image with an
 *     identical config: when a test needs a *miss*, make the content unique with `nonce()` (e.g. in the
 *     first RUN, or in a copied file). A test that asserts "everything cached" should first build once
 *     itself.
 *   - `builderPrune()` and `removeImage()` of shared images affect every test on the daemon: use them
 *     only for images/caches the test created, or in scenarios that are explicitly about pruning.
 *
 * Every docker call is made with `/usr/bin/docker` (the 20.10 CLI, which can do BuildKit builds; the
 * newer CLI in /usr/local/bin has no buildx and can only do classic builds), through child_process
 * with an argument array — never a shell string.
 */
import { spawn, spawnSync, SpawnOptions } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

// ---------------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------------

/** The docker CLI used for everything (override with LAYERLENS_DOCKER_CLI). */
export const DOCKER_CLI = process.env.LAYERLENS_DOCKER_CLI || '/usr/bin/docker';
/** The busybox binary copied into base images (must be static: Debian's busybox-static). */
export const BUSYBOX_BIN = process.env.LAYERLENS_BUSYBOX || '/bin/busybox';
/** Default base image: a static busybox rootfs imported with `docker import`. */
export const BASE_IMAGE = 'layerlens-test/busybox:1';
/** A second base image whose ID differs (one extra file), for "base image changed" scenarios. */
export const BASE_IMAGE_2 = 'layerlens-test/busybox:2';
/** Repository prefix of every image the harness tags. */
export const TAG_PREFIX = 'layerlens-test';

export type Builder = 'classic' | 'buildkit';
/** Alias of Builder. */
export type BuilderKind = Builder;
export const BUILDERS: readonly Builder[] = ['classic', 'buildkit'];

const DEFAULT_CMD_TIMEOUT_MS = 120_000;
const DEFAULT_BUILD_TIMEOUT_MS = 300_000;

/** Applets linked into /bin when `busybox --list` cannot be run. */
export const DEFAULT_APPLETS: readonly string[] = [
  'sh', 'ash', 'ls', 'cat', 'echo', 'printf', 'mkdir', 'rmdir', 'rm', 'cp', 'mv', 'ln', 'touch', 'chmod',
  'chown', 'chgrp', 'dd', 'head', 'tail', 'wc', 'sleep', 'true', 'false', 'test', '[', 'env', 'id', 'pwd',
  'find', 'grep', 'sed', 'awk', 'sort', 'uniq', 'cut', 'tr', 'tee', 'xargs', 'stat', 'du', 'df', 'tar',
  'gzip', 'gunzip', 'sha256sum', 'md5sum', 'date', 'seq', 'yes', 'truncate', 'basename', 'dirname',
  'readlink', 'realpath', 'which', 'expr', 'uname', 'hostname', 'whoami', 'sync', 'mktemp', 'diff',
];

// ---------------------------------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------------------------------

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the process (SIGKILL) after this many ms; the result then has timedOut = true. */
  timeoutMs?: number;
  /** Do not throw on a non-zero exit. */
  allowFailure?: boolean;
}

export interface RunResult {
  command: string;
  args: string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in arrival order. */
  output: string;
  durationMs: number;
}

export class CommandError extends Error {
  constructor(message: string, readonly run: RunResult) {
    super(message);
    this.name = 'CommandError';
  }
}

function describeRun(r: RunResult): string {
  const how = r.timedOut ? `timed out after ${r.durationMs} ms` : r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`;
  return `${r.command} ${r.args.map(quoteArg).join(' ')}: ${how}`;
}

function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Runs a program with an argument array (no shell), collecting its output. */
export function runCommand(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const spawnOpts: SpawnOptions = {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    };
    let child;
    try {
      child = spawn(command, args, spawnOpts);
    } catch (e) {
      reject(e);
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const all: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => { out.push(d); all.push(d); });
    child.stderr!.on('data', (d: Buffer) => { err.push(d); all.push(d); });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? DEFAULT_CMD_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const r: RunResult = {
        command,
        args,
        exitCode: code,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        output: Buffer.concat(all).toString('utf8'),
        durationMs: Date.now() - started,
      };
      if (code !== 0 && !opts.allowFailure) {
        reject(new CommandError(`${describeRun(r)}\n${r.output.trimEnd()}`, r));
      } else {
        resolve(r);
      }
    });
  });
}

/** Runs `/usr/bin/docker ARGS...`. */
export function docker(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runCommand(DOCKER_CLI, args, opts);
}

// ---------------------------------------------------------------------------------------------------
// Daemon availability
// ---------------------------------------------------------------------------------------------------

export interface DaemonStatus {
  ok: boolean;
  /** Server version when ok, e.g. "20.10.24+dfsg1". */
  serverVersion?: string;
  /** Why the daemon is not usable (when !ok). */
  reason?: string;
}

let daemonStatus: Promise<DaemonStatus> | undefined;

function envFlag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** True when an unreachable daemon must fail the tests (CI, or LAYERLENS_REQUIRE_DAEMON set). */
export function daemonRequired(): boolean {
  return envFlag('CI') || envFlag('LAYERLENS_REQUIRE_DAEMON');
}

/** Checks (once per process unless refresh) that the CLI exists and the daemon answers. */
export function checkDaemon(refresh = false): Promise<DaemonStatus> {
  if (!daemonStatus || refresh) {
    daemonStatus = (async (): Promise<DaemonStatus> => {
      if (!fs.existsSync(DOCKER_CLI)) {
        return { ok: false, reason: `${DOCKER_CLI} not found (run scripts/ensure-docker.sh)` };
      }
      try {
        const r = await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 15_000, allowFailure: true });
        const v = r.stdout.trim();
        if (r.exitCode === 0 && v) return { ok: true, serverVersion: v };
        return {
          ok: false,
          reason: `Docker daemon unreachable (${describeRun(r)}): ${r.output.trim().split('\n').slice(-3).join(' | ')}` +
            ' — start it with: bash scripts/ensure-docker.sh',
        };
      } catch (e) {
        return { ok: false, reason: `Docker daemon check failed: ${(e as Error).message}` };
      }
    })();
  }
  return daemonStatus;
}

/**
 * Call from a mocha hook or test (`before(async function () { await requireDaemon(this); })`).
 * When the daemon is unreachable: throws (a failure) when CI or LAYERLENS_REQUIRE_DAEMON is set,
 * otherwise skips the test/suite with the reason.
 */
export async function requireDaemon(ctx: Mocha.Context): Promise<void> {
  const s = await checkDaemon();
  if (s.ok) return;
  if (daemonRequired()) {
    throw new Error(`${s.reason} [failing, not skipping: CI/LAYERLENS_REQUIRE_DAEMON is set]`);
  }
  console.log(`      (skipped: ${s.reason})`);
  ctx.skip();
}

/** `describe` whose suite needs the daemon: requires it in a `before` hook, allows slow builds. */
export function describeDocker(title: string, fn: (this: Mocha.Suite) => void): Mocha.Suite {
  return describe(title, function (this: Mocha.Suite) {
    this.timeout(Math.max(this.timeout(), DEFAULT_BUILD_TIMEOUT_MS));
    before(async function () {
      await requireDaemon(this);
    });
    fn.call(this);
  });
}

// ---------------------------------------------------------------------------------------------------
// Unique names and cleanup
// ---------------------------------------------------------------------------------------------------

const RUN_ID = `${process.pid.toString(36)}${Date.now().toString(36)}${crypto.randomBytes(2).toString('hex')}`;
let tagCounter = 0;
const trackedTags = new Set<string>();
const trackedDirs = new Set<string>();

/** Random hex string: put it in a RUN or a file to make a step's cache key unique. */
export function nonce(bytes = 8): string {
  return crypto.randomBytes(bytes).toString('hex');
}

function sanitizeLabel(label: string): string {
  const s = label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  return s || 't';
}

/** A tag no other test or process uses, e.g. `layerlens-test/copy:k2x9a1b-3`. Tracked for cleanup. */
export function uniqueTag(label = 't'): string {
  const tag = `${TAG_PREFIX}/${sanitizeLabel(label)}:${RUN_ID}-${++tagCounter}`;
  trackedTags.add(tag);
  return tag;
}

/** Remove `tag` at cleanup (`cleanupAll`, the root hook, or process exit). */
export function trackTag(tag: string): string {
  trackedTags.add(tag);
  return tag;
}

/** Remove `dir` (recursively) at cleanup. */
export function trackDir(dir: string): string {
  trackedDirs.add(dir);
  return dir;
}

function keepArtifacts(): boolean {
  return envFlag('LAYERLENS_KEEP_ARTIFACTS');
}

async function releaseTags(tags: Iterable<string>): Promise<void> {
  const list = [...tags];
  if (list.length === 0) return;
  for (const t of list) trackedTags.delete(t);
  if (keepArtifacts()) return;
  // One rmi call; missing images are fine ("No such image" for the ones never built).
  await docker(['rmi', '-f', ...list], { allowFailure: true, timeoutMs: 120_000 }).catch(() => undefined);
}

function releaseDirs(dirs: Iterable<string>): void {
  for (const d of [...dirs]) {
    trackedDirs.delete(d);
    if (!keepArtifacts()) fs.rmSync(d, { recursive: true, force: true });
  }
}

/** When this process loaded the harness: images made dangling after it are this run's leftovers. */
const RUN_STARTED_MS = Date.now();

/**
 * Removes the dangling images created since this run started. Rebuilding a tag leaves the image it named before
 * untagged (every scenario does that), and removing the tag at the end does not reach it: without this, each run of
 * the suite left hundreds of images behind, and every daemon call that lists images (ours, `docker images`,
 * BuildKit's disk usage) grew slower run after run. On a shared daemon this also takes another client's dangling
 * images of the same minutes (unreferenced by definition). Older images, and dangling ones still used (a child, a
 * container), stay.
 */
async function removeOwnDanglingImages(): Promise<void> {
  if (keepArtifacts() || !fs.existsSync(DOCKER_CLI)) return;
  const listed = await docker(['images', '--no-trunc', '-f', 'dangling=true', '--format', '{{.ID}} {{.CreatedAt}}'], { allowFailure: true, timeoutMs: 60_000 }).catch(() => null);
  if (!listed || listed.exitCode !== 0) return;
  const ids = listed.stdout.split('\n').flatMap((line) => {
    // CreatedAt: "2026-11-27 21:35:02 +0000 UTC"; a second of slack for clocks that truncate.
    const m = /^(sha256:[0-9a-f]{64}) (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) ([+-]\d\d)(\d\d)/.exec(line.trim());
    if (!m) return [];
    const created = Date.parse(`${m[2]}T${m[3]}${m[4]}:${m[5]}`);
    return created >= Math.floor(RUN_STARTED_MS / 1000) * 1000 - 1000 ? [m[1]!] : [];
  });
  for (let i = 0; i < ids.length; i += 200) {
    await docker(['rmi', ...ids.slice(i, i + 200)], { allowFailure: true, timeoutMs: 300_000 }).catch(() => undefined);
  }
}

/** Removes every tracked tag and temp dir, then the dangling images the run left. Safe to call repeatedly. */
export async function cleanupAll(): Promise<void> {
  await releaseTags([...trackedTags]);
  releaseDirs([...trackedDirs]);
  await removeOwnDanglingImages();
}

// Last resort: whatever a run leaves tracked is removed when the process exits.
process.once('exit', () => {
  if (keepArtifacts()) return;
  if (trackedTags.size > 0 && fs.existsSync(DOCKER_CLI)) {
    spawnSync(DOCKER_CLI, ['rmi', '-f', ...trackedTags], { stdio: 'ignore', timeout: 60_000 });
  }
  for (const d of trackedDirs) {
    try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* ignore */ }
  }
});

/** A group of tags and contexts that are released together (e.g. after one suite). */
export class DockerScope {
  private readonly tags = new Set<string>();
  private readonly dirs = new Set<string>();

  constructor(readonly label = 't') {}

  /** A unique tag, released with this scope. */
  tag(label = this.label): string {
    const t = uniqueTag(label);
    this.tags.add(t);
    return t;
  }

  /** A fresh build context (see makeContext) with its helpers, released with this scope. */
  context(files: ContextFiles = {}): BuildContext {
    const dir = makeContext(files);
    this.dirs.add(dir);
    return openContext(dir);
  }

  /** A temp dir, released with this scope. */
  tempDir(prefix = 'layerlens-tmp-'): string {
    const d = makeTempDir(prefix);
    this.dirs.add(d);
    return d;
  }

  /** dockerBuild with a tag from this scope when none is given. */
  build(opts: Omit<DockerBuildOptions, 'tag' | 'builder'> & { tag?: string; builder: 'classic' }): Promise<ClassicBuildResult>;
  build(opts: Omit<DockerBuildOptions, 'tag' | 'builder'> & { tag?: string; builder: 'buildkit' }): Promise<BuildKitBuildResult>;
  build(opts: Omit<DockerBuildOptions, 'tag'> & { tag?: string }): Promise<BuildResult>;
  build(opts: Omit<DockerBuildOptions, 'tag'> & { tag?: string }): Promise<BuildResult> {
    const tag = opts.tag ?? this.tag();
    if (opts.tag) this.tags.add(opts.tag);
    return dockerBuild({ ...opts, tag });
  }

  /** Removes this scope's images and directories. */
  async dispose(): Promise<void> {
    const tags = [...this.tags];
    const dirs = [...this.dirs];
    this.tags.clear();
    this.dirs.clear();
    await releaseTags(tags);
    releaseDirs(dirs);
  }
}

/** Call inside a describe(): a scope disposed in that suite's `after` hook. */
export function useDockerScope(label = 't'): DockerScope {
  const scope = new DockerScope(label);
  after(async function () {
    this.timeout(120_000);
    await scope.dispose();
  });
  return scope;
}

// ---------------------------------------------------------------------------------------------------
// Build contexts
// ---------------------------------------------------------------------------------------------------

export type FileSpec =
  | string
  | Buffer
  | { content: string | Buffer; mode?: number; mtime?: Date | number }
  | { symlink: string }
  | { dir: true; mode?: number };
export type ContextFiles = Record<string, FileSpec>;

export interface BuildContext {
  /** Absolute path of the context directory (mode 0755). */
  readonly dir: string;
  /** Absolute path of a file in the context. */
  path(rel: string): string;
  /** Writes a file (parents created 0755); mode defaults to 0644 and is set exactly (no umask). */
  writeFile(rel: string, content: string | Buffer, mode?: number): void;
  /** Writes several entries (same forms as makeContext). */
  writeFiles(files: ContextFiles): void;
  readFile(rel: string): string;
  /** Changes only the mtime (default: at least 2 s later than now and than the old mtime). */
  touch(rel: string, mtime?: Date | number): void;
  chmod(rel: string, mode: number): void;
  symlink(rel: string, target: string): void;
  /** Removes a file or directory (recursively); missing is fine. */
  remove(rel: string): void;
  /** Deletes the whole context directory. */
  cleanup(): void;
}

function makeTempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(d, 0o755);
  return trackDir(d);
}

function resolveIn(dir: string, rel: string): string {
  if (path.isAbsolute(rel)) throw new Error(`context paths are relative: ${rel}`);
  const p = path.resolve(dir, rel);
  if (p !== dir && !p.startsWith(dir + path.sep)) throw new Error(`path escapes the context: ${rel}`);
  return p;
}

function ensureParents(dir: string, p: string): void {
  const parents: string[] = [];
  for (let d = path.dirname(p); d !== dir && d.startsWith(dir + path.sep); d = path.dirname(d)) parents.unshift(d);
  for (const d of parents) {
    if (!fs.existsSync(d)) {
      fs.mkdirSync(d);
      fs.chmodSync(d, 0o755);
    }
  }
}

/** Writes `content` to DIR/REL with an exact mode (default 0644). */
export function writeFile(dir: string, rel: string, content: string | Buffer, mode = 0o644): void {
  const p = resolveIn(dir, rel);
  ensureParents(dir, p);
  if (fs.lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink()) fs.unlinkSync(p);
  fs.writeFileSync(p, content);
  fs.chmodSync(p, mode);
}

/** Changes only DIR/REL's mtime (atime and content untouched). */
export function touch(dir: string, rel: string, mtime?: Date | number): void {
  const p = resolveIn(dir, rel);
  const st = fs.statSync(p);
  const when = mtime ?? new Date(Math.max(Date.now(), st.mtimeMs) + 2000);
  fs.utimesSync(p, st.atime, when);
}

export function chmod(dir: string, rel: string, mode: number): void {
  fs.chmodSync(resolveIn(dir, rel), mode);
}

export function remove(dir: string, rel: string): void {
  fs.rmSync(resolveIn(dir, rel), { recursive: true, force: true });
}

export function symlink(dir: string, rel: string, target: string): void {
  const p = resolveIn(dir, rel);
  ensureParents(dir, p);
  fs.rmSync(p, { force: true, recursive: true });
  fs.symlinkSync(target, p);
}

function writeEntry(dir: string, rel: string, spec: FileSpec): void {
  if (typeof spec === 'string' || Buffer.isBuffer(spec)) {
    writeFile(dir, rel, spec);
  } else if ('symlink' in spec) {
    symlink(dir, rel, spec.symlink);
  } else if ('dir' in spec) {
    const p = resolveIn(dir, rel);
    ensureParents(dir, p);
    fs.mkdirSync(p, { recursive: true });
    fs.chmodSync(p, spec.mode ?? 0o755);
  } else {
    writeFile(dir, rel, spec.content, spec.mode ?? 0o644);
    if (spec.mtime !== undefined) touch(dir, rel, spec.mtime);
  }
}

/** Writes several entries into DIR (same forms as makeContext). */
export function writeFiles(dir: string, files: ContextFiles): void {
  for (const [rel, spec] of Object.entries(files)) writeEntry(dir, rel, spec);
}

/**
 * A fresh temp directory (mode 0755) holding `files`, returned as its absolute path:
 * `{ 'Dockerfile': '...', 'src/a.txt': Buffer, 'run.sh': { content, mode: 0o755 },
 *    'link': { symlink: 'a.txt' }, 'empty': { dir: true } }`.
 * Files get mode 0644 and directories 0755 unless given (umask does not apply).
 * Removed by cleanupAll()/at process exit; edit it with writeFile/touch/chmod/remove(dir, rel, ...).
 */
export function makeContext(files: ContextFiles = {}): string {
  const dir = makeTempDir('layerlens-ctx-');
  writeFiles(dir, files);
  return dir;
}

/** The context helpers bound to DIR. */
export function openContext(dir: string): BuildContext {
  dir = path.resolve(dir);
  const ctx: BuildContext = {
    dir,
    path: (rel) => resolveIn(dir, rel),
    writeFile: (rel, content, mode) => writeFile(dir, rel, content, mode),
    writeFiles: (files) => writeFiles(dir, files),
    readFile: (rel) => fs.readFileSync(resolveIn(dir, rel), 'utf8'),
    touch: (rel, mtime) => touch(dir, rel, mtime),
    chmod: (rel, mode) => chmod(dir, rel, mode),
    symlink: (rel, target) => symlink(dir, rel, target),
    remove: (rel) => remove(dir, rel),
    cleanup: () => releaseDirs([dir]),
  };
  return ctx;
}

// ---------------------------------------------------------------------------------------------------
// Dockerfile stages (enough to name and order stages; not a Dockerfile parser)
// ---------------------------------------------------------------------------------------------------

export interface DockerfileStage {
  /** 0-based position of the FROM. */
  index: number;
  /** `AS name`, lower-cased (BuildKit lower-cases it too), or null. */
  name: string | null;
  /** What BuildKit prints in vertex names: the name, or `stage-<index>`. */
  label: string;
  /** The FROM argument as written (image or stage reference). */
  from: string;
}

/** Lists the FROM lines of a Dockerfile (honours `\` continuations, `# escape=`, comments). */
export function dockerfileStages(text: string): DockerfileStage[] {
  const rawLines = text.split(/\r?\n/);
  let escape = '\\';
  for (const l of rawLines) {
    const m = /^\s*#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(l);
    if (!m) break; // parser directives only at the very top
    if (m[1].toLowerCase() === 'escape') escape = m[2];
  }
  const logical: string[] = [];
  let cur: string | null = null;
  for (const raw of rawLines) {
    if (cur !== null && /^\s*#/.test(raw)) continue; // comment inside a continuation
    if (cur === null && (/^\s*#/.test(raw) || raw.trim() === '')) continue;
    const trimmed = raw.replace(/\s+$/, '');
    const cont = trimmed.endsWith(escape);
    const piece = cont ? trimmed.slice(0, -escape.length) : trimmed;
    cur = cur === null ? piece : `${cur} ${piece}`;
    if (!cont) {
      logical.push(cur);
      cur = null;
    }
  }
  if (cur !== null) logical.push(cur);
  const stages: DockerfileStage[] = [];
  for (const l of logical) {
    const m = /^\s*FROM\s+(.*)$/i.exec(l);
    if (!m) continue;
    const words = m[1].trim().split(/\s+/).filter((w) => !w.startsWith('--'));
    const index = stages.length;
    const name = words.length >= 3 && words[1].toLowerCase() === 'as' ? words[2].toLowerCase() : null;
    stages.push({ index, name, label: name ?? `stage-${index}`, from: words[0] ?? '' });
  }
  return stages;
}

// ---------------------------------------------------------------------------------------------------
// Build output parsing
// ---------------------------------------------------------------------------------------------------

/** What every parsed step has, whichever builder printed it. */
export interface BuildStep {
  /** 1-based position in `steps` (classic: the N of `Step N/M`). */
  index: number;
  /**
   * Stage label as BuildKit prints it — the `AS` name (lower-cased) or `stage-<i>` — and null when the
   * Dockerfile has a single stage.
   */
  stage: string | null;
  /** 0-based stage index (null when it cannot be told). */
  stageIndex: number | null;
  /** classic: N of `Step N/M` (global); BuildKit: i of `[stage i/n]` (per stage, FROM-image = 1). */
  stepIndex: number;
  /** classic: M of `Step N/M`; BuildKit: n of `[stage i/n]`. */
  stepCount: number;
  /** The instruction as printed, e.g. `COPY a.txt /a.txt` (BuildKit expands build args/env). */
  text: string;
  /** Upper-cased first word: FROM, RUN, COPY, ... */
  instruction: string;
  isFrom: boolean;
  /** The builder reused its cache for this step. See each builder's note for FROM. */
  cached: boolean;
}

export interface ClassicStep extends BuildStep {
  /** ` ---> Using cache` was printed for this step. Always false for FROM (not a cache lookup). */
  cached: boolean;
  /** 0-based stage (counting FROM steps). */
  stageIndex: number;
  /** `AS name` of the stage (lower-cased), or null. */
  stageName: string | null;
  /** Short ID printed as ` ---> <id>` at the end of the step (null when it failed/never finished). */
  resultId: string | null;
  /** The step started but printed no result (the build failed there). */
  failed: boolean;
}

export interface BuildKitVertex {
  /** The `#N` number. */
  vertex: number;
  /** The vertex name as printed, e.g. `[stage-1 2/4] COPY . .` or `[internal] load build context`. */
  name: string;
  digest: string | null;
  status: 'cached' | 'done' | 'error' | 'canceled' | 'incomplete';
  cached: boolean;
  durationSec: number | null;
  error: string | null;
  /** Output lines of the step (timestamp removed). */
  logs: string[];
}

export interface BuildKitStep extends BuildStep {
  vertex: number;
  /** Stage label as printed (`build`, `stage-1`), null for a single-stage Dockerfile. */
  stage: string | null;
  /**
   * `[... i/n]`: i is 1-based, FROM is 1 when the stage starts from an image (a stage that starts
   * `FROM otherstage` has no FROM vertex: its first step is then RUN/COPY at 1); n counts FROM-image and
   * the RUN/COPY/ADD/WORKDIR steps of the stage (ENV, CMD, ARG, LABEL, USER... are not vertices).
   */
  stepIndex: number;
  stepCount: number;
  /**
   * `#N CACHED` was printed. For FROM vertices this carries no meaning (a local base prints DONE or
   * CACHED at random) and one FROM vertex is shared by every stage with the same base image.
   */
  cached: boolean;
  status: BuildKitVertex['status'];
  error: string | null;
  durationSec: number | null;
}

interface BuildResultBase {
  ok: boolean;
  tag: string;
  /** Full `sha256:...` ID of the built image (from --iidfile, or the output), null on failure. */
  imageId: string | null;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  output: string;
  args: string[];
  durationMs: number;
}

export interface ClassicBuildResult extends BuildResultBase {
  builder: 'classic';
  steps: ClassicStep[];
}

export interface BuildKitBuildResult extends BuildResultBase {
  builder: 'buildkit';
  steps: BuildKitStep[];
  /** Every vertex in print order, internal ones included. */
  vertices: BuildKitVertex[];
}

export type BuildResult = ClassicBuildResult | BuildKitBuildResult;

const CLASSIC_STEP_RE = /^Step (\d+)\/(\d+) : (.*)$/;
const CLASSIC_ARROW_RE = /^ ---> (.*)$/;
const HEX_ID_RE = /^[0-9a-f]{12,64}$/;

/**
 * Parses classic builder output (stdout of `DOCKER_BUILDKIT=0 docker build`):
 *   Step 2/5 : COPY a.txt /a.txt
 *    ---> Using cache            (hit; absent on a miss)
 *    ---> 76836524922d
 * A `Step` line is only taken when its numbers continue the sequence, so RUN output that looks like
 * a step does not confuse it; a step is a hit when its first ` ---> ` line is ` ---> Using cache`.
 */
export function parseClassicOutput(
  stdout: string,
  stages?: DockerfileStage[],
): { steps: ClassicStep[]; shortImageId: string | null } {
  const steps: ClassicStep[] = [];
  let total: number | null = null;
  let stageIndex = -1;
  let stageName: string | null = null;
  let cur: ClassicStep | null = null;
  let decided = false;
  let shortImageId: string | null = null;
  for (const line of stdout.split(/\r?\n/)) {
    const m = CLASSIC_STEP_RE.exec(line);
    if (m && Number(m[1]) === steps.length + 1 && (total === null || Number(m[2]) === total)) {
      total = Number(m[2]);
      const text = m[3].trim();
      const instruction = (text.split(/\s+/)[0] ?? '').toUpperCase();
      const isFrom = instruction === 'FROM';
      if (isFrom) {
        stageIndex++;
        const w = text.split(/\s+/).filter((x) => !x.startsWith('--'));
        stageName = w.length >= 4 && w[2].toLowerCase() === 'as' ? w[3].toLowerCase() : null;
      }
      const si = Math.max(stageIndex, 0);
      cur = {
        index: Number(m[1]), stage: null, stageIndex: si, stepIndex: Number(m[1]), stepCount: total,
        text, instruction, isFrom, cached: false, stageName, resultId: null, failed: false,
      };
      steps.push(cur);
      decided = false;
      continue;
    }
    const sb = /^Successfully built ([0-9a-f]+)\s*$/.exec(line);
    if (sb) {
      shortImageId = sb[1];
      continue;
    }
    if (!cur) continue;
    const a = CLASSIC_ARROW_RE.exec(line);
    if (!a) continue;
    const rest = a[1].trim();
    if (!decided) {
      decided = true;
      cur.cached = rest === 'Using cache' && !cur.isFrom;
    }
    if (HEX_ID_RE.test(rest)) cur.resultId = rest;
  }
  const multiStage = stages ? stages.length > 1 : stageIndex > 0;
  for (const s of steps) {
    s.failed = s.resultId === null;
    if (multiStage) s.stage = stages?.[s.stageIndex]?.label ?? s.stageName ?? `stage-${s.stageIndex}`;
  }
  return { steps, shortImageId };
}

const BK_LINE_RE = /^#(\d+) (.*)$/;
const BK_STEP_RE = /^\[(?:([^\s\]]+) )?(\d+)\/(\d+)\] ([\s\S]*)$/;
const BK_DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/**
 * Parses BuildKit `--progress=plain` output (stderr of `DOCKER_BUILDKIT=1 docker build`):
 *   #6 [stage-1 2/3] COPY a.txt /a.txt      (header: first line of a vertex)
 *   #6 sha256:43487c7d...                   (vertex digest)
 *   #6 0.191 some output                    (log line, "<seconds> <text>")
 *   #6 CACHED | #6 DONE 0.2s | #6 ERROR: ... | #6 CANCELED
 * Internal vertices (`[internal] load ...`, `exporting to image`, ...) go to `vertices` only.
 * Steps are sorted by stage (Dockerfile order when `stages` is given, else first appearance), then step.
 */
export function parseBuildKitOutput(
  output: string,
  stages: DockerfileStage[] = [],
): { steps: BuildKitStep[]; vertices: BuildKitVertex[]; imageId: string | null } {
  const byNum = new Map<number, BuildKitVertex>();
  const vertices: BuildKitVertex[] = [];
  let imageId: string | null = null;
  for (const line of output.split(/\r?\n/)) {
    const m = BK_LINE_RE.exec(line);
    if (!m) continue;
    const n = Number(m[1]);
    const rest = m[2];
    let v = byNum.get(n);
    if (!v) {
      v = { vertex: n, name: rest, digest: null, status: 'incomplete', cached: false, durationSec: null, error: null, logs: [] };
      byNum.set(n, v);
      vertices.push(v);
      continue;
    }
    if (rest === v.name || rest === '...') continue; // header printed again after interleaving
    if (BK_DIGEST_RE.test(rest)) {
      v.digest = rest;
    } else if (rest === 'CACHED') {
      v.cached = true;
      v.status = 'cached';
    } else if (rest === 'CANCELED') {
      v.status = 'canceled';
    } else if (rest.startsWith('ERROR')) {
      v.status = 'error';
      v.error = rest.replace(/^ERROR:?\s*/, '');
    } else if (/^DONE(\s|$)/.test(rest)) {
      v.status = v.cached ? 'cached' : 'done';
      const d = /^DONE ([\d.]+)s/.exec(rest);
      if (d) v.durationSec = Number(d[1]);
    } else {
      const log = /^\d+\.\d+ ([\s\S]*)$/.exec(rest);
      if (log) {
        v.logs.push(log[1]);
      } else {
        const w = /writing image (sha256:[0-9a-f]{64})/.exec(rest);
        if (w) imageId = w[1];
      }
    }
  }

  const stageOrder = new Map<string, number>();
  for (const s of stages) stageOrder.set(s.label, s.index);
  const firstSeen = new Map<string, number>();
  const steps: BuildKitStep[] = [];
  for (const v of vertices) {
    const m = BK_STEP_RE.exec(v.name);
    if (!m) continue;
    const stage = m[1] ?? null;
    if (stage !== null && !firstSeen.has(stage)) firstSeen.set(stage, firstSeen.size);
    let stageIndex: number | null = null;
    if (stage === null) stageIndex = stages.length <= 1 ? 0 : null;
    else if (stageOrder.has(stage)) stageIndex = stageOrder.get(stage)!;
    else if (/^stage-\d+$/.test(stage)) stageIndex = Number(stage.slice(6));
    const text = m[4];
    const instruction = (text.split(/\s+/)[0] ?? '').toUpperCase();
    steps.push({
      index: 0,
      vertex: v.vertex,
      stage,
      stageIndex,
      stepIndex: Number(m[2]),
      stepCount: Number(m[3]),
      text,
      instruction,
      isFrom: instruction === 'FROM',
      cached: v.cached,
      status: v.status,
      error: v.error,
      durationSec: v.durationSec,
    });
  }
  const rank = (s: BuildKitStep): number => {
    if (s.stage === null) return -1;
    if (s.stageIndex !== null) return s.stageIndex;
    return 10_000 + (firstSeen.get(s.stage) ?? 0);
  };
  steps.sort((a, b) => rank(a) - rank(b) || a.stepIndex - b.stepIndex || a.vertex - b.vertex);
  steps.forEach((s, i) => { s.index = i + 1; });
  return { steps, vertices, imageId };
}

// ---------------------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------------------

export interface DockerBuildOptions {
  /** Context directory. */
  dir: string;
  /** Dockerfile path, relative to `dir` (or absolute); default `dir/Dockerfile`. Keep it inside the
   *  context: a Dockerfile outside is sent under a random name and busts `COPY . .`. */
  dockerfile?: string;
  /** Image tag; default a fresh uniqueTag('build'). Tags are tracked for cleanup. */
  tag?: string;
  builder: Builder;
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  /** More `docker build` flags (placed before the context path). */
  extraArgs?: string[];
  /** Extra environment for the CLI. DOCKER_BUILDKIT is always set from `builder`. */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Return a result with ok=false instead of throwing when the build fails. */
  allowFailure?: boolean;
}

export class DockerBuildError extends Error {
  constructor(message: string, readonly result: BuildResult) {
    super(message);
    this.name = 'DockerBuildError';
  }
}

/** The `docker build` argument array dockerBuild uses (exported for inspection/tests). */
export function dockerBuildArgs(opts: DockerBuildOptions & { tag: string }, iidFile?: string): string[] {
  const args = ['build', '--network', 'none'];
  if (opts.builder === 'buildkit') args.push('--progress=plain');
  // Classic keeps the container of a failed RUN (it then pins its image); --force-rm removes it.
  else args.push('--force-rm');
  args.push('-t', opts.tag);
  if (iidFile) args.push('--iidfile', iidFile);
  if (opts.dockerfile) args.push('-f', path.resolve(opts.dir, opts.dockerfile));
  for (const [k, v] of Object.entries(opts.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
  if (opts.target) args.push('--target', opts.target);
  if (opts.noCache) args.push('--no-cache');
  args.push(...(opts.extraArgs ?? []));
  args.push(opts.dir);
  return args;
}

/**
 * Runs `/usr/bin/docker build --network none [--progress=plain] ...` with DOCKER_BUILDKIT=0|1 and parses
 * the per-step cache outcomes. Throws DockerBuildError (with the output and the partial parse) on
 * failure unless allowFailure.
 */
export function dockerBuild(opts: DockerBuildOptions & { builder: 'classic' }): Promise<ClassicBuildResult>;
export function dockerBuild(opts: DockerBuildOptions & { builder: 'buildkit' }): Promise<BuildKitBuildResult>;
export function dockerBuild(opts: DockerBuildOptions): Promise<BuildResult>;
export async function dockerBuild(opts: DockerBuildOptions): Promise<BuildResult> {
  if (opts.builder !== 'classic' && opts.builder !== 'buildkit') {
    throw new Error(`unknown builder: ${String(opts.builder)}`);
  }
  const tag = trackTag(opts.tag ?? uniqueTag('build'));
  const tmp = trackDir(fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-iid-')));
  const iidFile = path.join(tmp, 'iid');
  const args = dockerBuildArgs({ ...opts, tag }, iidFile);
  const env: NodeJS.ProcessEnv = { ...process.env, ...(opts.env ?? {}), DOCKER_BUILDKIT: opts.builder === 'buildkit' ? '1' : '0' };
  let run: RunResult;
  let iid: string | null = null;
  try {
    run = await docker(args, { env, timeoutMs: opts.timeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS, allowFailure: true });
    if (fs.existsSync(iidFile)) iid = fs.readFileSync(iidFile, 'utf8').trim() || null;
  } finally {
    trackedDirs.delete(tmp);
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const ok = run.exitCode === 0;
  const base: BuildResultBase = {
    ok, tag, imageId: null, exitCode: run.exitCode, stdout: run.stdout, stderr: run.stderr, output: run.output,
    args, durationMs: run.durationMs,
  };
  let stages: DockerfileStage[] | undefined;
  try {
    stages = dockerfileStages(fs.readFileSync(path.resolve(opts.dir, opts.dockerfile ?? 'Dockerfile'), 'utf8'));
  } catch {
    stages = undefined;
  }
  let result: BuildResult;
  if (opts.builder === 'classic') {
    const p = parseClassicOutput(run.stdout, stages);
    let imageId = ok ? iid : null;
    if (ok && !imageId && p.shortImageId) imageId = await imageIdOf(p.shortImageId);
    result = { ...base, builder: 'classic', steps: p.steps, imageId };
  } else {
    const p = parseBuildKitOutput(run.stderr + '\n' + run.stdout, stages);
    result = { ...base, builder: 'buildkit', steps: p.steps, vertices: p.vertices, imageId: ok ? iid ?? p.imageId : null };
  }
  if (!ok && !opts.allowFailure) {
    throw new DockerBuildError(`docker build failed (${describeRun(run)})\n${run.output.trimEnd()}`, result);
  }
  return result;
}

/** Steps whose cache outcome means something (FROM excluded), in Dockerfile order. */
export function cacheSteps<T extends BuildStep>(steps: T[]): T[];
export function cacheSteps(result: BuildResult): BuildStep[];
export function cacheSteps(x: BuildResult | BuildStep[]): BuildStep[] {
  const steps: BuildStep[] = Array.isArray(x) ? x : x.steps;
  return steps.filter((s) => !s.isFrom);
}

/** `cached` of every non-FROM step, in order — handy for deepStrictEqual. */
export function cachedFlags(result: BuildResult): boolean[] {
  return cacheSteps(result).map((s) => s.cached);
}

/** `[text, cached]` of every non-FROM step, for readable assertion messages. */
export function cacheSummary(result: BuildResult): Array<{ text: string; cached: boolean }> {
  return cacheSteps(result).map((s) => ({ text: s.text, cached: s.cached }));
}

/** The step whose text contains `needle` (or matches it); throws if none or several. */
export function findStep(result: BuildResult, needle: string | RegExp): ClassicStep | BuildKitStep {
  const hits = (result.steps as Array<ClassicStep | BuildKitStep>).filter((s) => (typeof needle === 'string' ? s.text.includes(needle) : needle.test(s.text)));
  if (hits.length !== 1) {
    throw new Error(`expected exactly one step matching ${String(needle)}, found ${hits.length}: ` +
      JSON.stringify(result.steps.map((s) => s.text)));
  }
  return hits[0];
}

// ---------------------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------------------

export interface HistoryEntry {
  /** Full image ID, or null for `<missing>` (BuildKit layers, imported bases seen from a child). */
  id: string | null;
  createdBy: string;
  /** Exact size in bytes. */
  size: number;
  comment: string;
  createdAt: string;
}

/** `docker history --no-trunc --human=false`: newest first (like `docker history`) unless oldestFirst. */
export async function imageHistory(ref: string, opts: { oldestFirst?: boolean } = {}): Promise<HistoryEntry[]> {
  const r = await docker(['history', '--no-trunc', '--human=false', '--format', '{{json .}}', ref]);
  const entries = r.stdout.split('\n').filter((l) => l.trim()).map((l) => {
    const j = JSON.parse(l) as Record<string, string>;
    return {
      id: j.ID && j.ID !== '<missing>' ? j.ID : null,
      createdBy: j.CreatedBy ?? '',
      size: Number(j.Size ?? 0),
      comment: j.Comment ?? '',
      createdAt: j.CreatedAt ?? '',
    };
  });
  return opts.oldestFirst ? entries.reverse() : entries;
}

/** `docker image inspect REF` as parsed JSON, or null when there is no such image. */
export async function inspectImage(ref: string): Promise<Record<string, any> | null> {
  const r = await docker(['image', 'inspect', '--format', '{{json .}}', ref], { allowFailure: true });
  if (r.exitCode !== 0) {
    if (/no such (image|object)/i.test(r.output)) return null;
    throw new CommandError(`${describeRun(r)}\n${r.output}`, r);
  }
  return JSON.parse(r.stdout.trim());
}

/** Full `sha256:` ID of REF, or null. */
export async function imageIdOf(ref: string): Promise<string | null> {
  const j = await inspectImage(ref);
  return j ? (j.Id as string) : null;
}

export async function tagExists(ref: string): Promise<boolean> {
  return (await inspectImage(ref)) !== null;
}

/** `docker rmi [-f] REF` (default -f); a missing image is fine. Untracks the tag. */
export async function removeImage(ref: string, opts: { force?: boolean; noPrune?: boolean } = {}): Promise<void> {
  trackedTags.delete(ref);
  const args = ['rmi'];
  if (opts.force ?? true) args.push('-f');
  if (opts.noPrune) args.push('--no-prune');
  args.push(ref);
  const r = await docker(args, { allowFailure: true });
  if (r.exitCode === 0 || /no such image/i.test(r.output)) return;
  throw new CommandError(`${describeRun(r)}\n${r.output}`, r);
}

/** `docker tag SRC DST`. DST is tracked for cleanup unless track is false. */
export async function tagImage(src: string, dst: string, opts: { track?: boolean } = {}): Promise<void> {
  await docker(['tag', src, dst]);
  if (opts.track ?? true) trackTag(dst);
}

/** `docker builder prune -af`: drops BuildKit's whole cache (affects everyone on this daemon). */
export async function builderPrune(): Promise<void> {
  await docker(['builder', 'prune', '-af'], { timeoutMs: 300_000 });
}

// ---------------------------------------------------------------------------------------------------
// Base images
// ---------------------------------------------------------------------------------------------------

export interface BaseImageOptions {
  /** 1 = plain busybox rootfs; any other number adds /etc/layerlens-variant (so the ID differs). */
  variant?: number;
}

function baseMarker(variant: number): string {
  return `layerlens-test base image variant ${variant}`;
}

/** Throws unless `file` is a static ELF executable (no PT_INTERP): a dynamic busybox would not run. */
export function assertStaticElf(file: string): void {
  const buf = fs.readFileSync(file);
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file} is not an ELF file`);
  if (buf[4] !== 2 || buf[5] !== 1) return; // only ELF64 little-endian is checked
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (buf.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) {
      throw new Error(`${file} is dynamically linked; install Debian's busybox-static (scripts/ensure-docker.sh)`);
    }
  }
}

async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(os.tmpdir(), `layerlens-${name.replace(/[^a-zA-Z0-9]+/g, '_')}.lock`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const st = fs.statSync(lock, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > 120_000) {
        fs.rmSync(lock, { recursive: true, force: true }); // stale
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${lock}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

async function busyboxApplets(): Promise<string[]> {
  const r = await runCommand(BUSYBOX_BIN, ['--list'], { allowFailure: true, timeoutMs: 10_000 }).catch(() => null);
  const listed = r && r.exitCode === 0 ? r.stdout.split('\n').map((s) => s.trim()).filter(Boolean) : [];
  const set = new Set(listed.length > 0 ? listed : DEFAULT_APPLETS);
  set.delete('busybox');
  return [...set].filter((a) => /^[\w.[-]+$/.test(a)).sort();
}

/**
 * Makes sure TAG is a base image made by `tar -C ROOT -c . | docker import - TAG` from a static busybox
 * rootfs (/bin/busybox + every applet symlinked in /bin, /tmp 1777, /etc/passwd, /etc/group, /root).
 * Imports only when the tag is missing or was made for another variant. Returns the image ID.
 * Note: imported IDs are not reproducible; deleting and re-creating a base changes its ID.
 */
export async function ensureBaseImage(tag = BASE_IMAGE, opts: BaseImageOptions = {}): Promise<string> {
  const variant = opts.variant ?? 1;
  const marker = baseMarker(variant);
  const current = async (): Promise<string | null> => {
    const j = await inspectImage(tag);
    return j && j.Comment === marker ? (j.Id as string) : null;
  };
  const existing = await current();
  if (existing) return existing;
  return withLock(`base-${tag}`, async () => {
    const again = await current();
    if (again) return again;
    assertStaticElf(BUSYBOX_BIN);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-base-'));
    try {
      const root = path.join(work, 'rootfs');
      for (const d of ['', 'bin', 'etc', 'root', 'tmp']) fs.mkdirSync(path.join(root, d), { recursive: true });
      for (const d of ['', 'bin', 'etc']) fs.chmodSync(path.join(root, d), 0o755);
      fs.chmodSync(path.join(root, 'root'), 0o700);
      fs.chmodSync(path.join(root, 'tmp'), 0o1777);
      fs.copyFileSync(BUSYBOX_BIN, path.join(root, 'bin', 'busybox'));
      fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
      for (const a of await busyboxApplets()) fs.symlinkSync('busybox', path.join(root, 'bin', a));
      fs.writeFileSync(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
      fs.writeFileSync(path.join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
      for (const f of ['passwd', 'group']) fs.chmodSync(path.join(root, 'etc', f), 0o644);
      if (variant !== 1) {
        fs.writeFileSync(path.join(root, 'etc', 'layerlens-variant'), `${variant}\n`);
        fs.chmodSync(path.join(root, 'etc', 'layerlens-variant'), 0o644);
      }
      const tarFile = path.join(work, 'rootfs.tar');
      await runCommand('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tarFile, '.']);
      const r = await docker(['import', '--message', marker, tarFile, tag], { timeoutMs: 120_000 });
      const id = r.stdout.trim().split('\n').pop() ?? '';
      return /^sha256:[0-9a-f]{64}$/.test(id) ? id : ((await imageIdOf(tag)) ?? id);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
}
