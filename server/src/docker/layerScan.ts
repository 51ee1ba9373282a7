// Reads a `docker save` stream (GET /images/{id}/get) in one pass:
//  - legacy layout (Docker <= 24): <v1id>/layer.tar, <v1id>/json, <config>.json, manifest.json, repositories;
//    a layer shared twice is a symlink to the first layer.tar;
//  - OCI layout (Docker >= 25): blobs/sha256/<hex> (layers, configs, manifests), index.json, manifest.json.
// Every candidate layer blob is hashed while streaming (uncompressed: that digest is the diff ID; gzip: the
// decompressed digest is) and its inner tar parsed with file bodies hashed on the fly. Nothing is buffered except
// small JSON files (manifest/config, <= 4 MiB). manifest.json + config (if present) are used afterwards to check
// that every layer path's digest matches the config's rootfs.diff_ids.

import { createHash, Hash } from 'crypto';
import * as zlib from 'zlib';
import { isTarHeaderBlock, TarBodySink, TarFormatError, TarHeader, TarParser } from './tar';
import type { LayerFileEntry } from './types';

const MAX_JSON = 4 * 1024 * 1024;
const OPAQUE = '.wh..wh..opq';
const WH = '.wh.';
const WH_META = '.wh..wh.';

/** Normalises a tar path: no leading './' or '/', no trailing '/', no '.' segments. */
export function normaliseTarPath(p: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  return parts.join('/');
}

/** Collects LayerFileEntry values from the entries of one layer tar (a TarParser callback). */
export class LayerEntryCollector {
  readonly entries: LayerFileEntry[] = [];

  /** hashBodies=false: headers only (the layer explorer): file bodies are skipped, `sha256` is ''. */
  constructor(private readonly hashBodies = true) {}

  readonly onEntry = (h: TarHeader): TarBodySink | null => {
    const path = normaliseTarPath(h.name);
    if (path === '') return null; // the layer root itself
    const slash = path.lastIndexOf('/');
    const dir = slash >= 0 ? path.slice(0, slash) : '';
    const base = slash >= 0 ? path.slice(slash + 1) : path;
    const mode = h.mode & 0o7777;
    if (base.startsWith(WH)) {
      if (base === OPAQUE) {
        if (dir === '') return null;
        this.entries.push(whiteout(dir, 'opaque', h, mode));
        return null;
      }
      if (base.startsWith(WH_META)) return null; // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content
      const target = base.slice(WH.length);
      if (target === '') return null;
      this.entries.push(whiteout(dir === '' ? target : `${dir}/${target}`, 'file', h, mode));
      return null;
    }
    const type: LayerFileEntry['type'] =
      h.type === 'file' || h.type === 'dir' || h.type === 'symlink' || h.type === 'hardlink' ? h.type : 'other';
    const base0 = { path, type, mode, uid: h.uid, gid: h.gid, size: h.size, whiteout: 'none' as const };
    if (type === 'file' && this.hashBodies) {
      const hash = createHash('sha256');
      let seen = 0;
      return {
        write: (c) => { hash.update(c); seen += c.length; },
        end: () => {
          this.entries.push({ ...base0, size: seen, linkname: '', sha256: hash.digest('hex') });
        },
      };
    }
    const linkname = type === 'hardlink' ? normaliseTarPath(h.linkname) : type === 'symlink' ? h.linkname : '';
    this.entries.push({ ...base0, size: type === 'dir' ? 0 : h.size, linkname, sha256: '' });
    return null;
  };
}

function whiteout(path: string, kind: 'file' | 'opaque', h: TarHeader, mode: number): LayerFileEntry {
  // Whiteouts are markers, not content: type 'other', size 0, no hash; `path` is the path they delete / make opaque.
  return { path, type: 'other', mode, uid: h.uid, gid: h.gid, size: 0, linkname: '', sha256: '', whiteout: kind };
}

/** Parses one complete layer tar held in memory (tests, small fixtures). */
export function parseLayerTar(buf: Buffer): LayerFileEntry[] {
  const c = new LayerEntryCollector();
  const p = new TarParser(c.onEntry);
  p.write(buf);
  p.end();
  return c.entries;
}

