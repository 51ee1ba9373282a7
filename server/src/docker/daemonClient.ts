// The only way the rest of Layer Lens talks to the Docker daemon. Wraps dockerode (its modem handles unix sockets,
// TCP, TLS and ssh); every call has a time budget, every response is validated into the plain shapes of types.ts,
// and every failure becomes a DaemonError whose message is one readable sentence naming the host.

import Docker from 'dockerode';
import { createHash } from 'crypto';
import * as http from 'http';
import * as https from 'https';
import { Readable } from 'stream';
import { StringDecoder } from 'string_decoder';
import { inspect } from 'util';
import {
  ConnectionResolution, FileReader, nodeFileReader, resolveConnection,
} from './connection';
import { ControlApiUnavailable, decodeDiskUsage, DISK_USAGE_METHOD, diskUsageOverGrpc } from './buildkitControl';
import { BuildSession, newSessionId, sessionHeaders, type BuildSessionOptions } from './buildSession';
import { DaemonError, errorText, ValidationError } from './errors';
import { ImageDetailsStore } from './imageDetailsStore';
import { defaultCacheRoot, isDiffId, LayerDiskCache } from './layerCache';
import { SaveArchiveScanner, SaveFormatError } from './layerScan';
import { TarFormatError } from './tar';
import type {
  BuildCacheRecord, DaemonInfo, HistoryEntry, ImageInspect, ImageSummary, LayerFileEntry,
} from './types';
import {
  DaemonEvent, parseBuildCache, parseEvent, parseHistory, parseImageInspect, parseImageSummaries, parseVersion, VersionView,
} from './validate';

export type { DaemonEvent } from './validate';

export interface DaemonClientOptions {
  /** Budget for metadata calls (ping, version, images, inspect, history). Default 5000 ms. */
  readonly timeoutMs?: number;
  /** Budget for `GET /system/df`, which walks disk usage. Default 30000 ms. */
  readonly slowTimeoutMs?: number;
  /** Overall budget for one image export (`GET /images/{id}/get`). Default 600000 ms. */
  readonly exportTimeoutMs?: number;
  /** An export fails when no bytes arrive for this long. Default 60000 ms. */
  readonly exportIdleTimeoutMs?: number;
  /** Cache root (layer lists go to `<root>/layers/`); null disables the disk cache. Default: defaultCacheRoot(). */
  readonly cacheDir?: string | null;
  /**
   * Stop reading an export once every requested layer was read. Default false: the whole export is read and every
   * layer in it cached, so asking for the image's other layers later costs no second export (docker 20.10 prepares
   * the whole export before the first byte anyway, so stopping early saves little).
   */
  readonly stopExportEarly?: boolean;
}

interface ExportResult {
  /** Every layer read completely, by diff ID. */
  readonly layers: Map<string, LayerFileEntry[]>;
  /** The whole export was read (false when stopped early). */
  readonly complete: boolean;
}

interface ExportJob {
  /** Diff IDs the callers sharing this export need; callers joining late add theirs. */
  readonly wanted: Set<string>;
  /** Set once the export stopped taking new wishes (stopped early or finished). */
  closed: boolean;
  promise: Promise<ExportResult>;
}

export interface Disposable {
  dispose(): void;
}

export interface EventStreamStatus {
  readonly connected: boolean;
  /** Why the stream is down (it reconnects by itself); null when connected. */
  readonly error: string | null;
}

/** Counters, mostly for tests and diagnostics. */
export interface DaemonClientStats {
  /** HTTP requests sent to the daemon. */
  readonly requests: number;
  /** Image exports streamed. */
  readonly exports: number;
  /** Layer lists served from the disk cache. */
  readonly layerCacheHits: number;
  /** Failed cache writes (non-fatal). */
  readonly cacheWriteErrors: number;
}

const MAX_JSON_BYTES = 256 * 1024 * 1024;
/** 24 h: below setTimeout's 2^31 ms limit (a larger value would fire at once). */
const BUILD_BUDGET_MS = 24 * 3600 * 1000;
const MAX_BUILD_LINE = 64 * 1024 * 1024;
const STATUS_CODES: Record<number, string | boolean> = {
  200: true, 201: true, 204: true, 304: true,
  400: 'bad parameter', 401: 'unauthorized', 403: 'forbidden', 404: 'not found', 409: 'conflict', 500: 'server error', 503: 'unavailable',
};
const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,511}$/;

interface SharedConnection {
  readonly docker: Docker;
  readonly agent: http.Agent | undefined;
}

/** One dockerode instance (and keep-alive agent) per distinct host configuration, shared by all clients. */
const sharedConnections = new Map<string, SharedConnection>();

