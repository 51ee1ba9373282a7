// Content-addressed, immutable on-disk cache of layer file lists: <root>/layers/sha256/<hex>.json.
// A diff ID names the exact bytes of a layer, so an entry never goes stale. Writes are atomic (tmp + rename);
// unreadable or corrupt files are treated as misses (and removed). All failures are non-fatal.

import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { LayerFileEntry } from './types';

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

// Stored compactly: one tuple per entry.
type Row = [path: string, type: number, mode: number, uid: number, gid: number, size: number, linkname: string, sha256: string, whiteout: number];

export class LayerDiskCache {
  private readonly dir: string;
  private tmpSeq = 0;

  constructor(root: string) {
    this.dir = path.join(root, 'layers', 'sha256');
  }

  fileFor(diffId: string): string {
    const m = DIFF_ID.exec(diffId);
    if (!m) throw new Error(`not a sha256 diff ID: ${JSON.stringify(diffId)}`);
    return path.join(this.dir, `${m[1]}.json`);
  }

  async get(diffId: string): Promise<LayerFileEntry[] | null> {
    const file = this.fileFor(diffId);
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch {
      return null;
    }
    const entries = decode(text, diffId);
    if (entries === null) await fsp.rm(file, { force: true }).catch(() => undefined);
    return entries;
  }

  async put(diffId: string, entries: readonly LayerFileEntry[]): Promise<void> {
    const file = this.fileFor(diffId);
    const rows: Row[] = entries.map((e) => [
      e.path, TYPES.indexOf(e.type), e.mode, e.uid, e.gid, e.size, e.linkname, e.sha256, WHITEOUTS.indexOf(e.whiteout),
    ]);
    const body = JSON.stringify({ format: FORMAT, diffId, rows });
    await fsp.mkdir(this.dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${++this.tmpSeq}.tmp`;
    try {
      await fsp.writeFile(tmp, body);
      await fsp.rename(tmp, file);
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    }
  }
}

function decode(text: string, diffId: string): LayerFileEntry[] | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (o.format !== FORMAT || o.diffId !== diffId || !Array.isArray(o.rows)) return null;
  const out: LayerFileEntry[] = [];
  for (const r of o.rows as unknown[]) {
    if (!Array.isArray(r) || r.length !== 9) return null;
    const [p, t, mode, uid, gid, size, linkname, sha, wh] = r as unknown[];
    if (typeof p !== 'string' || typeof t !== 'number' || typeof mode !== 'number' || typeof uid !== 'number' ||
      typeof gid !== 'number' || typeof size !== 'number' || typeof linkname !== 'string' || typeof sha !== 'string' ||
      typeof wh !== 'number') return null;
    const type = TYPES[t];
    const whiteout = WHITEOUTS[wh];
    if (type === undefined || whiteout === undefined) return null;
    out.push({ path: p, type, mode, uid, gid, size, linkname, sha256: sha, whiteout });
  }
  return out;
}
