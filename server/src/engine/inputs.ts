// What the prediction engine reads, as interfaces: the analyzer wires them to the build context on disk and to
// the daemon; tests wire them to fakes. The engine never imports fs or dockerode.

import type { EntryKind, SourceMatch, TarModeVariant } from '../context/types';
import type { BuildCacheRecord, HistoryEntry, ImageInspect, LayerFileEntry } from '../docker/types';

export interface ContextReader {
  /** Resolves COPY/ADD source arguments (already expanded) like Docker. */
  resolve(sources: readonly string[]): SourceMatch[];
  /** Exact layer bytes of copying these matches (docker-build-cache.md §4). */
  layerBytes(matches: readonly SourceMatch[]): number;
  /** sha256 of a context file's content (cached by path/size/mtime/inode). */
  contentHash(rel: string): Promise<string>;
  /** contentHash of many files in one call (cached ones answered from memory, the others read in parallel). */
  contentHashes(rels: readonly string[]): Promise<ReadonlyMap<string, string>>;
  /** The classic builder's `file:`/`dir:`/`multi:` hash of these matches for one client variant. */
  classicHash(matches: readonly SourceMatch[], variant: TarModeVariant): Promise<string>;
  /** ctime of a context entry ('' = the context folder); null when unknown. */
  ctimeOf(rel: string): number | null;
  /** When sources were last found byte-identical to a built layer (key: layer + step), on this machine's clock. */
  verifiedAt(key: string): number | null;
  markVerified(key: string, atMs: number): void;
}

/** A file as it lands in the image: what BuildKit's content key covers (mtime excluded). */
export interface LandedFile {
  /** Image path without leading '/'. */
  readonly path: string;
  readonly kind: EntryKind;
  readonly perm: number;
  readonly size: number;
  readonly sha256: string;
  readonly linkTarget: string;
  /** Context path it comes from. */
  readonly from: string;
  readonly mtimeMs: number;
}

export interface ImageWithHistory {
  readonly image: ImageInspect;
  /** Oldest first. */
  readonly history: readonly HistoryEntry[];
}

export interface DaemonEvidence {
  readonly reachable: boolean;
  readonly error: string | null;
  /**
   * Why the local images could not all be read (the listing or an inspect failed, e.g. timed out on a busy daemon);
   * null when they were. While set, "not present locally" cannot be told from "not read", so nothing is predicted.
   */
  readonly imagesError: string | null;
  /** An image by reference or ID; null when absent locally. */
  imageByRef(ref: string): Promise<ImageInspect | null>;
  /** Images whose parent is this ID ('' → images without parent): the classic builder's cache candidates. */
  children(parentId: string): Promise<ImageInspect[]>;
  /** Every local image (dangling included) with its history: where BuildKit builds leave their trace. */
  imagesWithHistory(): Promise<ImageWithHistory[]>;
  /** Files of one layer of a local image; null when it cannot be read. */
  layerFiles(imageId: string, diffId: string): Promise<readonly LayerFileEntry[] | null>;
  /** BuildKit cache records, null when unavailable. */
  buildCache(): Promise<readonly BuildCacheRecord[] | null>;
  /** Every local image with its classic probe config, for "was this step ever built elsewhere" questions. */
  allInspected(): Promise<ImageInspect[]>;
}
