// Content-addressed, immutable on-disk caches of layer listings: <root>/layers/sha256/<hex>.json (with content
// hashes, for the cache prediction) and <root>/layer-headers/sha256/<hex>.json (headers only, for the layer
// explorer). A diff ID names the exact bytes of a layer, so an entry never goes stale. Writes are atomic
// (tmp + rename); unreadable or corrupt files are treated as misses (and removed). All failures are non-fatal.

import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { LayerFileEntry, LayerHeaderEntry } from './types';

const FORMAT = 1;
const DIFF_ID = /^sha256:([0-9a-f]{64})$/;
const TYPES: ReadonlyArray<LayerFileEntry['type']> = ['file', 'dir', 'symlink', 'hardlink', 'other'];
const WHITEOUTS: ReadonlyArray<LayerFileEntry['whiteout']> = ['none', 'file', 'opaque'];

/** `$LAYERLENS_CACHE_DIR`, else `$XDG_CACHE_HOME/layerlens`, else `~/.cache/layerlens`. */
export function defaultCacheRoot(env: Readonly<Record<string, string | undefined>> = process.env, homeDir: string = os.homedir()): string {
  if (env.LAYERLENS_CACHE_DIR) return env.LAYERLENS_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return path.join(env.XDG_CACHE_HOME, 'layerlens');
  return path.join(homeDir, '.cache', 'layerlens');
}

export function isDiffId(s: string): boolean {
  return DIFF_ID.test(s);
}

/** One JSON file per diff ID under `<root>/<sub>/sha256/`, rows as tuples; `decodeRow` null = corrupt file. */
class DiffIdStore<T> {
  private readonly dir: string;
  private tmpSeq = 0;

  constructor(root: string, sub: string, private readonly decodeRow: (r: unknown[]) => T | null) {
    this.dir = path.join(root, sub, 'sha256');
  }

  fileFor(diffId: string): string {
    const m = DIFF_ID.exec(diffId);
    if (!m) throw new Error(`not a sha256 diff ID: ${JSON.stringify(diffId)}`);
    return path.join(this.dir, `${m[1]}.json`);
  }

  async get(diffId: string): Promise<T[] | null> {
    const file = this.fileFor(diffId);
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch {
      return null;
    }
    const entries = this.decode(text, diffId);
    if (entries === null) await fsp.rm(file, { force: true }).catch(() => undefined);
    return entries;
  }

  protected async write(diffId: string, rows: unknown[][]): Promise<void> {
    const file = this.fileFor(diffId);
    await fsp.mkdir(this.dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${++this.tmpSeq}.tmp`;
    try {
      await fsp.writeFile(tmp, JSON.stringify({ format: FORMAT, diffId, rows }));
      await fsp.rename(tmp, file);
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    }
  }

  private decode(text: string, diffId: string): T[] | null {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return null;
    }
    if (typeof v !== 'object' || v === null) return null;
    const o = v as Record<string, unknown>;
    if (o.format !== FORMAT || o.diffId !== diffId || !Array.isArray(o.rows)) return null;
    const out: T[] = [];
    for (const r of o.rows as unknown[]) {
      const e = Array.isArray(r) ? this.decodeRow(r) : null;
      if (e === null) return null;
      out.push(e);
    }
    return out;
  }
}

export class LayerDiskCache extends DiffIdStore<LayerFileEntry> {
  constructor(root: string) {
    super(root, 'layers', decodeFileRow);
  }

  async put(diffId: string, entries: readonly LayerFileEntry[]): Promise<void> {
    await this.write(diffId, entries.map((e) => [
      e.path, TYPES.indexOf(e.type), e.mode, e.uid, e.gid, e.size, e.linkname, e.sha256, WHITEOUTS.indexOf(e.whiteout),
    ]));
  }
}

/** Header-only listings (no content hashes): kept apart from LayerDiskCache, whose readers need the hashes. */
export class LayerHeaderDiskCache extends DiffIdStore<LayerHeaderEntry> {
  constructor(root: string) {
    super(root, 'layer-headers', decodeHeaderRow);
  }

  async put(diffId: string, entries: readonly LayerHeaderEntry[]): Promise<void> {
    await this.write(diffId, entries.map((e) => [e.path, TYPES.indexOf(e.type), e.size, e.linkname, WHITEOUTS.indexOf(e.whiteout)]));
  }
}

function decodeFileRow(r: unknown[]): LayerFileEntry | null {
  if (r.length !== 9) return null;
  const [p, t, mode, uid, gid, size, linkname, sha, wh] = r;
  if (typeof p !== 'string' || typeof t !== 'number' || typeof mode !== 'number' || typeof uid !== 'number' ||
    typeof gid !== 'number' || typeof size !== 'number' || typeof linkname !== 'string' || typeof sha !== 'string' ||
    typeof wh !== 'number') return null;
  const type = TYPES[t];
  const whiteout = WHITEOUTS[wh];
  if (type === undefined || whiteout === undefined) return null;
  return { path: p, type, mode, uid, gid, size, linkname, sha256: sha, whiteout };
}

function decodeHeaderRow(r: unknown[]): LayerHeaderEntry | null {
  if (r.length !== 5) return null;
  const [p, t, size, linkname, wh] = r;
  if (typeof p !== 'string' || typeof t !== 'number' || typeof size !== 'number' || typeof linkname !== 'string' || typeof wh !== 'number') return null;
  const type = TYPES[t];
  const whiteout = WHITEOUTS[wh];
  if (type === undefined || whiteout === undefined) return null;
  return { path: p, type, size, linkname, whiteout };
}
