// The message protocol between the Layer Explorer's extension-host side (client/src/explorer/) and its webview
// (webview/src/main.ts), declared once and imported by both. No `vscode` and no DOM here: the root tsconfig (Node) and
// webview/tsconfig.json (DOM) both compile this file. The data itself has the language server's types
// (server/src/protocol.ts, type-only imports: nothing of the LSP library reaches the webview bundle); the host
// forwards it as it came.
//
// Handshake: the webview posts `ready` once its listener is installed; only then does the host post (a message sent to
// a webview that has not loaded yet is lost). `ready` is sent again by a webview that was reloaded (hidden and shown,
// window reload): the host answers each `ready` with everything it has.
//
// Every string that came from the daemon (created-by, tags, labels, file names) is untrusted: the webview renders it
// with textContent only, never as HTML.
import type {
  ExplorerError,
  ExplorerImageInfo,
  ExplorerLayerFilesResult,
  ExplorerLayerRow,
  ExplorerProgressParams,
  ExplorerWasteResult,
} from '../../server/src/protocol';

export type { ExplorerError, ExplorerFileNode, ExplorerImageInfo, ExplorerLayerFilesResult, ExplorerLayerRow, ExplorerWasteResult, ExplorerWasteOffender } from '../../server/src/protocol';

/** Sent in `ready` and `image`: a panel restored with a bundle of another version reloads instead of misreading. */
export const EXPLORER_PROTOCOL_VERSION = 1;

/** The view type of the panel and of its serializer (package.json activates on `onWebviewPanel:` + this). */
export const EXPLORER_VIEW_TYPE = 'layerLens.layerExplorer';

export type FilesView = 'changes' | 'filesystem';

/** A files request as the webview makes it (the host adds the image ID). */
export interface FilesQuery {
  readonly layer: number;
  readonly view: FilesView;
  /** Case-insensitive substring of the path; '' = everything. */
  readonly filter: string;
  /** Most nodes wanted ("show more" raises it). */
  readonly limit: number;
}

/** What a panel shows: kept in the webview's state, so that the serializer opens the same thing after a reload. */
export interface ExplorerTarget {
  /** Opened from a Dockerfile (its URI): the image it produced, found again after a reload (it may have been rebuilt). */
  readonly dockerfileUri: string | null;
  /** Opened for an image (ID or ref), tied to `dockerfileUri` when that is set too. */
  readonly image: string | null;
}

// ---- host → webview ----

export type HostMessage =
  /** First answer to each `ready`, and after a retarget: the webview keeps it in its state for the serializer. */
  | { readonly type: 'target'; readonly target: ExplorerTarget }
  /** The image and its history, shown at once. Replaces everything the webview had (a new image or a refresh). */
  | {
      readonly type: 'image';
      readonly version: number;
      readonly image: ExplorerImageInfo;
      /** Workspace-relative name of the tied Dockerfile, or null. */
      readonly dockerfile: string | null;
      /** Oldest first. */
      readonly layers: readonly ExplorerLayerRow[];
      /** Host clock (ms since the epoch), for relative times. */
      readonly now: number;
      /** Layer contents: known, being read (progress follows), or unreadable. */
      readonly files: 'ready' | 'streaming' | 'failed';
    }
  /** Reading the layer contents (the export streams). */
  | { readonly type: 'progress'; readonly progress: ExplorerProgressParams }
  /** The answer to a `files` query (echoed, so that a late answer to an older query is dropped). */
  | { readonly type: 'files'; readonly query: FilesQuery; readonly result: ExplorerLayerFilesResult }
  | { readonly type: 'waste'; readonly waste: ExplorerWasteResult }
  /** The cursor of the tied Dockerfile moved onto the line of this layer. */
  | { readonly type: 'cursor'; readonly layer: number }
  /** Something went wrong (image deleted, daemon gone, no image yet): shown as a banner; what is shown stays. */
  | { readonly type: 'problem'; readonly error: ExplorerError; readonly canPick: boolean }
  /** Nothing to show yet: the host is finding the image. */
  | { readonly type: 'loading'; readonly what: string };

// ---- webview → host ----

export type WebviewMessage =
  | { readonly type: 'ready'; readonly version: number }
  /** The user selected a layer (click, keyboard): the host reveals and highlights its Dockerfile lines. */
  | { readonly type: 'select'; readonly layer: number }
  | { readonly type: 'files'; readonly query: FilesQuery }
  | { readonly type: 'waste' }
  /** Show a Dockerfile range (a waste offender's "added by" / "hidden by"). */
  | { readonly type: 'reveal'; readonly line: number; readonly endLine: number }
  | { readonly type: 'refresh' }
  | { readonly type: 'pickImage' };

/** What the webview keeps with setState(): restored when the panel is shown again or the window reloads. */
export interface ExplorerUiState {
  readonly target: ExplorerTarget | null;
  readonly imageId: string | null;
  readonly selected: number | null;
  readonly sort: LayerSort;
  readonly filter: string;
  readonly view: FilesView;
  readonly expanded: readonly string[];
  readonly baseExpanded: boolean;
  readonly showEmpty: boolean;
}

export type LayerSort = 'history' | 'size-desc' | 'size-asc';

/** Checks the shape of a message from the webview (the host trusts nothing that crosses postMessage). */
export function parseWebviewMessage(m: unknown): WebviewMessage | null {
  if (typeof m !== 'object' || m === null) return null;
  const o = m as Record<string, unknown>;
  const int = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  switch (o['type']) {
    case 'ready':
      return int(o['version']) ? { type: 'ready', version: o['version'] } : null;
    case 'select':
      return int(o['layer']) ? { type: 'select', layer: o['layer'] } : null;
    case 'files': {
      const q = o['query'] as Record<string, unknown> | null | undefined;
      if (typeof q !== 'object' || q === null) return null;
      const view = q['view'];
      if (!int(q['layer']) || !int(q['limit']) || typeof q['filter'] !== 'string' || (view !== 'changes' && view !== 'filesystem')) return null;
      return { type: 'files', query: { layer: q['layer'], view, filter: q['filter'], limit: q['limit'] } };
    }
    case 'reveal':
      return int(o['line']) && int(o['endLine']) ? { type: 'reveal', line: o['line'], endLine: o['endLine'] } : null;
    case 'waste':
    case 'refresh':
    case 'pickImage':
      return { type: o['type'] };
    default:
      return null;
  }
}
