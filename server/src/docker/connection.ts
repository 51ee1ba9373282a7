// How to reach the Docker daemon, resolved exactly like the docker CLI does (cli/command/cli.go resolveContextName,
// cli/flags, cli/context/docker). Pure: everything comes in through `env`, `homeDir` and `readFile`.
//
// Precedence (CLI): explicit host (our setting, like `-H`) > DOCKER_HOST > DOCKER_CONTEXT > `currentContext` in
// <config dir>/config.json > the "default" context (DOCKER_HOST or unix:///var/run/docker.sock).

import { createHash } from 'crypto';
import * as path from 'path';

export type ConnectionSource = 'setting' | 'DOCKER_HOST' | 'DOCKER_CONTEXT' | 'config' | 'default';

/** Plain options for dockerode / docker-modem. Buffers are PEM files read through `readFile`. */
export interface DockerodeOptions {
  readonly socketPath?: string;
  readonly protocol?: 'http' | 'https' | 'ssh';
  readonly host?: string;
  readonly port?: number;
  readonly username?: string;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Only for protocol 'ssh': ssh2 connect options (agent socket or a default private key). */
  readonly sshOptions?: { readonly agent?: string; readonly privateKey?: Buffer };
}

export interface TlsView {
  /** false when DOCKER_TLS (without VERIFY) or the context says SkipTLSVerify. */
  readonly verify: boolean;
  /** Where ca/cert/key came from (a directory); null when none were found. */
  readonly certDir: string | null;
}

export interface ConnectionResolution {
  /** Normalised host for messages, e.g. 'unix:///var/run/docker.sock', 'tcp://10.0.0.5:2376', 'ssh://u@h:22'. */
  readonly host: string;
  readonly dockerodeOptions: DockerodeOptions;
  readonly source: ConnectionSource;
  /** The docker context in effect ('default' unless a named context was selected). */
  readonly contextName: string;
  readonly tls: TlsView | null;
  /** Why this configuration cannot be used (as the CLI would fail); null when usable. */
  readonly problem: string | null;
}

/** Returns the file content, or null when it does not exist / cannot be read. */
export type FileReader = (absolutePath: string) => Buffer | null;

export interface ResolveInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly readFile: FileReader;
  /** Home directory; defaults to env.HOME (then env.USERPROFILE). */
  readonly homeDir?: string;
  /** Explicit host from the user's setting (like `docker -H`); empty/undefined = not set. */
  readonly hostSetting?: string | null;
  /** Defaults to 'linux'. On non-Windows, npipe:// hosts are reported as unusable. */
  readonly platform?: NodeJS.Platform;
}

export const DEFAULT_UNIX_SOCKET = '/var/run/docker.sock';
export const DEFAULT_HOST = `unix://${DEFAULT_UNIX_SOCKET}`;
const DEFAULT_CONTEXT = 'default';

export function configDir(env: ResolveInput['env'], homeDir: string): string {
  const d = env.DOCKER_CONFIG;
  return d && d.length > 0 ? d : path.join(homeDir, '.docker');
}

/** sha256 hex of the context name: the directory name the CLI uses under contexts/meta and contexts/tls. */
export function contextDirName(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

export function resolveConnection(input: ResolveInput): ConnectionResolution {
  const env = input.env;
  const homeDir = input.homeDir ?? env.HOME ?? env.USERPROFILE ?? '/';
  const platform = input.platform ?? 'linux';
  const cfgDir = configDir(env, homeDir);
  const ctx: HostContext = { env, readFile: input.readFile, homeDir, platform, cfgDir };

  const setting = input.hostSetting?.trim();
  if (setting) return fromEnvLikeHost(ctx, setting, 'setting');

  const dockerHost = env.DOCKER_HOST;
  if (dockerHost && dockerHost.length > 0) return fromEnvLikeHost(ctx, dockerHost, 'DOCKER_HOST');

  const envContext = env.DOCKER_CONTEXT;
  if (envContext && envContext.length > 0) return fromContext(ctx, envContext, 'DOCKER_CONTEXT');

  const configPath = path.join(cfgDir, 'config.json');
  const raw = input.readFile(configPath);
  if (raw !== null) {
    let current: unknown;
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      current = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>).currentContext : undefined;
    } catch (e) {
      return unusable(DEFAULT_HOST, 'config', DEFAULT_CONTEXT, `${configPath} is not valid JSON: ${errText(e)}`);
    }
    if (typeof current === 'string' && current.length > 0) return fromContext(ctx, current, 'config');
  }
  return defaultContext(ctx, 'default');
}

