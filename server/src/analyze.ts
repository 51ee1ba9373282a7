// Wires the pure engine to its two sources of knowledge: the build context on disk (context/) and the Docker
// daemon (docker/). One Analyzer lives as long as its host (a CLI run, a language server) and keeps what is
// expensive and still valid: context indexes with their content hashes, and a daemon snapshot until an event or
// an explicit invalidation says the daemon changed.

import { promises as fs } from 'fs';
import * as path from 'path';
import { ContextIndex, type WalkProgress } from './context/contextIndex';
import { VerifiedStore } from './context/verifiedStore';
import { defaultCacheRoot } from './docker/layerCache';
import { classicSourceHash, layerBytes, resolveSources } from './context/sources';
import type { SourceMatch, TarModeVariant } from './context/types';
import { DaemonClient } from './docker/daemonClient';
import { errorText } from './docker/errors';
import { loadDaemonSnapshot, type DaemonSnapshot } from './docker/snapshot';
import type { DaemonInfo, ImageInspect, LayerFileEntry } from './docker/types';
import { parseDockerfile } from './engine/dockerfileModel';
import type { ContextReader, DaemonEvidence, ImageWithHistory } from './engine/inputs';
import { predict } from './engine/predict';
import type { AnalysisReport, Builder } from './engine/report';

const MAX_LAYERS_IN_MEMORY = 16;
const PERSIST_DELAY_MS = 5_000;

/** Bad input from the user: the CLI prints the message and exits 2. */
export class AnalyzeError extends Error {}

export interface AnalyzerOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Explicit daemon host (a setting, like `docker -H`); otherwise resolved like the docker CLI does. */
  readonly hostSetting?: string | null;
  /** Hash and layer caches; null disables persistence. Default: $LAYERLENS_CACHE_DIR or the user cache folder. */
  readonly cacheDir?: string | null;
  /** Per-call budget for daemon metadata requests. */
  readonly daemonTimeoutMs?: number;
  /** Progress of a context walk that lasts more than a moment (see ContextIndexOptions.onWalkProgress). */
  readonly onContextWalk?: (p: WalkProgress) => void;
}

export interface AnalyzeRequest {
  readonly dockerfile: string;
  readonly context?: string | null;
  readonly target?: string | null;
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly builder?: Builder;
  /** Unsaved editor text; read from disk when absent. */
  readonly dockerfileText?: string;
  /**
   * Ping + version the caller just asked for (the language server does, to choose the builder): a new daemon
   * snapshot starts from it instead of asking again, so a stalled daemon costs one time-out, not two.
   */
  readonly daemonInfo?: DaemonInfo;
}

export interface AnalyzeResult {
  readonly report: AnalysisReport;
  readonly dockerfileText: string;
  /** Context entries that could not be read (permissions, names that are not UTF-8, sockets): shown as warnings. */
  readonly contextProblems: readonly { readonly rel: string; readonly message: string }[];
  /** Classic builder: how the CLI that made the matching history wrote tar mode fields (null: nothing matched). */
  readonly classicTarMode: TarModeVariant | null;
}

export class Analyzer {
  readonly client: DaemonClient;
  /**
   * Context indexes by walk (contextDir, builder, ContextIndex.walkIdentity): Dockerfiles that see the same walk share
   * one index — 50 Dockerfiles in one folder cost one walk, one watcher and one hash cache, not 50.
   */
  private readonly contexts = new Map<string, Promise<ContextIndex>>();
  /** The walk key each (contextDir, Dockerfile, builder) was last found to use. */
  private readonly walkOf = new Map<string, string>();
  /** One file watcher per watched index, shared by every Dockerfile on it; `listeners` get each change. */
  private readonly watched = new Map<string, { readonly listeners: Set<(rels: string[]) => void>; readonly watcher: Promise<{ dispose(): void }> }>();
  private snapshot: Promise<DaemonSnapshot> | null = null;
  private readonly layers = new Map<string, Promise<readonly LayerFileEntry[] | null>>();
  private readonly pendingPersist = new Set<ContextIndex>();
  private readonly verified = new Map<string, Promise<VerifiedStore>>();
  private persistTimer: NodeJS.Timeout | null = null;
  private readonly cacheDir: string | null | undefined;
  private readonly onContextWalk: ((p: WalkProgress) => void) | undefined;

  constructor(opts: AnalyzerOptions = {}) {
    this.cacheDir = opts.cacheDir;
    this.onContextWalk = opts.onContextWalk;
    this.client = DaemonClient.fromEnvironment({
      env: opts.env ?? process.env,
      hostSetting: opts.hostSetting ?? null,
      ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
      ...(opts.daemonTimeoutMs !== undefined ? { timeoutMs: opts.daemonTimeoutMs } : {}),
    });
  }

