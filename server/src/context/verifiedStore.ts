// When Layer Lens has compared a COPY's sources with a built layer byte for byte and found them equal, it writes
// down when. Until any source entry changes status after that moment (ctime), the comparison still holds and need
// not be repeated: no file is read and no layer fetched. The time is this machine's own clock on both sides,
// and the record is per context folder, so another checkout that built the same layer proves nothing here.

import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';

const FORMAT = 1;
const MAX_KEYS = 2_000;

export class VerifiedStore {
  private entries = new Map<string, number>();
  private dirty = false;

  private constructor(private readonly file: string | null) {}

  static async load(cacheRoot: string | null, contextDir: string): Promise<VerifiedStore> {
    if (cacheRoot === null) return new VerifiedStore(null);
    const key = createHash('sha256').update(path.resolve(contextDir)).digest('hex').slice(0, 32);
    const store = new VerifiedStore(path.join(cacheRoot, 'verified', `${key}.json`));
    try {
      const parsed = JSON.parse(await fsp.readFile(store.file!, 'utf8')) as { format?: unknown; root?: unknown; verified?: unknown };
      if (parsed.format === FORMAT && parsed.root === path.resolve(contextDir) && typeof parsed.verified === 'object' && parsed.verified) {
        for (const [k, v] of Object.entries(parsed.verified as Record<string, unknown>)) if (typeof v === 'number') store.entries.set(k, v);
      }
    } catch {
      // Missing or unreadable: start empty, it is a cache.
    }
    return store;
  }

  verifiedAt(key: string): number | null {
    return this.entries.get(key) ?? null;
  }

  markVerified(key: string, atMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, atMs);
    while (this.entries.size > MAX_KEYS) this.entries.delete(this.entries.keys().next().value!);
    this.dirty = true;
  }

  async persist(contextDir: string): Promise<void> {
    if (!this.dirty || this.file === null) return;
    this.dirty = false;
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      await fsp.mkdir(path.dirname(this.file), { recursive: true });
      await fsp.writeFile(tmp, JSON.stringify({ format: FORMAT, root: path.resolve(contextDir), verified: Object.fromEntries(this.entries) }));
      await fsp.rename(tmp, this.file);
    } catch {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}