export interface ScannedLayer {
  /** Outer archive path (e.g. 'abc…/layer.tar', 'blobs/sha256/…'). */
  readonly path: string;
  readonly diffId: string;
  readonly entries: LayerFileEntry[];
  readonly compression: 'none' | 'gzip';
}

export interface SaveScanResult {
  /** Valid layers by diff ID. */
  readonly layers: Map<string, ScannedLayer>;
  /** Outer path -> diff ID for every layer path (symlinked duplicates resolved). */
  readonly pathToDiffId: Map<string, string>;
  /** Diff IDs the config(s) declare, oldest first, per manifest entry; [] when no manifest/config was seen. */
  readonly declaredDiffIds: string[][];
  /** Candidate blobs that could not be read as layers, with the reason (e.g. zstd); informational. */
  readonly skipped: Array<{ path: string; reason: string }>;
}

export class SaveFormatError extends Error {
  override readonly name = 'SaveFormatError';
}

type BlobMode = 'undecided' | 'tar' | 'gzip' | 'json' | 'unsupported';

/** Sink for one candidate blob of the outer archive. */
class BlobSink implements TarBodySink {
  private mode: BlobMode = 'undecided';
  private head: Buffer[] = [];
  private headLen = 0;
  private readonly rawHash: Hash = createHash('sha256');
  private tarHash: Hash | null = null;
  private collector: LayerEntryCollector | null = null;
  private inner: TarParser | null = null;
  private innerError: string | null = null;
  private gunzip: zlib.Gunzip | null = null;
  private json: Buffer[] | null = null;
  private reason = '';
  private jsonLen = 0;

  constructor(private readonly scanner: SaveArchiveScanner, readonly path: string, private readonly size: number) {}

  write(chunk: Buffer): void {
    this.rawHash.update(chunk);
    if (this.mode === 'undecided') {
      this.head.push(chunk);
      this.headLen += chunk.length;
      if (this.headLen < 512 && this.headLen < this.size) return;
      const head = Buffer.concat(this.head);
      this.head = [];
      this.decide(head);
      this.feed(head);
      return;
    }
    this.feed(chunk);
  }

  private decide(head: Buffer): void {
    if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
      this.mode = 'gzip';
      this.tarHash = createHash('sha256');
      this.startInner();
      const gz = zlib.createGunzip();
      gz.on('data', (c: Buffer) => {
        this.tarHash!.update(c);
        this.feedInner(c);
      });
      gz.on('error', (e) => { this.innerError = `gzip: ${e.message}`; });
      this.gunzip = gz;
    } else if (head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd) {
      this.mode = 'unsupported';
      this.reason = 'zstd-compressed blob (not supported)'; // Node 20 has no zstd decoder
    } else if (isTarHeaderBlock(head)) {
      this.mode = 'tar';
      this.startInner();
    } else if (head.length >= 1 && (head[0] === 0x7b || head[0] === 0x5b) && this.size <= MAX_JSON) {
      this.mode = 'json';
      this.json = [];
    } else {
      this.mode = 'unsupported';
      this.reason = 'neither a tar, gzip nor JSON blob';
    }
  }

  private startInner(): void {
    this.collector = new LayerEntryCollector(this.scanner.hashBodies);
    this.inner = new TarParser(this.collector.onEntry);
  }

  private feedInner(c: Buffer): void {
    if (this.innerError !== null || !this.inner) return;
    try {
      this.inner.write(c);
    } catch (e) {
      this.innerError = e instanceof TarFormatError ? e.message : String(e);
      this.collector = null; // drop partial entries early
    }
  }

  private feed(c: Buffer): void {
    switch (this.mode) {
      case 'tar':
        this.feedInner(c);
        break;
      case 'gzip':
        if (this.innerError === null && !this.gunzip!.write(c)) {
          const gz = this.gunzip!;
          this.scanner.addPending(new Promise<void>((resolve) => {
            const done = (): void => { gz.off('drain', done); gz.off('error', done); gz.off('close', done); resolve(); };
            gz.on('drain', done);
            gz.on('error', done);
            gz.on('close', done);
          }));
        }
        break;
      case 'json':
        this.json!.push(Buffer.from(c));
        this.jsonLen += c.length;
        break;
      default:
        break;
    }
  }

  end(): void {
    if (this.mode === 'undecided') {
      const head = Buffer.concat(this.head);
      this.head = [];
      this.decide(head);
      this.feed(head);
    }
    const rawDigest = `sha256:${this.rawHash.digest('hex')}`;
    switch (this.mode) {
      case 'tar':
        this.finishInner();
        this.scanner.onLayer(this.path, rawDigest, this.collector, this.innerError, 'none');
        break;
      case 'gzip': {
        const gz = this.gunzip!;
        this.scanner.addPending(new Promise<void>((resolve) => {
          const finish = (): void => {
            if (this.innerError === null) this.finishInner();
            const d = `sha256:${this.tarHash!.digest('hex')}`;
            this.scanner.onLayer(this.path, d, this.collector, this.innerError, 'gzip');
            resolve();
          };
          if (this.innerError !== null) { finish(); return; }
          gz.once('end', finish);
          gz.once('error', () => finish());
          gz.end();
        }));
        break;
      }
      case 'json':
        this.scanner.onJson(this.path, Buffer.concat(this.json!, this.jsonLen));
        break;
      case 'unsupported':
        this.scanner.onSkipped(this.path, this.reason);
        break;
      default:
        break;
    }
  }

  private finishInner(): void {
    if (this.innerError !== null || !this.inner) return;
    try {
      this.inner.end();
    } catch (e) {
      this.innerError = e instanceof Error ? e.message : String(e);
    }
  }
}

