// The layer explorer's data, shared by the language server (lsp/explorer.ts) and `layerlens layers`:
//  - the table at once from inspect + history (cached per image ID by the daemon client);
//  - layer contents from one headers-only streamed export (bodies skipped), each layer kept on disk by diff ID
//    (immutable) and in a bounded in-memory LRU, so a second open costs no export;
//  - per-layer trees and the waste report computed from those headers (server/src/layers/, pure).
// Errors become ExplorerError values (never thrown to the caller): image gone, daemon gone, bad export.

import { DaemonClient, DaemonError, LayerHeaderDiskCache } from '../docker';
import type { HistoryEntry, ImageInspect, LayerHeaderEntry } from '../docker';
import { parseDockerfile, type DockerfileModel } from '../engine/dockerfileModel';
import type { StepReport } from '../engine/report';
import type { FsEntry } from '../layers/filesystem';
import { layerRows, lineageOf, matchScore, readableCreatedBy, sanitise, type LayerRow } from '../layers/rows';
import { layerTree } from '../layers/tree';
import { analyseWaste, type WasteReport } from '../layers/waste';
import {
  EXPLORER_FILES_DEFAULT_LIMIT, EXPLORER_FILES_MAX_LIMIT,
  type ExplorerError, type ExplorerImageInfo, type ExplorerLayerFilesParams, type ExplorerLayerFilesResult,
  type ExplorerLayerRef, type ExplorerListImagesResult, type ExplorerOpenResult, type ExplorerProgressParams,
  type ExplorerWasteResult,
} from '../protocol';

/**
 * Budget of the explorer's metadata calls: listing a daemon with thousands of images, busy with builds, can take
 * longer than the default 5 s, and a time-out would read as "daemon unreachable". A refused connection is immediate.
 */
export const EXPLORER_TIMEOUT_MS = 20000;

/** Images examined (newest first) when looking for the one a Dockerfile produced, and how many at a time. */
const FIND_CANDIDATES = 200;
const FIND_BATCH = 8;

export interface TieToDockerfile {
  readonly uri: string;
  readonly text: string;
  /** Target stage name ('' or null = the last stage). */
  readonly target: string | null;
  /** The engine's prediction for this Dockerfile (AnalysisReport.steps), when there is one. */
  readonly steps: readonly StepReport[] | null;
}

export interface ExplorerServiceOptions {
  readonly client: DaemonClient;
  /** Cache root; null = no disk cache. */
  readonly cacheDir: string | null;
  readonly onProgress?: (p: ExplorerProgressParams) => void;
  /** Most layer entries kept in memory across images (default 2,000,000). */
  readonly memoryEntries?: number;
  /** Least time between two progress notifications (default 100 ms). */
  readonly progressIntervalMs?: number;
}

interface ImageState {
  readonly id: string;
  /** The latest open's rows (an open tied to a Dockerfile replaces an untied one's). */
  rows: LayerRow[];
  /** Diff IDs of the non-empty layers, oldest first (inspect RootFS.Layers). */
  readonly diffIds: readonly string[];
  /** Row index of each diff ID position (-1 when the rows could not be lined up with the layers). */
  readonly rowOfLayer: readonly number[];
  files: Promise<void> | null;
  filesError: ExplorerError | null;
  filesDone: boolean;
  readonly abort: AbortController;
  waste: WasteReport | null;
}

export class ExplorerService {
  private readonly client: DaemonClient;
  private readonly disk: LayerHeaderDiskCache | null;
  private readonly lru = new Map<string, LayerHeaderEntry[]>();
  private lruEntries = 0;
  private readonly maxEntries: number;
  private readonly images = new Map<string, ImageState>();
  private readonly onProgress: ((p: ExplorerProgressParams) => void) | null;
  private readonly progressMs: number;