  /** The daemon changed (an event, a build): the next analysis takes a fresh snapshot. */
  invalidateDaemon(): void {
    this.snapshot = null;
  }

  /** Files changed in a context (from a watcher): only these are re-statted and, when needed, re-hashed. */
  async contextChanged(contextDir: string, rels: readonly string[]): Promise<void> {
    for (const [key, idx] of this.contexts) {
      if (key.startsWith(path.resolve(contextDir) + '\0')) await (await idx).markChanged(rels);
    }
  }

  async analyze(req: AnalyzeRequest): Promise<AnalyzeResult> {
    const dockerfile = path.resolve(req.dockerfile);
    const dockerfileText = req.dockerfileText ?? (await readDockerfile(dockerfile));
    const contextDir = path.resolve(req.context ?? path.dirname(dockerfile));
    await checkContext(contextDir);
    const builder = req.builder ?? 'buildkit';
    const model = parseDockerfile(dockerfileText);
    if (model.stages.length === 0) throw new AnalyzeError(`${dockerfile}: the Dockerfile has no FROM instruction`);

    const [index, snapshot] = await Promise.all([this.contextIndex(contextDir, dockerfile, builder), this.daemonSnapshot(req.daemonInfo)]);
    const result = await predict({
      model,
      builder,
      target: req.target ?? null,
      buildArgs: req.buildArgs ?? {},
      context: contextReader(index, await rootCtime(contextDir), await this.verifiedStore(contextDir)),
      daemon: this.evidence(snapshot),
    });
    if ('error' in result) throw new AnalyzeError(result.error);
    this.schedulePersist(index);
    const d = snapshot.daemon;
    return {
      dockerfileText,
      contextProblems: index.problems,
      classicTarMode: result.classicTarMode,
      report: {
        dockerfile,
        context: contextDir,
        builder,
        target: req.target ?? null,
        daemon: { reachable: d.reachable, host: d.host, version: d.version, error: d.error },
        steps: result.steps,
        totalBytes: result.totalBytes,
      },
    };
  }

  /**
   * Keeps a context current through a file watcher, so analyses skip the walk. Dockerfiles sharing an index share
   * its watcher; it closes when the last of them disposes.
   */
  async watchContext(contextDir: string, dockerfile: string, builder: Builder, onChange: (rels: string[]) => void): Promise<{ dispose(): void }> {
    const ctx = path.resolve(contextDir);
    const { key, dockerfilePath } = await this.walkKey(ctx, path.resolve(dockerfile), builder);
    // From here to the registration nothing awaits: an editor opening 50 Dockerfiles at once asks 50 times, and
    // every ask after the first must find this subscription (and the index opening) rather than walk again.
    let w = this.watched.get(key);
    if (!w) {
      const { index, opened } = this.indexAt(key, ctx, dockerfilePath, builder);
      const listeners = new Set<(rels: string[]) => void>();
      const watcher = index.then(async (idx) => {
        const d = idx.watch({ onChange: (rels) => { for (const l of [...listeners]) l(rels); } });
        // Opened earlier without a watcher: a walk now, with the watcher running, misses nothing in between.
        if (!opened) await idx.refresh();
        return d;
      });
      const created = { listeners, watcher };
      w = created;
      this.watched.set(key, created);
      watcher.catch(() => {
        if (this.watched.get(key) === created) this.watched.delete(key);
      });
    }
    const mine = w;
    // A Set would merge two subscriptions with the same function: wrap it so each dispose removes its own.
    const listener = (rels: string[]): void => onChange(rels);
    mine.listeners.add(listener);
    try {
      await mine.watcher;
    } catch (e) {
      mine.listeners.delete(listener);
      throw e;
    }
    return {
      dispose: () => {
        if (!mine.listeners.delete(listener) || mine.listeners.size > 0) return;
        void mine.watcher.then((d) => d.dispose(), () => undefined);
        if (this.watched.get(key) === mine) this.watched.delete(key);
      },
    };
  }

  /**
   * The index an analysis of this Dockerfile last used (shared with other Dockerfiles when they see the same walk);
   * null before one was opened and settled.
   */
  indexKeyFor(contextDir: string, dockerfile: string, builder: Builder): string | null {
    return this.walkOf.get(contextKey(path.resolve(contextDir), path.resolve(dockerfile), builder)) ?? null;
  }

  /** Keys of every index opened (or opening). */
  indexKeys(): string[] {
    return [...this.contexts.keys()];
  }

  /** Index by the key indexKeyFor returned (null when it failed to open). */
  async indexByKey(key: string): Promise<ContextIndex | null> {
    const p = this.contexts.get(key);
    return p ? p.catch(() => null) : null;
  }

