// Inspect and history of an image never change for a given image ID (the ID is the hash of its config), so a
// fresh process need not ask the daemon again for the images it already knows: a CLI run on a daemon with a
// thousand images would otherwise spend seconds on two thousand requests before predicting anything.
// One file per daemon host under the cache root; a corrupt or foreign file is ignored, never an error.

import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import type { HistoryEntry, ImageInspect } from './types';

const FORMAT = 1;

export interface ImageDetails {
  readonly inspect: ImageInspect;
  readonly history: readonly HistoryEntry[];
}

export class ImageDetailsStore {
  private entries: Map<string, ImageDetails> | null = null;
  private dirty = false;
  private loading: Promise<Map<string, ImageDetails>> | null = null;

  constructor(private readonly file: string) {}

  static forHost(cacheRoot: string, host: string): ImageDetailsStore {
    const key = createHash('sha256').update(host).digest('hex').slice(0, 32);
    return new ImageDetailsStore(path.join(cacheRoot, 'images', `${key}.json`));
  }

  async get(id: string): Promise<ImageDetails | undefined> {
    return (await this.load()).get(id);
  }

  /** Every image known to the store (read-only view). */
  async all(): Promise<ReadonlyMap<string, ImageDetails>> {
    return this.load();
  }

  async set(id: string, details: ImageDetails): Promise<void> {
    (await this.load()).set(id, slim(details));
    this.dirty = true;
  }

  /**
   * Writes the store when images were added, keeping only images still present. Images that merely went away do not
   * cause a write by themselves (on a busy daemon that would rewrite megabytes on every run): an entry is keyed by
   * an immutable image ID, so a stale one is harmless; they are dropped at the next write, or once they make up a
   * quarter of the store. Failures are ignored: it is a cache.
   */
  async persist(present: ReadonlySet<string>): Promise<void> {
    const entries = await this.load();
    const gone = [...entries.keys()].filter((id) => !present.has(id));
    if (gone.length * 4 > entries.size) this.dirty = true;
    if (!this.dirty) return;
    for (const id of gone) entries.delete(id);
    this.dirty = false;
    const body = JSON.stringify({ format: FORMAT, images: Object.fromEntries([...entries].map(([id, d]) => [id, slim(d)])) });
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      await fsp.mkdir(path.dirname(this.file), { recursive: true });
      await fsp.writeFile(tmp, body);
      await fsp.rename(tmp, this.file);
    } catch {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  private load(): Promise<Map<string, ImageDetails>> {
    if (this.entries) return Promise.resolve(this.entries);
    this.loading ??= fsp
      .readFile(this.file) // bytes, decoded at once: cheaper than readFile(…, 'utf8') for megabytes
      .then((bytes) => {
        const parsed = JSON.parse(bytes.toString('utf8')) as { format?: unknown; images?: unknown };
        if (parsed.format !== FORMAT || typeof parsed.images !== 'object' || parsed.images === null) return new Map<string, ImageDetails>();
        return new Map(Object.entries(parsed.images as Record<string, ImageDetails>).filter(([, d]) => isDetails(d)));
      })
      .catch(() => new Map<string, ImageDetails>())
      .then((m) => (this.entries = m));
    return this.loading;
  }
}

/**
 * Without the tags: they move between images (the snapshot takes them from the current listing), and a base image
 * tagged a hundred times repeated its tags in the history of every image built on it — most of a 10 MB store.
 */
function slim(d: ImageDetails): ImageDetails {
  const untagged = d.inspect.repoTags.length === 0 && d.history.every((h) => h.tags.length === 0);
  return untagged ? d : { inspect: { ...d.inspect, repoTags: [] }, history: d.history.map((h) => (h.tags.length === 0 ? h : { ...h, tags: [] })) };
}

function isDetails(d: unknown): d is ImageDetails {
  const x = d as { inspect?: { id?: unknown; layers?: unknown }; history?: unknown };
  return typeof x?.inspect?.id === 'string' && Array.isArray(x.inspect.layers) && Array.isArray(x.history);
}