  constructor(opts: ExplorerServiceOptions) {
    this.client = opts.client;
    this.disk = opts.cacheDir === null ? null : new LayerHeaderDiskCache(opts.cacheDir);
    this.maxEntries = opts.memoryEntries ?? 2_000_000;
    this.onProgress = opts.onProgress ?? null;
    this.progressMs = opts.progressIntervalMs ?? 100;
  }

  async listImages(): Promise<ExplorerListImagesResult> {
    try {
      const list = await this.client.listImages();
      const images = list
        .sort((a, b) => b.created - a.created)
        .map((i) => ({ id: i.id, repoTags: i.repoTags.map((t) => sanitise(t, 512)), created: iso(i.created), size: i.size }));
      return { images, error: null };
    } catch (e) {
      return { images: [], error: explorerError(e) };
    }
  }

  /**
   * The table of `image` (ref or ID), or of the image `dockerfile` produced when `image` is null. Starts reading
   * the layer contents in the background unless they are cached (`files: 'ready'`).
   */
  async open(image: string | null, tie: TieToDockerfile | null): Promise<ExplorerOpenResult> {
    const fail = (error: ExplorerError): ExplorerOpenResult =>
      ({ image: null, foundBy: null, dockerfileUri: tie?.uri ?? null, layers: [], files: 'failed', error });
    let model: DockerfileModel | null = null;
    let targetIndex = -1;
    if (tie) {
      model = parseDockerfile(tie.text);
      if (model.stages.length === 0) return fail({ kind: 'bad-request', message: `${tie.uri} has no FROM instruction` });
      const t = (tie.target ?? '').toLowerCase();
      targetIndex = t === '' ? model.stages.length - 1 : model.stages.findIndex((s) => s.name === t);
      if (targetIndex < 0) return fail({ kind: 'bad-request', message: `${tie.uri} has no stage named ${JSON.stringify(tie.target)}` });
    }
    try {
      let id: string;
      let foundBy: ExplorerOpenResult['foundBy'] = 'ref';
      if (image !== null) {
        id = image;
      } else {
        if (!model) return fail({ kind: 'bad-request', message: 'open needs an image or a Dockerfile' });
        const found = await this.findProducedImage(model, targetIndex);
        foundBy = 'history-match';
        if (found === null) {
          return fail({ kind: 'no-image-for-dockerfile', message: `no local image matches the history of ${tie!.uri}: build it, or pick an image` });
        }
        id = found;
      }
      // Inspect + history of this one image: the table must not wait for anything else. Details from the store have
      // no tags (they move between images without the ID changing): the title needs the current ones.
      const known = await this.details(id);
      const { history } = known;
      const inspect = known.fromStore ? ((await this.client.inspectImage(id).catch(() => null)) ?? known.inspect) : known.inspect;
      const fromRef = model ? lineageOf(model, targetIndex)?.fromRef ?? null : null;
      const base = baseFromHistory(history, fromRef) ?? (await this.baseFromRef(fromRef, inspect)) ?? (await this.baseFromStore(inspect));
      const rows = layerRows({
        image: inspect,
        history,
        base: base ? { ref: fromRef ?? base.name, historyLength: base.historyLength } : null,
        dockerfile: tie && model ? { uri: tie.uri, model, target: targetIndex, steps: tie.steps } : null,
      });
      const state = this.stateFor(inspect, rows);
      if (state.filesDone && state.filesError !== null) {
        // The last read failed (the daemon went away mid-export…): opening again is the retry, not a replay of
        // that error — otherwise the image stays unreadable until its panel is closed, daemon back or not.
        state.files = null;
        state.filesError = null;
        state.filesDone = false;
      }
      const info: ExplorerImageInfo = {
        id: inspect.id,
        repoTags: inspect.repoTags.map((t) => sanitise(t, 512)),
        created: inspect.created,
        size: rows.length > 0 ? rows[rows.length - 1]!.cumulativeSize : 0,
        layerCount: rows.filter((r) => !r.empty).length,
        emptyLayerCount: rows.filter((r) => r.empty).length,
        labels: Object.fromEntries(Object.entries(inspect.config.labels ?? {}).slice(0, 200).map(([k, v]) => [sanitise(k, 256), sanitise(v, 1024)])),
      };
      const cached = await this.allCached(state);
      if (!cached) void this.files(state.id);
      return { image: info, foundBy, dockerfileUri: tie?.uri ?? null, layers: rows, files: cached ? 'ready' : 'streaming', error: null };
    } catch (e) {
      return fail(explorerError(e));
    }
  }