  /**
   * The context as the client sends it for a build (walked and .dockerignore-filtered; current even without a
   * watcher). Same index as the analyses use, so the hashes a build needs are already there.
   */
  async contextForBuild(contextDir: string, dockerfile: string, builder: Builder): Promise<ContextIndex> {
    await checkContext(path.resolve(contextDir));
    return this.contextIndex(path.resolve(contextDir), path.resolve(dockerfile), builder);
  }

  /** The context indexes opened so far (diagnostics read their entries; statistics their hash counters). */
  async contextIndexes(): Promise<ContextIndex[]> {
    const settled = await Promise.allSettled(this.contexts.values());
    return settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  async dispose(): Promise<void> {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    await this.persistVerified();
    for (const idx of await this.contextIndexes()) {
      // The hash cache is what makes the next process fast; losing it is never an error.
      await idx.persist().catch(() => undefined);
      idx.dispose();
    }
    this.contexts.clear();
    this.watched.clear();
  }

  private verifiedStore(contextDir: string): Promise<VerifiedStore> {
    let store = this.verified.get(contextDir);
    if (!store) {
      store = VerifiedStore.load(this.cacheDir === undefined ? defaultCacheRoot() : this.cacheDir, contextDir);
      this.verified.set(contextDir, store);
    }
    return store;
  }

  private async persistVerified(): Promise<void> {
    for (const [dir, store] of this.verified) await (await store).persist(dir);
  }

  /**
   * Writes hash caches a little after the last analysis rather than after each one: in an editor, analyses
   * follow keystrokes, and rewriting a 20,000-entry cache each time would cost more than the analysis.
   */
  private schedulePersist(index: ContextIndex): void {
    this.pendingPersist.add(index);
    if (this.persistTimer) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = null;
      const due = [...this.pendingPersist];
      this.pendingPersist.clear();
      for (const idx of due) void idx.persist().catch(() => undefined);
      void this.persistVerified();
    }, PERSIST_DELAY_MS);
    this.persistTimer.unref();
  }

  private async contextIndex(contextDir: string, dockerfile: string, builder: Builder): Promise<ContextIndex> {
    const { key, dockerfilePath } = await this.walkKey(contextDir, dockerfile, builder);
    const { index, opened } = this.indexAt(key, contextDir, dockerfilePath, builder);
    const idx = await index;
    if (!opened && !this.watched.has(key)) await idx.refresh();
    return idx;
  }

  /**
   * Which shared index a Dockerfile's analysis uses. Asked every time: creating a `<Dockerfile>.dockerignore` (or,
   * classic, a .dockerignore rule matching the Dockerfile) moves that Dockerfile to an index of its own.
   */
  private async walkKey(contextDir: string, dockerfile: string, builder: Builder): Promise<{ key: string; dockerfilePath: string | null }> {
    const walk = await ContextIndex.walkIdentity(contextDir, dockerfile, { builder });
    const key = `${contextDir}\0${builder}\0${walk.key}`;
    this.walkOf.set(contextKey(contextDir, dockerfile, builder), key);
    return { key, dockerfilePath: walk.dockerfilePath };
  }

  /** The index at `key`; opened (walked) now when there is none, registered before anything awaits. */
  private indexAt(key: string, contextDir: string, dockerfilePath: string | null, builder: Builder): { index: Promise<ContextIndex>; opened: boolean } {
    const existing = this.contexts.get(key);
    if (existing) return { index: existing, opened: false };
    const index = ContextIndex.open(contextDir, dockerfilePath, {
      builder,
      ...(this.onContextWalk ? { onWalkProgress: this.onContextWalk } : {}),
      ...(this.cacheDir !== undefined ? { cacheDir: this.cacheDir } : {}),
    }).catch((e: unknown) => {
      this.contexts.delete(key);
      throw new AnalyzeError(`cannot read the build context ${contextDir}: ${errorText(e)}`);
    });
    this.contexts.set(key, index);
    return { index, opened: true };
  }

  private daemonSnapshot(info: DaemonInfo | undefined): Promise<DaemonSnapshot> {
    this.snapshot ??= loadDaemonSnapshot(this.client, info ? { info } : {});
    return this.snapshot;
  }

  /**
   * A layer's files never change for a diff ID: kept in memory (a bounded number of layers) on top of the
   * client's disk cache, so re-analysis after a keystroke does not re-read a 20,000-entry listing.
   */
  private layerFiles(imageId: string, diffId: string): Promise<readonly LayerFileEntry[] | null> {
    const hit = this.layers.get(diffId);
    if (hit) {
      this.layers.delete(diffId); // re-insert: most recently used last
      this.layers.set(diffId, hit);
      return hit;
    }
    const p = this.client
      .layerFiles(imageId, [diffId])
      .then((m) => m.get(diffId) ?? null)
      .catch(() => null);
    this.layers.set(diffId, p);
    void p.then((files) => {
      if (files === null) this.layers.delete(diffId);
    });
    while (this.layers.size > MAX_LAYERS_IN_MEMORY) this.layers.delete(this.layers.keys().next().value!);
    return p;
  }

  private evidence(snap: DaemonSnapshot): DaemonEvidence {
    const inspected = (ids: readonly string[]): ImageInspect[] =>
      ids.map((id) => snap.inspects.get(id)).filter((x): x is ImageInspect => x !== undefined);
    let withHistory: ImageWithHistory[] | null = null;
    return {
      reachable: snap.daemon.reachable,
      error: snap.daemon.error,
      imagesError: snap.imagesError,
      imageByRef: async (ref) => {
        const id = resolveRef(snap, ref);
        return id ? (snap.inspects.get(id) ?? null) : null;
      },
      children: async (parentId) => inspected(snap.childrenByParent.get(parentId) ?? []),
      imagesWithHistory: async () => {
        withHistory ??= [...snap.inspects.values()].map((image) => ({
          image,
          history: [...(snap.histories.get(image.id) ?? [])].reverse(),
        }));
        return withHistory;
      },
      layerFiles: (imageId, diffId) => this.layerFiles(imageId, diffId),
      buildCache: async () => (snap.daemon.reachable && snap.buildCacheError === null ? snap.buildCache : null),
      allInspected: async () => [...snap.inspects.values()],
    };
  }
}

