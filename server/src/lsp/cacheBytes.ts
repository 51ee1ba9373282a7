// How many bytes a package cache weighs in the layer a RUN made in the last build: read from that layer's file list
// (the docker adapter streams and caches it per diff ID). Best effort — any doubt about which layer belongs to the
// step and the answer is simply "unknown", never a guess.

import type { DaemonClient } from '../docker/daemonClient';
import { CACHE_PATHS, type CacheKind } from '../engine/diagnostics';
import { normaliseHistory } from '../engine/evaluate';
import type { Builder, StepReport } from '../engine/report';

export interface CacheBytesRequest {
  /** 1-based Dockerfile line of the RUN. */
  readonly line: number;
  readonly kinds: readonly CacheKind[];
  readonly history: NonNullable<StepReport['history']>;
  readonly builder: Builder;
}

export type CacheBytesResult = Map<number, Partial<Record<CacheKind, number>>>;

const LAYER_KEYWORDS = new Set(['RUN', 'COPY', 'ADD', 'WORKDIR']);

/** Which image and diff ID hold the layer of a matched history entry; null when that cannot be told for sure. */
async function layerOf(client: DaemonClient, req: CacheBytesRequest): Promise<{ imageId: string; diffId: string } | null> {
  const image = await client.inspectImage(req.history.imageId);
  // Classic: the matched image is the step's own image, whose top layer is the one the RUN committed.
  if (req.builder === 'classic') {
    const top = image.layers[image.layers.length - 1];
    return top ? { imageId: image.id, diffId: top } : null;
  }
  // BuildKit: the matched image is the final one. Every RUN/COPY/ADD/WORKDIR after our entry added one layer,
  // so counting them from the top finds ours without knowing how many the base image had.
  const history = await client.history(image.id); // newest first
  const k = history.findIndex((h) => h.createdBy === req.history.createdBy && h.created === req.history.created);
  if (k < 0) return null;
  let above = 0;
  for (let i = 0; i < k; i++) {
    const kw = (/^\S+/.exec(normaliseHistory(history[i]!.createdBy))?.[0] ?? '').toUpperCase();
    if (LAYER_KEYWORDS.has(kw)) above++;
  }
  const diffId = image.layers[image.layers.length - 1 - above];
  return diffId ? { imageId: image.id, diffId } : null;
}

export async function measureCacheBytes(client: DaemonClient, requests: readonly CacheBytesRequest[]): Promise<CacheBytesResult> {
  const out: CacheBytesResult = new Map();
  // One at a time: a layer read may export an image, and nobody is waiting on this answer.
  for (const req of requests) {
    try {
      const layer = await layerOf(client, req);
      if (!layer) continue;
      const files = (await client.layerFiles(layer.imageId, [layer.diffId])).get(layer.diffId) ?? [];
      const sums: Partial<Record<CacheKind, number>> = {};
      for (const kind of req.kinds) {
        const prefixes = CACHE_PATHS[kind];
        sums[kind] = files
          .filter((f) => f.whiteout === 'none' && f.type !== 'dir' && prefixes.some((p) => f.path.startsWith(p)))
          .reduce((a, f) => a + f.size, 0);
      }
      out.set(req.line, sums);
    } catch {
      // The image went away or the daemon is busy: the diagnostic just goes without a byte count.
    }
  }
  return out;
}