  /** Reads every layer's headers (disk cache or one export); resolves when done; errors are kept on the state. */
  files(imageId: string): Promise<void> {
    const state = this.images.get(imageId);
    if (!state) return Promise.resolve();
    state.files ??= this.readFiles(state).finally(() => { state.filesDone = true; });
    return state.files;
  }

  async layerFiles(p: ExplorerLayerFilesParams): Promise<ExplorerLayerFilesResult> {
    const counts = { added: 0, modified: 0, removed: 0 };
    const none = (state: ExplorerLayerFilesResult['state'], error: ExplorerError | null): ExplorerLayerFilesResult =>
      ({ state, nodes: [], truncated: false, matched: 0, counts, error });
    const state = this.images.get(p.imageId);
    if (!state) return none('ready', { kind: 'bad-request', message: `image ${p.imageId} is not open in the explorer` });
    const row = state.rows[p.layerIndex];
    if (!Number.isInteger(p.layerIndex) || !row) return none('ready', { kind: 'bad-request', message: `no layer ${p.layerIndex} in image ${p.imageId}` });
    if (row.empty) return none('empty-layer', null);
    const layers = await this.loadedLayers(state);
    if (layers === null) return none(state.filesDone ? 'ready' : 'pending', state.filesError);
    const pos = state.rowOfLayer.indexOf(p.layerIndex);
    if (pos < 0) return none('ready', { kind: 'invalid-response', message: 'the image history does not line up with its layers' });
    const limit = Math.min(EXPLORER_FILES_MAX_LIMIT, Math.max(1, Math.floor(p.limit ?? EXPLORER_FILES_DEFAULT_LIMIT)));
    const t = layerTree(layers, pos, { view: p.view === 'filesystem' ? 'filesystem' : 'changes', filter: p.filter ?? '', under: p.under ?? '', limit });
    return { state: 'ready', nodes: t.nodes.map((n) => ({ ...n, path: sanitise(n.path), ...(n.linkTarget !== undefined ? { linkTarget: sanitise(n.linkTarget) } : {}) })), truncated: t.truncated, matched: t.matched, counts: t.counts, error: null };
  }

  async waste(imageId: string, limit = 20): Promise<ExplorerWasteResult> {
    const empty = (state: ExplorerWasteResult['state'], error: ExplorerError | null): ExplorerWasteResult =>
      ({ state, efficiency: 1, diveWastedBytes: 0, removableBytes: 0, removableFiles: 0, imageBytes: 0, offenders: [], error });
    const state = this.images.get(imageId);
    if (!state) return empty('ready', { kind: 'bad-request', message: `image ${imageId} is not open in the explorer` });
    const layers = await this.loadedLayers(state);
    if (layers === null) return empty(state.filesDone ? 'ready' : 'pending', state.filesError);
    state.waste ??= analyseWaste(layers, 1000);
    const w = state.waste;
    const ref = (layer: number): ExplorerLayerRef => {
      const row = state.rows[state.rowOfLayer[layer] ?? -1];
      return { layerIndex: row?.index ?? -1, createdBy: row?.createdBy ?? '', source: row?.source ?? null };
    };
    return {
      state: 'ready',
      efficiency: w.efficiency,
      diveWastedBytes: w.diveWastedBytes,
      removableBytes: w.removableBytes,
      removableFiles: w.removableFiles,
      imageBytes: state.rows.reduce((n, r) => n + r.size, 0),
      offenders: w.offenders.slice(0, Math.max(0, Math.min(1000, limit))).map((o) => ({
        path: sanitise(o.path), bytes: o.bytes, versions: o.versions, addedBy: ref(o.addedLayer), hiddenBy: ref(o.hiddenLayer), how: o.how,
      })),
      error: null,
    };
  }

