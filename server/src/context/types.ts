// Plain data describing a build context on disk. Produced by the context/ layer, consumed by the engine.
// Paths are context-relative, '/'-separated, never starting with './' or '/'.

export type EntryKind = 'file' | 'dir' | 'symlink' | 'other';

export interface ContextEntry {
  readonly rel: string;
  readonly kind: EntryKind;
  /** Full st_mode (type bits included). */
  readonly mode: number;
  /** st_size; for symlinks the length of the link text. */
  readonly size: number;
  readonly mtimeMs: number;
  /** Status change time: moves on any write, chmod, chown or rename of the entry (mtime does not on chmod). */
  readonly ctimeMs?: number;
  readonly ino: number;
  readonly dev: number;
  readonly nlink: number;
  /** Owner, as on disk (the tar header says 0:0; the CLI's tar still names the owner in uname/gname). */
  readonly uid?: number;
  readonly gid?: number;
  /** Symlink text, for kind === 'symlink'. */
  readonly linkTarget?: string;
  /** st_rdev, for device nodes (kind === 'other'); the tar header carries its major/minor numbers. */
  readonly rdev?: number;
  /**
   * A directory that .dockerignore excludes but that exists in the context anyway because an exception pattern
   * (`!dir/file`) re-included something below it. The classic builder's CLI does not send its tar header (the daemon
   * creates it while unpacking), so it has no tarsum; BuildKit sends it as a parent directory.
   */
  readonly implicit?: boolean;
}

/** The client that produced the context tar; decides the tar header mode field (see docker-build-cache.md §1). */
export type TarModeVariant = 'perm' | 'full' | 'windows';

/** One file (or symlink, or directory) that a COPY/ADD source selects. */
export interface SelectedEntry {
  /** The context entry (after following a symlink named as a source). */
  readonly entry: ContextEntry;
  /** Path relative to the matched source root: '' when the source itself is a file; 'a/b.txt' under a directory source. */
  readonly under: string;
}

/** What one source argument of COPY/ADD (e.g. `src/`, `*.json`, `.`) matched. */
export interface SourceMatch {
  /** The source as written after variable expansion. */
  readonly pattern: string;
  /** Each match root (a wildcard can match several); empty when nothing matched. */
  readonly roots: ReadonlyArray<{
    /** The matched path as the source names it ('' for the context root). */
    readonly rel: string;
    readonly kind: EntryKind;
    readonly entries: ReadonlyArray<SelectedEntry>;
    /** Where `rel` leads after following symlinks inside the context ('' = context root); equals rel without links. */
    readonly target?: string;
  }>;
  /** Why nothing matched, when roots is empty (e.g. 'not found in build context or excluded by .dockerignore'). */
  readonly error?: string;
}

/** Content of a COPY/ADD source set, as BuildKit would key it: mtime excluded. */
export interface FileFingerprint {
  /** Path as it lands under the destination (root-relative 'under' joined with the root's basename where Docker does so). */
  readonly path: string;
  readonly kind: EntryKind;
  /** Permission bits only (mode & 0o7777). */
  readonly perm: number;
  readonly size: number;
  /** sha256 hex of file content; for symlinks sha256 of the link text; '' for directories. */
  readonly sha256: string;
  readonly linkTarget?: string;
}
