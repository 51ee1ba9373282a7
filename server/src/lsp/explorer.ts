// Layer explorer requests (protocol.ts, "layer explorer"), answered by an ExplorerService per Docker host setting.
// Thin: argument checks, the Dockerfile text/settings/prediction of the session, daemon events for images that
// disappear while shown. Every answer is a result with an `error` field; nothing here throws to the client.

import { promises as fs } from 'fs';
import { fileURLToPath } from 'url';
import type { Connection, TextDocuments } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { DaemonClient, type Disposable } from '../docker';
import { defaultCacheRoot } from '../docker/layerCache';
import { EXPLORER_TIMEOUT_MS, ExplorerService, type TieToDockerfile } from '../explorer/service';
import {
  ExplorerCloseNotification, ExplorerImageGoneNotification, ExplorerLayerFilesRequest, ExplorerListImagesRequest,
  ExplorerOpenRequest, ExplorerProgressNotification, ExplorerWasteRequest, type ExplorerOpenParams, type ExplorerOpenResult,
} from '../protocol';
import type { Session } from './session';

export interface ExplorerHandlerOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Cache root override (tests); default: the usual cache root. */
  readonly cacheDir?: string | null;
}

export function registerExplorer(connection: Connection, documents: TextDocuments<TextDocument>, session: Session, opts: ExplorerHandlerOptions = {}): Disposable {
  const services = new Map<string, { service: ExplorerService; client: DaemonClient; events: Disposable | null }>();
  /** Image ID → host setting of the service that has it open. */
  const openOn = new Map<string, string>();
  const env = opts.env ?? process.env;

  const serviceFor = (host: string): { service: ExplorerService; client: DaemonClient; events: Disposable | null } => {
    let s = services.get(host);
    if (!s) {
      const client = DaemonClient.fromEnvironment({ env, hostSetting: host || null, timeoutMs: EXPLORER_TIMEOUT_MS, ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}) });
      const service = new ExplorerService({
        client,
        cacheDir: opts.cacheDir !== undefined ? opts.cacheDir : defaultCacheRoot(env),
        onProgress: (p) => void connection.sendNotification(ExplorerProgressNotification, p).catch(() => undefined),
      });
      s = { service, client, events: null };
      services.set(host, s);
    }
    return s;
  };

  const watchDeletes = (entry: { service: ExplorerService; client: DaemonClient; events: Disposable | null }): void => {
    if (entry.events) return;
    entry.events = entry.client.events({ type: ['image'] }, (ev) => {
      if (ev.action !== 'delete') return;
      for (const id of entry.service.openImages()) {
        if (id === ev.actorId || id === `sha256:${ev.actorId}` || ev.actorId === id.slice(7)) {
          void connection.sendNotification(ExplorerImageGoneNotification, {
            imageId: id,
            message: `image ${id.slice(7, 19)} was deleted from the daemon; what is shown stays until the panel closes`,
          }).catch(() => undefined);
        }
      }
    });
  };

  const hostFor = async (uri: string | null): Promise<string> => (await session.settingsFor(uri)).dockerHost;

  connection.onRequest(ExplorerListImagesRequest, async () => serviceFor(await hostFor(null)).service.listImages());

  connection.onRequest(ExplorerOpenRequest, async (p: ExplorerOpenParams): Promise<ExplorerOpenResult> => {
    const bad = (message: string): ExplorerOpenResult =>
      ({ image: null, foundBy: null, dockerfileUri: null, layers: [], files: 'failed', error: { kind: 'bad-request', message } });
    const image = typeof p?.image === 'string' && p.image !== '' ? p.image : null;
    const dfUri = typeof p?.dockerfileUri === 'string' && p.dockerfileUri !== '' ? p.dockerfileUri : null;
    if ((image === null) === (dfUri === null)) return bad('open needs exactly one of `image` and `dockerfileUri`');
    const tieUri = dfUri ?? (typeof p.tieToDockerfileUri === 'string' && p.tieToDockerfileUri !== '' ? p.tieToDockerfileUri : null);
    let tie: TieToDockerfile | null = null;
    if (tieUri !== null) {
      const text = documents.get(tieUri)?.getText() ?? (await readUri(tieUri));
      if (text === null) return bad(`cannot read ${tieUri}`);
      const settings = await session.settingsFor(tieUri);
      tie = { uri: tieUri, text, target: settings.target || null, steps: session.analysisOf(tieUri)?.report?.steps ?? null };
    }
    const host = await hostFor(tieUri);
    const entry = serviceFor(host);
    const result = await entry.service.open(image, tie);
    if (result.image) {
      openOn.set(result.image.id, host);
      watchDeletes(entry);
    }
    return result;
  });

  connection.onRequest(ExplorerLayerFilesRequest, async (p) => {
    const entry = services.get(openOn.get(p?.imageId) ?? '') ?? serviceFor(await hostFor(null));
    return entry.service.layerFiles(p);
  });

  connection.onRequest(ExplorerWasteRequest, async (p) => {
    const entry = services.get(openOn.get(p?.imageId) ?? '') ?? serviceFor(await hostFor(null));
    return entry.service.waste(p.imageId, typeof p.limit === 'number' ? p.limit : 20);
  });

  connection.onNotification(ExplorerCloseNotification, (p) => {
    const host = openOn.get(p?.imageId);
    if (host === undefined) return;
    openOn.delete(p.imageId);
    const entry = services.get(host);
    entry?.service.close(p.imageId);
    if (entry && entry.service.openImages().length === 0) {
      entry.events?.dispose();
      entry.events = null;
    }
  });

  return {
    dispose: () => {
      for (const e of services.values()) {
        e.events?.dispose();
        e.service.dispose();
      }
      services.clear();
    },
  };
}

async function readUri(uri: string): Promise<string | null> {
  if (!uri.startsWith('file:')) return null;
  try {
    return await fs.readFile(fileURLToPath(uri), 'utf8');
  } catch {
    return null;
  }
}