  /** Rows of an open image (for the CLI renderer). */
  rowsOf(imageId: string): readonly LayerRow[] | null {
    return this.images.get(imageId)?.rows ?? null;
  }

  /** The panel closed: stop its export, forget it (the layers stay in the caches). */
  close(imageId: string): void {
    const state = this.images.get(imageId);
    if (!state) return;
    state.abort.abort();
    this.images.delete(imageId);
  }

  /** Open image IDs (daemon events: one deleted while shown gets a notice). */
  openImages(): string[] {
    return [...this.images.keys()];
  }

  dispose(): void {
    for (const id of [...this.images.keys()]) this.close(id);
  }

  /**
   * Inspect + history, from the per-image-ID store when known (immutable per ID, but stored without tags), else from
   * the daemon.
   */
  private async details(ref: string): Promise<{ inspect: ImageInspect; history: readonly HistoryEntry[]; fromStore: boolean }> {
    const store = this.client.imageDetails;
    if (ref.startsWith('sha256:') && store) {
      const known = await store.get(ref);
      if (known) return { ...known, fromStore: true };
    }
    const [inspect, history] = await Promise.all([this.client.inspectImage(ref), this.client.history(ref)]);
    return { inspect, history, fromStore: false };
  }

  /** The Dockerfile's FROM image, when it is local and this image is built on it (its layers are a prefix). */
  private async baseFromRef(ref: string | null, image: ImageInspect): Promise<{ name: string; historyLength: number } | null> {
    if (ref === null || ref === '' || ref.includes('$') || ref.toLowerCase() === 'scratch') return null;
    try {
      const { inspect, history } = await this.details(ref);
      if (inspect.layers.length >= image.layers.length || !inspect.layers.every((l, i) => image.layers[i] === l)) return null;
      return { name: ref, historyLength: history.length };
    } catch {
      return null;
    }
  }

  /**
   * BuildKit images name no parent, so `docker history` shows no base: look among the tagged images whose details
   * the per-image store already holds for the longest proper layer prefix. The store keeps no tags (they move): the
   * image list says which images are tagged now.
   */
  private async baseFromStore(image: ImageInspect): Promise<{ name: string; historyLength: number } | null> {
    if (!this.client.imageDetails) return null;
    const [known, listed] = await Promise.all([this.client.imageDetails.all(), this.client.listImages().catch(() => [])]);
    const tagsOf = new Map(listed.map((i) => [i.id, i.repoTags]));
    let best: { name: string; historyLength: number; layers: number } | null = null;
    for (const [id, d] of known) {
      const other = d.inspect;
      const tags = tagsOf.get(id) ?? [];
      // Untagged images are the classic builder's intermediate steps of this very build, not a base.
      if (id === image.id || tags.length === 0 || other.layers.length === 0 || other.layers.length >= image.layers.length) continue;
      if (!other.layers.every((l: string, i: number) => image.layers[i] === l)) continue;
      if (!best || other.layers.length > best.layers) {
        best = { name: sanitise(tags[0]!, 512), historyLength: d.history.length, layers: other.layers.length };
      }
    }
    return best ? { name: best.name, historyLength: best.historyLength } : null;
  }