interface HostContext {
  readonly env: ResolveInput['env'];
  readonly readFile: FileReader;
  readonly homeDir: string;
  readonly platform: NodeJS.Platform;
  readonly cfgDir: string;
}

function defaultContext(ctx: HostContext, source: ConnectionSource): ConnectionResolution {
  // "default" context: DOCKER_HOST (with the TLS env), else the default socket. DOCKER_HOST is handled before this.
  return fromEnvLikeHost(ctx, DEFAULT_HOST, source);
}

function fromContext(ctx: HostContext, name: string, source: ConnectionSource): ConnectionResolution {
  if (name === DEFAULT_CONTEXT) return defaultContext(ctx, source);
  const hash = contextDirName(name);
  const metaPath = path.join(ctx.cfgDir, 'contexts', 'meta', hash, 'meta.json');
  const label = `docker context "${name}"`;
  const raw = ctx.readFile(metaPath);
  if (raw === null) {
    const why = source === 'config'
      ? `current context "${name}" (from ${path.join(ctx.cfgDir, 'config.json')}) is not found on the file system (${metaPath})`
      : `context "${name}" (from DOCKER_CONTEXT) does not exist (${metaPath} not found)`;
    return unusable(label, source, name, why);
  }
  let meta: unknown;
  try {
    meta = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    return unusable(label, source, name, `context "${name}": ${metaPath} is not valid JSON: ${errText(e)}`);
  }
  const endpoint = pick(pick(meta, 'Endpoints'), 'docker');
  const host = pick(endpoint, 'Host');
  if (typeof host !== 'string' || host.length === 0) {
    return unusable(label, source, name, `context "${name}" has no docker endpoint host (Endpoints.docker.Host in ${metaPath})`);
  }
  const skipVerify = pick(endpoint, 'SkipTLSVerify') === true;
  const tlsDir = path.join(ctx.cfgDir, 'contexts', 'tls', hash, 'docker');
  const parsed = parseHost(host, ctx.platform);
  if ('problem' in parsed) return unusable(host, source, name, `context "${name}": ${parsed.problem}`);

  if (parsed.kind === 'tcp') {
    const material = readTlsMaterial(ctx.readFile, tlsDir);
    // The context store uses TLS when it holds TLS data for the endpoint, or when SkipTLSVerify is set.
    const useTls = material.any || skipVerify;
    // A context host is used as stored: without a port, Go's HTTP client dials 80 (http) / 443 (https).
    const port = parsed.port ?? (useTls ? 443 : 80);
    const hostText = `tcp://${formatHostname(parsed.hostname)}${parsed.port !== null ? `:${parsed.port}` : ''}`;
    if (!useTls) {
      return ok(hostText, source, name, { protocol: 'http', host: parsed.hostname, port }, null);
    }
    if (material.problem) return unusable(hostText, source, name, `context "${name}": ${material.problem}`);
    return ok(hostText, source, name, {
      protocol: 'https', host: parsed.hostname, port,
      ...(material.ca ? { ca: material.ca } : {}),
      ...(material.cert ? { cert: material.cert } : {}),
      ...(material.key ? { key: material.key } : {}),
    }, { verify: !skipVerify, certDir: material.any ? tlsDir : null });
  }
  return fromParsed(ctx, parsed, source, name);
}