function connectionKey(c: ConnectionResolution): string {
  const o = c.dockerodeOptions;
  const h = (b: Buffer | undefined): string => (b ? createHash('sha256').update(b).digest('hex') : '');
  return JSON.stringify([c.host, o.protocol ?? '', o.socketPath ?? '', o.username ?? '', h(o.ca), h(o.cert), h(o.key),
    c.tls?.verify ?? null, o.sshOptions?.agent ?? '', h(o.sshOptions?.privateKey)]);
}

const MODEM_ENV = ['DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_CLIENT_TIMEOUT', 'DOCKER_PATH_PREFIX'];

function sharedConnection(c: ConnectionResolution, key: string = connectionKey(c)): SharedConnection {
  const existing = sharedConnections.get(key);
  if (existing) return existing;
  const o = c.dockerodeOptions;
  let agent: http.Agent | undefined;
  if (o.protocol === 'https') {
    agent = new https.Agent({
      keepAlive: true, maxSockets: 16,
      ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert } : {}), ...(o.key ? { key: o.key } : {}),
      rejectUnauthorized: c.tls?.verify ?? true,
    });
  } else if (o.protocol !== 'ssh') {
    agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  }
  // docker-modem eagerly runs util.inspect(options, {showHidden, depth: null}) on every request for a debug line,
  // which walks the whole agent (all its sockets): ~20 ms per request with a busy agent. Keep that cheap.
  if (agent) Object.defineProperty(agent, inspect.custom, { value: () => '[Agent]' });
  // docker-modem merges defaults read from process.env (DOCKER_HOST, DOCKER_CERT_PATH, …) under our options and
  // throws when DOCKER_CERT_PATH has no certs. Our resolution already interpreted that env, so construct the modem
  // with those variables hidden (synchronous: nothing else can observe the change) and every option explicit.
  const saved = MODEM_ENV.map((k) => [k, process.env[k]] as const);
  for (const k of MODEM_ENV) delete process.env[k];
  let docker: Docker;
  try {
    docker = new Docker({
      socketPath: o.socketPath,
      host: o.host,
      port: o.port,
      protocol: o.protocol,
      username: o.username,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      sshOptions: o.sshOptions ? { ...o.sshOptions } : undefined,
      timeout: undefined,
      version: undefined,
      agent,
    } as Docker.DockerOptions);
  } finally {
    for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
  }
  const conn: SharedConnection = { docker, agent };
  sharedConnections.set(key, conn);
  return conn;
}

/** Closes the keep-alive sockets of every shared connection (tests, shutdown). Clients stay usable. */
export function closeAllConnections(): void {
  for (const c of sharedConnections.values()) c.agent?.destroy();
  sharedConnections.clear();
}