  /**
   * The image the Dockerfile produced: the newest local image whose history (after its base) lines up with the
   * target stage's instructions. Looks at the newest images first, a few at a time, and stops at a full match.
   */
  private async findProducedImage(model: DockerfileModel, target: number): Promise<string | null> {
    const lineage = lineageOf(model, target);
    if (!lineage || lineage.steps.length === 0) return null;
    const need = Math.max(1, Math.ceil(lineage.steps.length / 2));
    // When the FROM image is local, the produced image is built on it: its layers start with the base's. Without
    // this, an unrelated image that merely shares a few instructions (a WORKDIR, a common RUN) could be chosen.
    const baseLayers = await this.localBaseLayers(lineage.fromRef);
    const list = (await this.client.listImages()).sort((a, b) => b.created - a.created).slice(0, FIND_CANDIDATES);
    let best: { id: string; exact: number; aligned: number } | null = null;
    for (let i = 0; i < list.length; i += FIND_BATCH) {
      const batch = await Promise.all(list.slice(i, i + FIND_BATCH).map(async (img) => {
        try {
          const { inspect, history } = await this.details(img.id);
          if (baseLayers && !(inspect.layers.length > baseLayers.length && baseLayers.every((l, k) => inspect.layers[k] === l))) return null;
          const base = baseFromHistory(history);
          const own = [...history].reverse().slice(base?.historyLength ?? 0).map((h) => readableCreatedBy(h.createdBy));
          return { id: img.id, ...matchScore(own, lineage.steps) };
        } catch {
          return null; // deleted meanwhile
        }
      }));
      for (const c of batch) {
        if (!c || c.aligned < need || c.exact === 0) continue;
        if (!best || c.exact > best.exact || (c.exact === best.exact && c.aligned > best.aligned)) best = c; // newer wins ties
      }
      if (best && best.aligned === lineage.steps.length) break;
    }
    return best?.id ?? null;
  }

  /** The layers of the FROM image when it names a local image; null for scratch, a stage, a variable or no such image. */
  private async localBaseLayers(fromRef: string): Promise<readonly string[] | null> {
    if (fromRef === '' || fromRef.toLowerCase() === 'scratch' || fromRef.includes('$')) return null;
    try {
      return (await this.details(fromRef)).inspect.layers;
    } catch {
      return null; // not local (it will be pulled): fall back to the history match alone
    }
  }

  // ------------------------------------------------------------------------------------------------------------

  private stateFor(inspect: ImageInspect, rows: LayerRow[]): ImageState {
    const old = this.images.get(inspect.id);
    if (old) {
      old.rows = rows; // same image, same layers: only the ties to a Dockerfile may differ
      return old;
    }
    const rowOfLayer: number[] = inspect.layers.map(() => -1);
    const positions = new Map<string, number[]>();
    inspect.layers.forEach((d, i) => positions.set(d, [...(positions.get(d) ?? []), i]));
    for (const r of rows) {
      const slot = r.diffId !== null ? positions.get(r.diffId)?.shift() : undefined;
      if (slot !== undefined) rowOfLayer[slot] = r.index;
    }
    const state: ImageState = {
      id: inspect.id, rows, diffIds: inspect.layers, rowOfLayer, files: null, filesError: null, filesDone: false,
      abort: new AbortController(), waste: null,
    };
    this.images.set(inspect.id, state);
    return state;
  }

  private async allCached(state: ImageState): Promise<boolean> {
    for (const d of new Set(state.diffIds)) if ((await this.cached(d)) === null) return false;
    state.filesDone = true;
    return true;
  }

  private async cached(diffId: string): Promise<LayerHeaderEntry[] | null> {
    const hit = this.lru.get(diffId);
    if (hit) {
      this.lru.delete(diffId);
      this.lru.set(diffId, hit); // most recent last
      return hit;
    }
    const stored = this.disk ? await this.disk.get(diffId) : null;
    if (stored) this.remember(diffId, stored);
    return stored;
  }

  private remember(diffId: string, entries: LayerHeaderEntry[]): void {
    if (this.lru.has(diffId)) return;
    this.lru.set(diffId, entries);
    this.lruEntries += entries.length;
    for (const [d, e] of this.lru) {
      if (this.lruEntries <= this.maxEntries || this.lru.size === 1) break;
      this.lru.delete(d);
      this.lruEntries -= e.length;
    }
  }