function fromEnvLikeHost(ctx: HostContext, host: string, source: ConnectionSource): ConnectionResolution {
  const parsed = parseHost(host, ctx.platform);
  if ('problem' in parsed) return unusable(host, source, DEFAULT_CONTEXT, parsed.problem);
  if (parsed.kind !== 'tcp') return fromParsed(ctx, parsed, source, DEFAULT_CONTEXT);

  // TCP: TLS env like the CLI. DOCKER_TLS_VERIFY (any non-empty value) => TLS + verify; DOCKER_TLS => TLS.
  const env = ctx.env;
  const verify = nonEmpty(env.DOCKER_TLS_VERIFY);
  const useTls = verify || isTruthy(env.DOCKER_TLS);
  // The CLI's ParseHost fills in 2375 for a tcp:// host without port, with or without TLS (2376 only when the
  // host is empty, which cannot happen here).
  const port = parsed.port ?? 2375;
  const hostText = `tcp://${formatHostname(parsed.hostname)}:${port}`;
  if (!useTls) return ok(hostText, source, DEFAULT_CONTEXT, { protocol: 'http', host: parsed.hostname, port }, null);

  const certDir = nonEmpty(env.DOCKER_CERT_PATH) ? env.DOCKER_CERT_PATH! : ctx.cfgDir;
  const material = readTlsMaterial(ctx.readFile, certDir);
  if (material.problem) return unusable(hostText, source, DEFAULT_CONTEXT, material.problem);
  // Like the CLI, missing files are simply not used: no ca.pem means the system roots verify the server.
  return ok(hostText, source, DEFAULT_CONTEXT, {
    protocol: 'https', host: parsed.hostname, port,
    ...(material.ca ? { ca: material.ca } : {}),
    ...(material.cert ? { cert: material.cert } : {}),
    ...(material.key ? { key: material.key } : {}),
  }, { verify, certDir: material.any ? certDir : null });
}

function fromParsed(ctx: HostContext, parsed: ParsedHost, source: ConnectionSource, contextName: string): ConnectionResolution {
  switch (parsed.kind) {
    case 'unix':
      return ok(`unix://${parsed.socketPath}`, source, contextName, { socketPath: parsed.socketPath }, null);
    case 'npipe':
      return ok(`npipe://${parsed.socketPath}`, source, contextName, { socketPath: parsed.socketPath }, null);
    case 'ssh': {
      const port = parsed.port ?? 22;
      const userPart = parsed.user ? `${parsed.user}@` : '';
      const hostText = `ssh://${userPart}${formatHostname(parsed.hostname)}${parsed.port ? `:${parsed.port}` : ''}`;
      const sshOptions = sshAuth(ctx);
      return ok(hostText, source, contextName, {
        protocol: 'ssh', host: parsed.hostname, port,
        ...(parsed.user ? { username: parsed.user } : {}),
        sshOptions,
      }, null);
    }
    case 'tcp': {
      // Only reached for contexts without TLS, handled by callers; keep a sane fallback.
      const port = parsed.port ?? 2375;
      return ok(`tcp://${formatHostname(parsed.hostname)}:${port}`, source, contextName, { protocol: 'http', host: parsed.hostname, port }, null);
    }
  }
}

function sshAuth(ctx: HostContext): { agent?: string; privateKey?: Buffer } {
  // The CLI shells out to `ssh`, which uses the agent and ~/.ssh/id_*; ssh2 needs them spelled out.
  const agent = ctx.env.SSH_AUTH_SOCK;
  const out: { agent?: string; privateKey?: Buffer } = {};
  if (agent && agent.length > 0) out.agent = agent;
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const key = ctx.readFile(path.join(ctx.homeDir, '.ssh', name));
    if (key !== null) { out.privateKey = key; break; }
  }
  return out;
}

type ParsedHost =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'npipe'; socketPath: string }
  | { kind: 'tcp'; hostname: string; port: number | null }
  | { kind: 'ssh'; hostname: string; port: number | null; user: string | null };