/** Collects small top-level JSON files (manifest.json, <config>.json, index.json). */
class JsonSink implements TarBodySink {
  private parts: Buffer[] = [];
  constructor(private readonly scanner: SaveArchiveScanner, private readonly path: string) {}
  write(c: Buffer): void { this.parts.push(Buffer.from(c)); }
  end(): void { this.scanner.onJson(this.path, Buffer.concat(this.parts)); }
}

export interface SaveScanOptions {
  /** Hash file bodies (default true). False: headers only, bodies skipped (the layer explorer). */
  readonly hashBodies?: boolean;
  /** Called as each layer is read completely (its diff ID verified by hashing the layer stream). */
  readonly onLayer?: (diffId: string, entries: LayerFileEntry[]) => void;
  /** Keep every layer's entries in the result (default true). False: `entries` are [] (onLayer has them). */
  readonly retain?: boolean;
}

export class SaveArchiveScanner {
  /** @internal */ readonly hashBodies: boolean;
  private readonly onLayerRead: ((diffId: string, entries: LayerFileEntry[]) => void) | null;
  private readonly retain: boolean;
  private readonly outer: TarParser;
  private readonly pending: Promise<void>[] = [];
  private readonly layers = new Map<string, ScannedLayer>();
  private readonly pathDigest = new Map<string, string>();
  private readonly links = new Map<string, string>();
  private readonly jsons = new Map<string, unknown>();
  private readonly skipped: Array<{ path: string; reason: string }> = [];

  constructor(opts: SaveScanOptions = {}) {
    this.hashBodies = opts.hashBodies ?? true;
    this.onLayerRead = opts.onLayer ?? null;
    this.retain = opts.retain ?? true;
    this.outer = new TarParser((h) => this.onOuterEntry(h));
  }

  /** Feed the next chunk of the export stream (synchronous); then await `drain()`. */
  write(chunk: Buffer): void {
    this.outer.write(chunk);
  }

  /** Resolves when decompressors have room again (backpressure); cheap when nothing is pending. */
  drain(): Promise<void> | null {
    if (this.pending.length === 0) return null;
    const ps = this.pending.splice(0);
    return Promise.all(ps).then(() => undefined);
  }

  /** True once the layer with this diff ID was read completely. */
  hasLayer(diffId: string): boolean {
    return this.layers.has(diffId);
  }

  /** Stops early (the caller quit reading): completed layers only, no end-of-archive or manifest checks. */
  async finishPartial(): Promise<SaveScanResult> {
    while (this.pending.length > 0) await Promise.all(this.pending.splice(0));
    return { layers: this.layers, pathToDiffId: this.pathDigest, declaredDiffIds: [], skipped: this.skipped };
  }