function ms(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000} s` : `${n} ms`;
}

const CONNECT_HINTS: Record<string, string> = {
  ENOENT: 'is dockerd running?',
  ECONNREFUSED: 'is dockerd running?',
  EACCES: 'permission denied; is your user in the docker group?',
  EPERM: 'permission denied; is your user in the docker group?',
  ENOTSOCK: 'that path is not a socket',
  ENOTFOUND: 'unknown host name',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  ECONNABORTED: 'connection aborted',
};

const DISCONNECT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);

export class DaemonClient {
  readonly connection: ConnectionResolution;
  readonly host: string;
  private readonly timeoutMs: number;
  private readonly slowTimeoutMs: number;
  private readonly exportTimeoutMs: number;
  private readonly exportIdleTimeoutMs: number;
  private readonly cache: LayerDiskCache | null;
  /** Inspect + history per image ID on disk (immutable per ID); null when caching is off. */
  readonly imageDetails: ImageDetailsStore | null;
  private readonly inflightExports = new Map<string, ExportJob>();
  private readonly stopEarly: boolean;
  private counters = { requests: 0, exports: 0, layerCacheHits: 0, cacheWriteErrors: 0 };
  private connKey: string | null = null;
  /** From the last `GET /version`: decides whether /system/df can be asked for the build cache alone. */
  private apiVersion: string | null = null;
  /** BuildKit's control API failed once (not for time): /system/df from then on. */
  private controlApiUnavailable = false;

  constructor(connection: ConnectionResolution, options: DaemonClientOptions = {}) {
    this.connection = connection;
    this.host = connection.host;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.slowTimeoutMs = options.slowTimeoutMs ?? Math.max(30000, this.timeoutMs);
    this.exportTimeoutMs = options.exportTimeoutMs ?? 600000;
    this.exportIdleTimeoutMs = options.exportIdleTimeoutMs ?? 60000;
    this.stopEarly = options.stopExportEarly ?? false;
    const root = options.cacheDir === undefined ? defaultCacheRoot() : options.cacheDir;
    this.cache = root === null ? null : new LayerDiskCache(root);
    this.imageDetails = root === null ? null : ImageDetailsStore.forHost(root, connection.host);
  }

  /** Resolves the connection like the docker CLI (see connection.ts) and creates a client. */
  static fromEnvironment(opts: DaemonClientOptions & {
    readonly hostSetting?: string | null;
    readonly env?: Readonly<Record<string, string | undefined>>;
    readonly readFile?: FileReader;
    readonly homeDir?: string;
  } = {}): DaemonClient {
    const resolution = resolveConnection({
      env: opts.env ?? process.env,
      readFile: opts.readFile ?? nodeFileReader(),
      ...(opts.homeDir !== undefined ? { homeDir: opts.homeDir } : {}),
      hostSetting: opts.hostSetting ?? null,
      platform: process.platform,
    });
    const env = opts.env ?? process.env;
    const cacheDir = opts.cacheDir !== undefined ? opts.cacheDir
      : opts.env || opts.homeDir ? defaultCacheRoot(env, opts.homeDir ?? env.HOME ?? undefined) : undefined;
    return new DaemonClient(resolution, { ...opts, cacheDir });
  }

  get stats(): DaemonClientStats {
    return { ...this.counters };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Public API

  /**
   * `POST /build` with `context` (a tar stream) as the body; each JSON message of the progress stream goes to
   * `onMessage` as it arrives (validated by the caller: it is untrusted). Resolves when the daemon ends the stream —
   * a failed build is a message (`errorDetail`), not a rejection. Rejects with a DaemonError when the daemon cannot
   * be reached, answers non-2xx (e.g. a bad parameter), or drops the connection mid-build ('disconnected'), and with
   * kind 'cancelled' when `signal` aborts: aborting closes the HTTP request, which makes the daemon cancel the build
   * (moby cancels the build's context when its client goes away).
   */
  async build(query: Readonly<Record<string, string>>, context: NodeJS.ReadableStream | null, opts: {
    readonly signal?: AbortSignal;
    readonly onMessage: (message: unknown) => void;
  }): Promise<void> {
    if (this.connection.problem !== null) throw new DaemonError('config', this.configProblemText(), this.host, 'POST /build');
    const endpoint = 'POST /build';
    // A build has no time budget of its own (it takes as long as it takes); the daemon going away ends it.
    await this.call(endpoint, BUILD_BUDGET_MS, async (signal) => {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        this.counters.requests++;
        this.docker().modem.dial({
          path: '/build?', method: 'POST', isStream: true, statusCodes: STATUS_CODES, abortSignal: signal,
          // An empty body when the context comes through a session (without a stream the modem would send its
          // options as JSON, and the daemon then ends the build without a word).
          file: context ?? Readable.from([]), headers: { 'Content-Type': 'application/x-tar' },
          options: { _query: { ...query } },
        } as Parameters<Docker['modem']['dial']>[0], (err, result) => (err ? reject(err) : resolve(result as http.IncomingMessage)));
      });
      signal.addEventListener('abort', () => res.destroy(), { once: true });
      const decoder = new StringDecoder('utf8');
      let pending = '';
      const flush = (text: string): void => {
        pending += text;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line === '') continue;
          let msg: unknown;
          try {
            msg = JSON.parse(line);
          } catch {
            msg = { stream: line + '\n' }; // not JSON: pass the text on rather than lose it
          }
          opts.onMessage(msg);
        }
        if (pending.length > MAX_BUILD_LINE) throw new DaemonError('invalid-response', `${endpoint} on ${this.host} sent a line longer than ${MAX_BUILD_LINE} bytes`, this.host, endpoint);
      };
      for await (const chunk of res as AsyncIterable<Buffer>) flush(decoder.write(chunk));
      flush(decoder.end() + '\n');
      if (!res.complete) throw Object.assign(new Error('response ended early'), { code: 'ECONNRESET' });
    }, opts.signal);
  }

  /** Ping + version. Never throws: problems become `reachable: false` with a one-sentence `error`. */
  async info(): Promise<DaemonInfo> {
    const down = (error: string): DaemonInfo => ({ reachable: false, host: this.host, version: null, apiVersion: null, error });
    if (this.connection.problem !== null) return down(this.configProblemText());
    try {
      const [, v] = await Promise.all([this.ping(), this.version()]);
      return { reachable: true, host: this.host, version: v.version, apiVersion: v.apiVersion, error: null };
    } catch (e) {
      return down(e instanceof DaemonError ? e.message : `unexpected failure talking to ${this.host}: ${errorText(e)}`);
    }
  }

  /**
   * Opens a BuildKit session (`POST /session` upgraded to h2c, as the docker CLI does) serving `opts.dirs` to the
   * daemon. Pass its ID as the build's `session` with `remote=client-session`; close it when the build ends. Rejects
   * with a DaemonError when the daemon does not offer sessions (it then answers without switching protocols).
   */
  async openBuildSession(opts: BuildSessionOptions, signal?: AbortSignal): Promise<BuildSession> {
    if (this.connection.problem !== null) throw new DaemonError('config', this.configProblemText(), this.host, 'POST /session');
    const id = newSessionId();
    const socket = await this.call('POST /session', this.timeoutMs, (sig) => new Promise<import('stream').Duplex>((resolve, reject) => {
      this.counters.requests++;
      this.docker().modem.dial({
        path: '/session', method: 'POST', hijack: true, abortSignal: sig,
        headers: sessionHeaders(id, opts),
        statusCodes: { 101: true, 200: true, ...STATUS_CODES },
      } as Parameters<Docker['modem']['dial']>[0], (err, result) => {
        if (err) reject(err);
        else if (result && typeof (result as { write?: unknown }).write === 'function' && !(result instanceof http.IncomingMessage)) resolve(result as import('stream').Duplex);
        else {
          (result as http.IncomingMessage | undefined)?.resume?.();
          reject(new DaemonError('http', `POST /session on ${this.host} did not switch protocols: the daemon offers no BuildKit sessions`, this.host, 'POST /session'));
        }
      });
    }), signal);
    return new BuildSession(socket, id, opts);
  }

  /** `GET /_ping`; resolves when the daemon answered 200. */
  async ping(): Promise<void> {
    await this.call('GET /_ping', this.timeoutMs, async (signal) => {
      const res = await this.dial('GET', '/_ping', null, signal);
      await readBody(res, 64 * 1024);
    });
  }

  async version(): Promise<VersionView> {
    const v = await this.getJson('/version', null, parseVersion);
    this.apiVersion = v.apiVersion;
    return v;
  }

  /** `GET /images/json` (all=true includes intermediate and dangling images). */
  listImages(opts: { readonly all?: boolean } = {}): Promise<ImageSummary[]> {
    return this.getJson('/images/json', opts.all ? { all: '1' } : null, parseImageSummaries);
  }

  /** `GET /images/{id}/json`. A missing image is a DaemonError of kind 'not-found'. */
  async inspectImage(id: string): Promise<ImageInspect> {
    return this.getJson(`/images/${this.ref(id)}/json`, null, parseImageInspect);
  }

  /** `GET /images/{id}/history`, newest first (as the daemon returns it). */
  async history(id: string): Promise<HistoryEntry[]> {
    return this.getJson(`/images/${this.ref(id)}/history`, null, parseHistory);
  }

  /**
   * BuildKit cache records. API >= 1.42: `GET /system/df?type=build-cache`. Older daemons ignore that filter and size
   * every image, container and volume as well, so they are asked through BuildKit's control API (buildkitControl.ts),
   * with /system/df as the fallback when that path is not offered.
   */
  async buildCache(): Promise<BuildCacheRecord[]> {
    const deadline = Date.now() + this.slowTimeoutMs;
    if (this.controlApiUsable()) {
      const endpoint = `POST /grpc ${DISK_USAGE_METHOD}`;
      try {
        const body = await this.call(endpoint, this.slowTimeoutMs, (signal) => {
          this.counters.requests++;
          const o = this.connection.dockerodeOptions;
          return diskUsageOverGrpc(o.socketPath ? { socketPath: o.socketPath } : { host: o.host, port: o.port }, signal);
        });
        return decodeDiskUsage(body);
      } catch (e) {
        if (e instanceof DaemonError && (e.kind === 'timeout' || e.kind === 'cancelled')) throw e;
        // Not offered (another daemon build, a proxy in between): /system/df from now on. Anything else (the
        // connection dropped): /system/df this time, which reports that failure itself if it persists.
        const cause = e instanceof DaemonError ? e.cause : e;
        if (cause instanceof ControlApiUnavailable || cause instanceof ValidationError) this.controlApiUnavailable = true;
      }
    }
    // The daemon runs one disk-usage walk at a time and answers 500 "a disk usage operation is already running"
    // to the others (another client, another editor window): wait for it rather than report a missing cache.
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      try {
        return await this.getJson('/system/df', { type: 'build-cache' }, parseBuildCache, Math.max(1000, deadline - Date.now()));
      } catch (e) {
        const busy = e instanceof DaemonError && e.statusCode === 500 && /disk usage operation is already running/.test(e.message);
        if (!busy || Date.now() + delay >= deadline) throw e;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** Plain HTTP (unix socket or TCP without TLS) to a daemon older than API 1.42, whose BuildKit API did not fail. */
  private controlApiUsable(): boolean {
    const o = this.connection.dockerodeOptions;
    if (this.controlApiUnavailable || this.connection.problem !== null || this.apiVersion === null) return false;
    if (o.protocol === 'ssh' || o.protocol === 'https' || !(o.socketPath || (o.host && o.port))) return false;
    const m = /^(\d+)\.(\d+)/.exec(this.apiVersion);
    return m !== null && (Number(m[1]) < 1 || (Number(m[1]) === 1 && Number(m[2]) < 42));
  }

  /**
   * Files of the requested layers of `imageId`, by diff ID. Served from the disk cache when every requested layer
   * is cached (no daemon call); otherwise the image is exported once (`GET /images/{id}/get`), streamed, and every
   * layer in it is cached. A requested diff ID the image does not contain is a 'not-found' DaemonError.
   */
  async layerFiles(imageId: string, diffIds: readonly string[]): Promise<Map<string, LayerFileEntry[]>> {
    const wanted = [...new Set(diffIds)];
    for (const d of wanted) {
      if (!isDiffId(d)) throw new DaemonError('config', `layerFiles: ${JSON.stringify(d)} is not a sha256 diff ID`, this.host);
    }
    const found = new Map<string, LayerFileEntry[]>();
    const missing: string[] = [];
    for (const d of wanted) {
      const hit = this.cache ? await this.cache.get(d) : null;
      if (hit) {
        found.set(d, hit);
        this.counters.layerCacheHits++;
      } else {
        missing.push(d);
      }
    }
    if (missing.length > 0) {
      const { layers } = await this.exportLayers(imageId, missing);
      const absent = missing.filter((d) => !layers.has(d));
      if (absent.length > 0) {
        throw new DaemonError('not-found',
          `image ${imageId} on ${this.host} has no layer ${absent.join(', ')} (its export holds ${layers.size} layers)`,
          this.host, `GET /images/${imageId}/get`);
      }
      for (const d of missing) found.set(d, layers.get(d)!);
    }
    const out = new Map<string, LayerFileEntry[]>();
    for (const d of wanted) out.set(d, found.get(d)!);
    return out;
  }

  /**
   * Streams `GET /events` (filters like `{ type: ['image'] }`). Reconnects after errors with backoff, resuming
   * with `since` and skipping duplicates. `onEvent` errors are swallowed. Call dispose() to stop.
   */
  events(
    filters: Readonly<Record<string, readonly string[]>>,
    onEvent: (e: DaemonEvent) => void,
    onStatus?: (s: EventStreamStatus) => void,
  ): Disposable {
    let disposed = false;
    let current: AbortController | null = null;
    let retry: NodeJS.Timeout | undefined;
    let backoff = 250;
    let lastSecond = 0;
    let seen = new Set<string>();
    const status = (s: EventStreamStatus): void => {
      if (disposed || !onStatus) return;
      try { onStatus(s); } catch { /* listener errors must not stop the stream */ }
    };
    const deliver = (line: string): void => {
      let ev: DaemonEvent;
      try {
        ev = parseEvent(JSON.parse(line));
      } catch {
        return; // a garbled line; keep going
      }
      if (ev.time > 0) {
        if (ev.time < lastSecond) return;
        if (ev.time > lastSecond) { lastSecond = ev.time; seen = new Set(); }
        const key = `${ev.timeNano}|${ev.type}|${ev.action}|${ev.actorId}`;
        if (seen.has(key)) return;
        seen.add(key);
      }
      try { onEvent(ev); } catch { /* ignore */ }
    };
    const connect = async (): Promise<void> => {
      if (disposed) return;
      const ac = new AbortController();
      current = ac;
      const query: Record<string, string> = { filters: JSON.stringify(filters) };
      if (lastSecond > 0) query.since = String(lastSecond); // replay what we missed; duplicates are skipped
      let reason: string;
      try {
        const res = await this.call('GET /events', this.timeoutMs, (signal) => this.dial('GET', '/events', query, signal), ac.signal);
        ac.signal.addEventListener('abort', () => res.destroy(), { once: true });
        status({ connected: true, error: null });
        backoff = 250;
        const dec = new StringDecoder('utf8');
        let buf = '';
        for await (const chunk of res as AsyncIterable<Buffer>) {
          buf += dec.write(chunk);
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line.length > 0) deliver(line);
          }
          if (buf.length > 16 * 1024 * 1024) buf = ''; // no newline for 16 MiB: not an event stream
        }
        reason = `the daemon at ${this.host} ended the event stream`;
      } catch (e) {
        reason = this.toDaemonError(e, 'GET /events', ac.signal).message;
      }
      if (disposed) return;
      status({ connected: false, error: reason });
      retry = setTimeout(() => void connect(), backoff);
      retry.unref();
      backoff = Math.min(backoff * 2, 10000);
    };
    void connect();
    return {
      dispose: () => {
        disposed = true;
        if (retry) clearTimeout(retry);
        current?.abort();
      },
    };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Internals

  private configProblemText(): string {
    return `cannot use ${this.host}: ${this.connection.problem}`;
  }

  private ref(id: string): string {
    if (!IMAGE_REF.test(id)) throw new DaemonError('config', `${JSON.stringify(id)} is not an image ID or reference`, this.host);
    return id.split('/').map(encodeURIComponent).join('/');
  }

  private docker(): Docker {
    if (this.connection.problem !== null) throw new DaemonError('config', this.configProblemText(), this.host);
    try {
      this.connKey ??= connectionKey(this.connection);
      return sharedConnection(this.connection, this.connKey).docker;
    } catch (e) {
      throw new DaemonError('config', `cannot set up a client for ${this.host}: ${errorText(e)}`, this.host, '', null, e);
    }
  }

  /** Sends a request; resolves with the response stream once a 2xx status arrived. */
  private dial(method: string, path: string, query: Record<string, string> | null, signal: AbortSignal): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const docker = this.docker();
      this.counters.requests++;
      const dialOpts: Parameters<Docker['modem']['dial']>[0] = {
        path: query ? `${path}?` : path,
        method,
        isStream: true,
        statusCodes: STATUS_CODES,
        abortSignal: signal,
        ...(query ? { options: { _query: query } } : {}),
      };
      try {
        docker.modem.dial(dialOpts, (err, result) => {
          if (err) reject(err);
          else resolve(result as http.IncomingMessage);
        });
      } catch (e) {
        reject(e);
      }
    });
  }

  /**
   * Runs `body` with a time budget: on expiry the request is aborted and the call rejects at once with a timeout
   * DaemonError (it never waits for the transport to give up). `external` aborts it as cancelled.
   */
  private call<T>(endpoint: string, budgetMs: number, body: (signal: AbortSignal, abort: (e: DaemonError) => void) => Promise<T>, external?: AbortSignal): Promise<T> {
    const ac = new AbortController();
    const abort = (e: DaemonError): void => { if (!ac.signal.aborted) ac.abort(e); };
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<never>((_, reject) => {
      ac.signal.addEventListener('abort', () => reject(this.toDaemonError(ac.signal.reason, endpoint, ac.signal)), { once: true });
      timer = setTimeout(() => abort(new DaemonError('timeout',
        `the daemon at ${this.host} did not answer ${endpoint} within ${ms(budgetMs)}`, this.host, endpoint)), budgetMs);
    });
    if (external) {
      if (external.aborted) abort(new DaemonError('cancelled', `${endpoint} on ${this.host} was cancelled`, this.host, endpoint));
      else external.addEventListener('abort', () => abort(new DaemonError('cancelled', `${endpoint} on ${this.host} was cancelled`, this.host, endpoint)), { once: true });
    }
    let work: Promise<T>;
    try {
      work = body(ac.signal, abort);
    } catch (e) {
      work = Promise.reject(e);
    }
    const mapped = work.catch((e: unknown) => { throw this.toDaemonError(e, endpoint, ac.signal); });
    return Promise.race([mapped, guard]).finally(() => clearTimeout(timer));
  }

  private getJson<T>(path: string, query: Record<string, string> | null, parse: (v: unknown) => T, budgetMs = this.timeoutMs): Promise<T> {
    const qs = query ? `?${new URLSearchParams(query).toString()}` : '';
    const endpoint = `GET ${decodeURIComponent(path)}${qs}`;
    return this.call(endpoint, budgetMs, async (signal) => {
      const res = await this.dial('GET', path, query, signal);
      const body = await readBody(res, MAX_JSON_BYTES);
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch (e) {
        throw new DaemonError('invalid-response',
          `${endpoint} on ${this.host} returned malformed JSON (${errorText(e)}); body starts with ${snippet(body)}`,
          this.host, endpoint, res.statusCode ?? null);
      }
      try {
        return parse(json);
      } catch (e) {
        if (e instanceof ValidationError) {
          throw new DaemonError('invalid-response', `${endpoint} on ${this.host} returned unexpected data: ${e.message}`,
            this.host, endpoint, res.statusCode ?? null, e);
        }
        throw e;
      }
    });
  }

  /** One export per image at a time: callers arriving while it streams share it (adding the layers they want). */
  private async exportLayers(imageId: string, wanted: readonly string[]): Promise<ExportResult> {
    const running = this.inflightExports.get(imageId);
    if (running && !running.closed) {
      for (const d of wanted) running.wanted.add(d);
      const r = await running.promise;
      if (r.complete || wanted.every((d) => r.layers.has(d))) return r;
      // It stopped early before our wish arrived: fall through to an export of our own.
    }
    const job: ExportJob = { wanted: new Set(wanted), closed: false, promise: Promise.resolve({ layers: new Map(), complete: false }) };
    job.promise = this.streamExport(imageId, job).finally(() => {
      job.closed = true;
      if (this.inflightExports.get(imageId) === job) this.inflightExports.delete(imageId);
    });
    this.inflightExports.set(imageId, job);
    return job.promise;
  }

  private async streamExport(imageId: string, job: ExportJob): Promise<ExportResult> {
    this.counters.exports++;
    const scanner = new SaveArchiveScanner();
    const allFound = (): boolean => {
      for (const d of job.wanted) if (!scanner.hasLayer(d)) return false;
      return true;
    };
    const { scan, complete } = await this.readExport(imageId, scanner, {
      stopWhen: () => {
        if (!this.stopEarly || !allFound()) return false;
        job.closed = true;
        return true;
      },
      onEnd: () => { job.closed = true; },
    });
    const out = new Map<string, LayerFileEntry[]>();
    for (const [diffId, layer] of scan.layers) out.set(diffId, layer.entries);
    if (this.cache) {
      const cache = this.cache;
      await Promise.all([...out].map(([d, entries]) => cache.put(d, entries).catch(() => { this.counters.cacheWriteErrors++; })));
    }
    return { layers: out, complete };
  }

  /**
   * Streams the export of `imageId` through `scanner` (with backpressure), enforcing the overall and idle budgets.
   * `stopWhen` is asked after every chunk: true ends the read early (completed layers only).
   */
  private async readExport(imageId: string, scanner: SaveArchiveScanner, opts: {
    readonly stopWhen?: () => boolean;
    readonly onEnd?: () => void;
    readonly onBytes?: (n: number) => void;
    readonly signal?: AbortSignal;
  }): Promise<{ scan: Awaited<ReturnType<SaveArchiveScanner['finish']>>; complete: boolean }> {
    const path = `/images/${this.ref(imageId)}/get`;
    const endpoint = `GET /images/${imageId}/get`;
    return this.call(endpoint, this.exportTimeoutMs, async (signal, abort) => {
      const res = await this.dial('GET', path, null, signal);
      signal.addEventListener('abort', () => res.destroy(), { once: true });
      let idle: NodeJS.Timeout | undefined;
      const resetIdle = (): void => {
        if (idle) clearTimeout(idle);
        idle = setTimeout(() => abort(new DaemonError('timeout',
          `the daemon at ${this.host} sent no data for ${ms(this.exportIdleTimeoutMs)} during ${endpoint}`, this.host, endpoint)),
        this.exportIdleTimeoutMs);
      };
      try {
        resetIdle();
        for await (const chunk of res as AsyncIterable<Buffer>) {
          resetIdle();
          scanner.write(chunk);
          opts.onBytes?.(chunk.length);
          const wait = scanner.drain();
          if (wait) await wait;
          if (opts.stopWhen?.()) {
            res.destroy(); // leaving the loop also destroys the response; be explicit
            return { scan: await scanner.finishPartial(), complete: false };
          }
        }
        if (!res.complete) throw Object.assign(new Error('response ended early'), { code: 'ECONNRESET' });
        opts.onEnd?.();
        return { scan: await scanner.finish(), complete: true };
      } catch (e) {
        if (e instanceof TarFormatError || e instanceof SaveFormatError) {
          throw new DaemonError('invalid-response',
            `the export of image ${imageId} from ${this.host} is not a valid docker save archive: ${e.message}`, this.host, endpoint, null, e);
        }
        throw e;
      } finally {
        if (idle) clearTimeout(idle);
      }
    }, opts.signal);
  }

  /**
   * Headers-only read of `imageId`'s export for the layer explorer: file bodies are skipped (not hashed), each
   * layer is handed to `onLayer` as soon as it was read (its diff ID verified by hashing the layer stream) and not
   * retained here. Stops early once every diff ID in `wanted` was seen (the rest is cached already).
   * Resolves with the diff IDs the export held; throws a DaemonError ('not-found' when the image is gone,
   * 'cancelled' when `signal` aborts).
   */
  async exportLayerHeaders(imageId: string, opts: {
    readonly wanted: ReadonlySet<string>;
    readonly onLayer: (diffId: string, entries: LayerFileEntry[]) => void;
    readonly onBytes?: (n: number) => void;
    readonly signal?: AbortSignal;
  }): Promise<{ readonly seen: ReadonlySet<string>; readonly complete: boolean }> {
    this.counters.exports++;
    const seen = new Set<string>();
    const scanner = new SaveArchiveScanner({
      hashBodies: false,
      retain: false,
      onLayer: (d, entries) => {
        seen.add(d);
        opts.onLayer(d, entries);
      },
    });
    const allSeen = (): boolean => {
      for (const d of opts.wanted) if (!seen.has(d)) return false;
      return true;
    };
    const { complete } = await this.readExport(imageId, scanner, {
      stopWhen: allSeen,
      ...(opts.onBytes ? { onBytes: opts.onBytes } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return { seen, complete };
  }

  /** Maps anything thrown below to a DaemonError with a readable message. */
  private toDaemonError(e: unknown, endpoint: string, signal?: AbortSignal): DaemonError {
    if (e instanceof DaemonError) return e;
    if (signal?.aborted && signal.reason instanceof DaemonError) return signal.reason;
    const host = this.host;
    const err = e as { code?: unknown; statusCode?: unknown; json?: unknown; message?: unknown; level?: unknown; reason?: unknown };
    if (typeof err?.statusCode === 'number') {
      const code = err.statusCode;
      // docker-modem puts the daemon's {"message": …} into its own message: "(HTTP code 404) no such image - <message> ".
      const fromModem = typeof err.message === 'string' ? /^\(HTTP code \d+\) .*? - ([\s\S]*?)\s*$/.exec(err.message)?.[1] : undefined;
      const detail = daemonMessage(err.json) ?? (fromModem && fromModem !== '[object Object]' ? fromModem : null) ??
        (typeof err.reason === 'string' ? err.reason : '');
      return new DaemonError(code === 404 ? 'not-found' : 'http',
        `${endpoint} on ${host} failed: HTTP ${code}${detail ? `: ${detail}` : ''}`, host, endpoint, code, e);
    }
    const code = typeof err?.code === 'string' ? err.code : '';
    const message = typeof err?.message === 'string' ? err.message : String(e);
    if (code in CONNECT_HINTS) {
      return new DaemonError('unreachable', `cannot connect to ${host}: ${code} (${CONNECT_HINTS[code]})`, host, endpoint, null, e);
    }
    if (DISCONNECT_CODES.has(code) || /socket hang up|aborted|premature close/i.test(message)) {
      // Over TLS 1.3 a daemon that rejects the client certificate just resets the connection after the handshake.
      const certHint = this.connection.dockerodeOptions.protocol === 'https'
        ? `; if it requires a client certificate, check that ${this.connection.tls?.certDir ?? 'the certificate folder'}/cert.pem is signed by a CA it trusts`
        : '';
      return new DaemonError('disconnected',
        `the daemon at ${host} closed the connection during ${endpoint} (${code || message})${certHint}`, host, endpoint, null, e);
    }
    if (/^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL)/.test(code)) {
      return new DaemonError('unreachable', `TLS handshake with ${host} failed: ${message}`, host, endpoint, null, e);
    }
    if (typeof err?.level === 'string' && err.level.startsWith('client-')) {
      return new DaemonError('unreachable', `cannot connect to ${host}: ssh: ${message}`, host, endpoint, null, e);
    }
    if (code === 'ABORT_ERR' || (e as Error)?.name === 'AbortError') {
      return new DaemonError('cancelled', `${endpoint} on ${host} was cancelled`, host, endpoint, null, e);
    }
    return new DaemonError('unreachable', `${endpoint} on ${host} failed: ${code ? `${code}: ` : ''}${message}`, host, endpoint, null, e);
  }
}

function daemonMessage(json: unknown): string | null {
  if (typeof json === 'string') return json.trim() || null;
  if (typeof json === 'object' && json !== null) {
    const m = (json as Record<string, unknown>).message;
    if (typeof m === 'string') return m;
  }
  if (Buffer.isBuffer(json)) return json.toString('utf8').trim().slice(0, 200) || null;
  return null;
}

function snippet(b: Buffer): string {
  const s = b.subarray(0, 60).toString('utf8');
  return b.length === 0 ? 'nothing (empty body)' : JSON.stringify(b.length > 60 ? `${s}…` : s);
}

/** Reads a whole (small) response body; rejects when the connection closes before the end. */
function readBody(res: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    let done = false;
    const fail = (e: unknown): void => { if (!done) { done = true; reject(e); } };
    res.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        res.destroy();
        fail(Object.assign(new Error(`response larger than ${limit} bytes`), { code: 'ERR_RESPONSE_TOO_LARGE' }));
        return;
      }
      parts.push(c);
    });
    res.on('end', () => { if (!done) { done = true; resolve(Buffer.concat(parts, n)); } });
    res.on('error', fail);
    res.on('close', () => {
      if (!res.complete) fail(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    });
  });
}
