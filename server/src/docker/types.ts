// Plain, validated data from the Docker Engine API. Only server/src/docker/ talks to the daemon (through dockerode);
// everything it returns is one of these shapes, checked at the boundary.

export interface DaemonInfo {
  readonly reachable: boolean;
  /** Human-readable host, e.g. 'unix:///var/run/docker.sock', 'tcp://1.2.3.4:2376', 'ssh://u@h'. */
  readonly host: string;
  readonly version: string | null;
  readonly apiVersion: string | null;
  /** Why the daemon could not be used, in one sentence; null when reachable. */
  readonly error: string | null;
}

export interface ImageSummary {
  readonly id: string; // 'sha256:…'
  readonly parentId: string; // '' when none
  readonly repoTags: readonly string[]; // [] for dangling/intermediate images
  readonly created: number; // unix seconds
  readonly size: number;
}

export interface ContainerConfigView {
  readonly cmd: readonly string[] | null;
  readonly env: readonly string[] | null;
  readonly entrypoint: readonly string[] | null;
  readonly user: string;
  readonly labels: Readonly<Record<string, string>> | null;
  readonly exposedPorts: readonly string[];
  readonly volumes: readonly string[];
  readonly tty: boolean;
  readonly openStdin: boolean;
  readonly attachStdout: boolean;
  readonly attachStderr: boolean;
  readonly workingDir: string;
}

export interface ImageInspect {
  readonly id: string;
  readonly parentId: string;
  readonly repoTags: readonly string[];
  readonly created: string; // RFC 3339
  readonly size: number;
  /** The image's own config (Config). */
  readonly config: ContainerConfigView;
  /** The probe config the classic builder stored (ContainerConfig); null when absent (BuildKit, imported). */
  readonly containerConfig: ContainerConfigView | null;
  /** RootFS.Layers: diff IDs, oldest first. */
  readonly layers: readonly string[];
}

export interface HistoryEntry {
  /** Image ID or '<missing>'. */
  readonly id: string;
  readonly created: number; // unix seconds
  readonly createdBy: string;
  readonly size: number;
  readonly comment: string;
  readonly tags: readonly string[];
}

export interface BuildCacheRecord {
  readonly id: string;
  readonly parent: string | null;
  readonly type: string;
  readonly description: string;
  readonly inUse: boolean;
  readonly shared: boolean;
  readonly size: number;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly usageCount: number;
}

/** One entry of a layer tar, bodies hashed while streaming, never held in memory. */
export interface LayerFileEntry {
  /** Path without leading './' or '/'; directories without trailing '/'. */
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  readonly mode: number; // permission bits
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly linkname: string;
  /** sha256 hex of the body for regular files, '' otherwise. */
  readonly sha256: string;
  /** '.wh.' whiteout: this path is deleted; '.wh..wh..opq': directory made opaque. */
  readonly whiteout: 'none' | 'file' | 'opaque';
}

/** What the layer explorer keeps of a layer tar entry (headers only). LayerFileEntry values fit this shape. */
export interface LayerHeaderEntry {
  readonly path: string;
  readonly type: LayerFileEntry['type'];
  /** Header size (bytes of a regular file; 0 for directories, whiteouts, and normally links). */
  readonly size: number;
  readonly linkname: string;
  readonly whiteout: LayerFileEntry['whiteout'];
}
