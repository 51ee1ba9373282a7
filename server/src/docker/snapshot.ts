// One call that gathers, as plain data, what the prediction engine needs from the daemon: daemon info, the whole
// image graph (all=1, intermediate and dangling images included), inspect + history of every image, and the
// BuildKit cache records. Inspect and history are immutable per image ID, so they are cached in memory per client
// across calls: a refresh only fetches images that are new. Nothing here throws: problems become `daemon.error`.

import { DaemonClient } from './daemonClient';
import type { ImageDetails } from './imageDetailsStore';
import { DaemonError, errorText } from './errors';
import type { BuildCacheRecord, DaemonInfo, HistoryEntry, ImageInspect, ImageSummary } from './types';

export interface DaemonSnapshot {
  /** `error` also carries non-fatal problems (e.g. build cache unavailable) while `reachable` stays true. */
  readonly daemon: DaemonInfo;
  /** Date.now() when the snapshot was completed. */
  readonly takenAt: number;
  /** Every image by ID (from `GET /images/json?all=1`). */
  readonly images: ReadonlyMap<string, ImageSummary>;
  /** Child image IDs by parent ID; '' is the key for images without a parent. Newest first. */
  readonly childrenByParent: ReadonlyMap<string, readonly string[]>;
  /** 'repo:tag' -> image ID. */
  readonly imageByTag: ReadonlyMap<string, string>;
  readonly inspects: ReadonlyMap<string, ImageInspect>;
  /** History per image ID, newest first, as the daemon returns it. */
  readonly histories: ReadonlyMap<string, readonly HistoryEntry[]>;
  readonly buildCache: readonly BuildCacheRecord[];
  /** Why the build cache could not be read (then `buildCache` is empty and proves nothing); null when read. */
  readonly buildCacheError: string | null;
  readonly buildCacheById: ReadonlyMap<string, BuildCacheRecord>;
  /** Why the image list or some image's details could not be read; null when every image was read. */
  readonly imagesError: string | null;
}

export interface SnapshotOptions {
  /** Parallel inspect/history requests (default 8). */
  readonly concurrency?: number;
  /** Fetch inspect + history (default true). */
  readonly details?: boolean;
  /** Fetch build cache records (default true). */
  readonly buildCache?: boolean;
  /**
   * Ping + version already asked for by the caller (the language server asks before every analysis, to choose the
   * builder). Used instead of asking again: a daemon that stalls would otherwise cost a second time-out in a row.
   */
  readonly info?: DaemonInfo;
}


/** Per-client, per-image-ID memo. Holds promises so concurrent snapshots share in-flight requests. */
const detailCache = new WeakMap<DaemonClient, Map<string, Promise<ImageDetails | null>>>();

function detailsFor(client: DaemonClient, id: string): Promise<ImageDetails | null> {
  let m = detailCache.get(client);
  if (!m) {
    m = new Map();
    detailCache.set(client, m);
  }
  const hit = m.get(id);
  if (hit) return hit;
  const memo = m;
  const store = client.imageDetails;
  const p = (store ? store.get(id) : Promise.resolve(undefined))
    .then(async (stored) => {
      if (stored) return stored;
      const [inspect, history] = await Promise.all([client.inspectImage(id), client.history(id)]);
      const fetched: ImageDetails = { inspect, history };
      await store?.set(id, fetched);
      return fetched;
    })
    .catch((e: unknown) => {
      memo.delete(id); // never cache failures
      // The image went away between listing and inspecting: not an error, just skip it.
      if (e instanceof DaemonError && e.kind === 'not-found') return null;
      throw e;
    });
  m.set(id, p);
  return p;
}

/** Drops the memo for images no longer present (keeps memory bounded as images come and go). */
function pruneDetails(client: DaemonClient, present: ReadonlySet<string>): void {
  const m = detailCache.get(client);
  if (!m) return;
  for (const id of [...m.keys()]) if (!present.has(id)) m.delete(id);
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

export async function loadDaemonSnapshot(client: DaemonClient, opts: SnapshotOptions = {}): Promise<DaemonSnapshot> {
  const images = new Map<string, ImageSummary>();
  const childrenByParent = new Map<string, string[]>();
  const imageByTag = new Map<string, string>();
  const inspects = new Map<string, ImageInspect>();
  const histories = new Map<string, readonly HistoryEntry[]>();
  let buildCache: readonly BuildCacheRecord[] = [];
  let buildCacheError: string | null = null;
  const buildCacheById = new Map<string, BuildCacheRecord>();
  const problems: string[] = [];
  let imagesError: string | null = null;

  const finish = (daemon: DaemonInfo): DaemonSnapshot => ({
    daemon: problems.length > 0 ? { ...daemon, error: [daemon.error, ...problems].filter((s) => s).join('; ') } : daemon,
    takenAt: Date.now(),
    images, childrenByParent, imageByTag, inspects, histories, buildCache, buildCacheError, buildCacheById, imagesError,
  });

  // A daemon known to be unreachable is not asked anything more (each request would wait for its own time-out).
  if (opts.info && !opts.info.reachable) return finish(opts.info);
  // The image list is asked for together with ping + version: one round trip less before the details can start.
  const listP = client.listImages({ all: true }).then((l) => ({ list: l, error: null }), (e: unknown) => ({ list: null, error: e }));
  let info: DaemonInfo;
  if (opts.info) {
    info = opts.info;
  } else {
    try {
      info = await client.info();
    } catch (e) {
      info = { reachable: false, host: client.host, version: null, apiVersion: null, error: errorText(e) };
    }
  }
  if (!info.reachable) return finish(info);

  const cacheP: Promise<readonly BuildCacheRecord[] | null> = opts.buildCache === false
    ? Promise.resolve(null)
    : client.buildCache().catch((e: unknown) => {
      buildCacheError = errorText(e);
      problems.push(`build cache unavailable: ${errorText(e)}`);
      return null;
    });

  const listed = await listP;
  const list: ImageSummary[] | null = listed.list;
  if (listed.error !== null) {
    imagesError = `cannot list images: ${errorText(listed.error)}`;
    problems.push(imagesError);
  }

  if (list) {
    list.sort((a, b) => b.created - a.created || (a.id < b.id ? -1 : 1));
    for (const img of list) {
      images.set(img.id, img);
      const kids = childrenByParent.get(img.parentId);
      if (kids) kids.push(img.id);
      else childrenByParent.set(img.parentId, [img.id]);
      for (const t of img.repoTags) imageByTag.set(t, img.id);
    }
    pruneDetails(client, new Set(images.keys()));
    if (opts.details !== false) {
      const failures: string[] = [];
      await mapLimit([...images.keys()], opts.concurrency ?? 8, async (id) => {
        try {
          const d = await detailsFor(client, id);
          if (d) {
            // Tags move between images: the listing is current, a stored inspect may not be.
            inspects.set(id, { ...d.inspect, repoTags: images.get(id)!.repoTags });
            histories.set(id, d.history);
          }
        } catch (e) {
          failures.push(errorText(e));
        }
      });
      await client.imageDetails?.persist(new Set(images.keys()));
      if (failures.length > 0) {
        imagesError = `could not read ${failures.length} image(s): ${failures[0]}${failures.length > 1 ? ' (and more)' : ''}`;
        problems.push(imagesError);
      }
    }
  }

  const records = await cacheP;
  if (records) {
    buildCache = records;
    for (const r of records) buildCacheById.set(r.id, r);
  }
  return finish(info);
}