/** Parses a DOCKER_HOST-style address. Exported for tests. */
export function parseHost(raw: string, platform: NodeJS.Platform = 'linux'): ParsedHost | { problem: string } {
  const host = raw.trim();
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/.exec(host);
  // Like the CLI: an address without "proto://" is TCP.
  const proto = m ? m[1]!.toLowerCase() : 'tcp';
  const rest = m ? m[2]! : host;
  switch (proto) {
    case 'unix': {
      const p = rest.length > 0 ? rest : DEFAULT_UNIX_SOCKET;
      if (!p.startsWith('/')) return { problem: `invalid host "${raw}": unix socket path must be absolute` };
      return { kind: 'unix', socketPath: p };
    }
    case 'npipe': {
      if (platform !== 'win32') return { problem: `host "${raw}" is a Windows named pipe, which cannot be used on ${platform}` };
      return { kind: 'npipe', socketPath: rest.length > 0 ? rest : '//./pipe/docker_engine' };
    }
    case 'tcp': {
      const hp = splitHostPort(rest.replace(/\/.*$/, ''));
      if ('problem' in hp) return { problem: `invalid host "${raw}": ${hp.problem}` };
      return { kind: 'tcp', hostname: hp.hostname.length > 0 ? hp.hostname : 'localhost', port: hp.port };
    }
    case 'ssh': {
      let u: URL;
      try {
        u = new URL(`ssh://${rest}`);
      } catch {
        return { problem: `invalid host "${raw}": not an ssh:// URL` };
      }
      if (u.hostname.length === 0) return { problem: `invalid host "${raw}": no host name` };
      if (u.password) return { problem: `invalid host "${raw}": plain-text password is not supported` };
      if (u.pathname && u.pathname !== '/' && u.pathname !== '') return { problem: `invalid host "${raw}": extra path after the host` };
      const port = u.port ? Number(u.port) : null;
      return { kind: 'ssh', hostname: u.hostname.replace(/^\[(.*)\]$/, '$1'), port, user: u.username ? decodeURIComponent(u.username) : null };
    }
    case 'fd':
      return { problem: `host "${raw}": fd:// is only meaningful to dockerd, not to a client` };
    default:
      return { problem: `invalid host "${raw}": unsupported protocol "${proto}://"` };
  }
}

function splitHostPort(hp: string): { hostname: string; port: number | null } | { problem: string } {
  let hostname: string;
  let portText: string | undefined;
  if (hp.startsWith('[')) {
    const end = hp.indexOf(']');
    if (end < 0) return { problem: 'unterminated IPv6 address' };
    hostname = hp.slice(1, end);
    const after = hp.slice(end + 1);
    if (after.length > 0) {
      if (!after.startsWith(':')) return { problem: 'unexpected text after IPv6 address' };
      portText = after.slice(1);
    }
  } else {
    const i = hp.lastIndexOf(':');
    if (i >= 0) {
      hostname = hp.slice(0, i);
      portText = hp.slice(i + 1);
    } else {
      hostname = hp;
    }
  }
  if (portText === undefined || portText === '') return { hostname, port: null };
  if (!/^\d+$/.test(portText)) return { problem: `invalid port "${portText}"` };
  const port = Number(portText);
  if (port < 1 || port > 65535) return { problem: `port ${port} out of range` };
  return { hostname, port };
}

interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  any: boolean;
  problem: string | null;
}

function readTlsMaterial(readFile: FileReader, dir: string): TlsMaterial {
  const ca = readFile(path.join(dir, 'ca.pem')) ?? undefined;
  const cert = readFile(path.join(dir, 'cert.pem')) ?? undefined;
  const key = readFile(path.join(dir, 'key.pem')) ?? undefined;
  const out: TlsMaterial = { any: !!(ca || cert || key), problem: null };
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  if (!!cert !== !!key) {
    out.problem = `${dir} has ${cert ? 'cert.pem but no key.pem' : 'key.pem but no cert.pem'}; a TLS client certificate needs both`;
  }
  return out;
}

function ok(host: string, source: ConnectionSource, contextName: string, dockerodeOptions: DockerodeOptions, tls: TlsView | null): ConnectionResolution {
  return { host, dockerodeOptions, source, contextName, tls, problem: null };
}

function unusable(host: string, source: ConnectionSource, contextName: string, problem: string): ConnectionResolution {
  return { host, dockerodeOptions: {}, source, contextName, tls: null, problem };
}

function formatHostname(h: string): string {
  return h.includes(':') ? `[${h}]` : h;
}

function pick(v: unknown, key: string): unknown {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
}

function nonEmpty(v: string | undefined): boolean {
  return v !== undefined && v.length > 0;
}

function isTruthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A FileReader over the real file system (sync; these files are tiny). */
export function nodeFileReader(): FileReader {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const fs = require('fs') as typeof import('fs');
  return (p: string) => {
    try {
      return fs.readFileSync(p);
    } catch {
      return null;
    }
  };
}