function contextKey(contextDir: string, dockerfile: string, builder: Builder): string {
  return `${contextDir}\0${dockerfile}\0${builder}`;
}

async function rootCtime(dir: string): Promise<number | null> {
  try {
    return (await fs.stat(dir)).ctimeMs;
  } catch {
    return null;
  }
}

function contextReader(index: ContextIndex, rootCtimeMs: number | null, verified: VerifiedStore): ContextReader {
  return {
    verifiedAt: (key) => verified.verifiedAt(key),
    markVerified: (key, atMs) => verified.markVerified(key, atMs),
    ctimeOf: (rel) => (rel === '' ? rootCtimeMs : (index.get(rel)?.ctimeMs ?? null)),
    resolve: (sources) => resolveSources(index, sources),
    layerBytes: (matches: readonly SourceMatch[]) => layerBytes(matches),
    contentHash: (rel) => index.contentHash(rel),
    contentHashes: (rels) => index.contentHashes(rels),
    classicHash: (matches: readonly SourceMatch[], variant: TarModeVariant) => classicSourceHash(index, matches, variant),
  };
}

/** Image reference → local image ID, the way the daemon resolves names (docker.io/library/ and :latest implied). */
export function resolveRef(snap: DaemonSnapshot, ref: string): string | null {
  if (/^sha256:[0-9a-f]{64}$/.test(ref)) return snap.images.has(ref) ? ref : null;
  if (/^[0-9a-f]{12,64}$/.test(ref)) {
    for (const id of snap.images.keys()) if (id.startsWith(`sha256:${ref}`)) return id;
  }
  let name = ref.split('@')[0]!;
  const lastSlash = name.lastIndexOf('/');
  if (name.lastIndexOf(':') <= lastSlash) name += ':latest';
  for (const candidate of [name, name.replace(/^docker\.io\//, ''), name.replace(/^docker\.io\/library\//, ''), name.replace(/^library\//, '')]) {
    const id = snap.imageByTag.get(candidate);
    if (id) return id;
  }
  return null;
}

async function readDockerfile(file: string): Promise<string> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (e) {
    throw new AnalyzeError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorText(e)}`);
  }
  if (!stat.isFile()) throw new AnalyzeError(`${file} is not a file`);
  if (stat.size > 50 * 1024 * 1024) throw new AnalyzeError(`${file} is ${stat.size} bytes: too large to be a Dockerfile`);
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new AnalyzeError(`cannot read ${file}: ${errorText(e)}`);
  }
}

async function checkContext(dir: string): Promise<void> {
  try {
    const s = await fs.stat(dir);
    if (!s.isDirectory()) throw new AnalyzeError(`the build context ${dir} is not a directory`);
    await fs.access(dir, 5 /* R_OK | X_OK */);
  } catch (e) {
    if (e instanceof AnalyzeError) throw e;
    throw new AnalyzeError(`cannot read the build context ${dir}: ${errorText(e)}`);
  }
}