  async finish(): Promise<SaveScanResult> {
    this.outer.end();
    while (this.pending.length > 0) await Promise.all(this.pending.splice(0));

    // Resolve symlinked layer paths (legacy format: a repeated layer links to the first copy).
    for (const [from, to] of this.links) {
      let target = to;
      for (let i = 0; i < 16 && !this.pathDigest.has(target) && this.links.has(target); i++) target = this.links.get(target)!;
      const d = this.pathDigest.get(target);
      if (d !== undefined) this.pathDigest.set(from, d);
    }

    const declared: string[][] = [];
    const manifest = this.jsons.get('manifest.json');
    if (Array.isArray(manifest)) {
      for (const [i, m] of manifest.entries()) {
        if (typeof m !== 'object' || m === null) throw new SaveFormatError(`manifest.json[${i}] is not an object`);
        const mo = m as Record<string, unknown>;
        const cfgPath = typeof mo.Config === 'string' ? normaliseTarPath(mo.Config) : null;
        const layerPaths = Array.isArray(mo.Layers) ? mo.Layers.filter((x): x is string => typeof x === 'string').map(normaliseTarPath) : [];
        const cfg = cfgPath !== null ? this.jsons.get(cfgPath) : undefined;
        const diffIds = diffIdsOf(cfg);
        if (diffIds === null) continue;
        declared.push(diffIds);
        if (diffIds.length !== layerPaths.length) {
          throw new SaveFormatError(`manifest.json[${i}] lists ${layerPaths.length} layers but its config declares ${diffIds.length} diff IDs`);
        }
        layerPaths.forEach((lp, j) => {
          const got = this.pathDigest.get(lp);
          const want = diffIds[j]!;
          if (got !== undefined && got !== want) {
            throw new SaveFormatError(`layer ${lp} hashes to ${got} but the image config declares ${want}`);
          }
          if (got === undefined) this.pathDigest.set(lp, want); // e.g. zstd: known by declaration only
        });
      }
    }
    return { layers: this.layers, pathToDiffId: this.pathDigest, declaredDiffIds: declared, skipped: this.skipped };
  }

  /** @internal */ addPending(p: Promise<void>): void {
    this.pending.push(p);
  }

  /** @internal */ onLayer(path: string, diffId: string, c: LayerEntryCollector | null, error: string | null, compression: 'none' | 'gzip'): void {
    if (error !== null || c === null) {
      this.skipped.push({ path, reason: error ?? 'not a tar' });
      return;
    }
    this.pathDigest.set(path, diffId);
    if (this.layers.has(diffId)) return;
    this.layers.set(diffId, { path, diffId, entries: this.retain ? c.entries : [], compression });
    this.onLayerRead?.(diffId, c.entries);
  }

  /** @internal */ onJson(path: string, body: Buffer): void {
    try {
      this.jsons.set(path, JSON.parse(body.toString('utf8')));
    } catch {
      if (path === 'manifest.json') throw new SaveFormatError('manifest.json in the export is not valid JSON');
    }
  }

  /** @internal */ onSkipped(path: string, reason: string): void {
    this.skipped.push({ path, reason });
  }

  private onOuterEntry(h: TarHeader): TarBodySink | null {
    const path = normaliseTarPath(h.name);
    const isLayerPath = path.endsWith('/layer.tar') || path === 'layer.tar' || path.startsWith('blobs/');
    if (h.type === 'symlink' && isLayerPath) {
      const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
      const target = h.linkname.startsWith('/') ? normaliseTarPath(h.linkname) : resolveRelative(dir, h.linkname);
      this.links.set(path, target);
      return null;
    }
    if (h.type === 'hardlink' && isLayerPath) {
      this.links.set(path, normaliseTarPath(h.linkname));
      return null;
    }
    if (h.type !== 'file') return null;
    if (isLayerPath) return new BlobSink(this, path, h.size);
    if (!path.includes('/') && path.endsWith('.json') && h.size <= MAX_JSON) return new JsonSink(this, path);
    return null;
  }
}

function resolveRelative(dir: string, rel: string): string {
  const out = dir === '' ? [] : dir.split('/');
  for (const seg of rel.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return out.join('/');
}

function diffIdsOf(cfg: unknown): string[] | null {
  if (typeof cfg !== 'object' || cfg === null) return null;
  const rootfs = (cfg as Record<string, unknown>).rootfs;
  if (typeof rootfs !== 'object' || rootfs === null) return null;
  const ids = (rootfs as Record<string, unknown>).diff_ids;
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) return null;
  return ids as string[];
}