  /** Every layer's entries, oldest first, or null while (or because) they could not be read. */
  private async loadedLayers(state: ImageState): Promise<FsEntry[][] | null> {
    if (!state.filesDone) return null;
    const out: FsEntry[][] = [];
    for (const d of state.diffIds) {
      const e = await this.cached(d);
      if (e === null) return null;
      out.push(e);
    }
    return out;
  }

  private async readFiles(state: ImageState): Promise<void> {
    const wanted = new Set<string>();
    for (const d of new Set(state.diffIds)) if ((await this.cached(d)) === null) wanted.add(d);
    const total = state.diffIds.length;
    const bytesTotal = state.rows.reduce((n, r) => n + r.size, 0);
    let done = total - [...state.diffIds].filter((d) => wanted.has(d)).length;
    let bytes = 0;
    let last = 0;
    const report = (final: boolean, error: ExplorerError | null): void => {
      const now = Date.now();
      if (!final && now - last < this.progressMs) return;
      last = now;
      this.onProgress?.({ imageId: state.id, layersDone: done, layersTotal: total, bytesRead: bytes, bytesTotal, done: final, error });
    };
    if (wanted.size === 0) {
      report(true, null);
      return;
    }
    const writes: Promise<void>[] = [];
    const got = new Set<string>();
    try {
      report(false, null);
      await this.client.exportLayerHeaders(state.id, {
        wanted,
        signal: state.abort.signal,
        onBytes: (n) => { bytes += n; report(false, null); },
        onLayer: (diffId, entries) => {
          if (!wanted.has(diffId) || got.has(diffId)) return;
          got.add(diffId);
          done += state.diffIds.filter((d) => d === diffId).length;
          if (!this.lru.has(diffId)) {
            const compact: LayerHeaderEntry[] = entries.map((e) => ({ path: e.path, type: e.type, size: e.size, linkname: e.linkname, whiteout: e.whiteout }));
            this.remember(diffId, compact);
            if (this.disk) writes.push(this.disk.put(diffId, compact).catch(() => undefined));
          }
          report(false, null);
        },
      });
      await Promise.all(writes);
      const missing = [...wanted].filter((d) => !got.has(d));
      if (missing.length > 0) throw new DaemonError('invalid-response', `the export of ${state.id} lacks layer ${missing[0]}`, this.client.host);
      report(true, null);
    } catch (e) {
      if (state.abort.signal.aborted) return;
      state.filesError = explorerError(e, state.id);
      report(true, state.filesError);
    }
  }
}

/**
 * The base image's part of a history (newest first, as the daemon returns it): `docker history` names the local
 * images an image is built on (entries with an ID and tags below the top); the newest such entry is the FROM image.
 */
export function baseFromHistory(history: readonly HistoryEntry[], fromRef: string | null = null): { name: string; historyLength: number } | null {
  for (let i = 1; i < history.length; i++) {
    const h = history[i]!;
    if (h.id === '<missing>' || h.tags.length === 0) continue;
    // One image may carry many tags: the one the Dockerfile names, else the first.
    const name = fromRef !== null && (h.tags.includes(fromRef) || h.tags.includes(`${fromRef}:latest`)) ? fromRef : h.tags[0]!;
    return { name, historyLength: history.length - i };
  }
  return null;
}

export function explorerError(e: unknown, imageId?: string): ExplorerError {
  if (e instanceof DaemonError) {
    switch (e.kind) {
      case 'not-found':
        return { kind: 'image-not-found', message: imageId ? `image ${imageId.slice(0, 19)} is no longer on the daemon (deleted?): ${sanitise(e.message, 512)}` : sanitise(e.message, 512) };
      case 'invalid-response':
      case 'http':
        return { kind: 'invalid-response', message: sanitise(e.message, 512) };
      case 'cancelled':
        return { kind: 'bad-request', message: sanitise(e.message, 512) };
      default:
        return { kind: 'daemon-unreachable', message: sanitise(e.message, 512) };
    }
  }
  return { kind: 'invalid-response', message: sanitise(e instanceof Error ? e.message : String(e), 512) };
}

function iso(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString();
}
