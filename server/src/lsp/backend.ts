// What the language server needs from the engine, as one interface: the real one wraps an Analyzer (context
// indexes, daemon snapshot, event stream); in-process tests substitute a fake that returns canned reports.

import * as path from 'path';
import { Analyzer, type AnalyzeRequest, type AnalyzeResult } from '../analyze';
import type { ContextIndex } from '../context/contextIndex';
import type { DaemonEvent, EventStreamStatus } from '../docker/daemonClient';
import type { DaemonInfo } from '../docker/types';
import type { ContextFacts } from '../engine/diagnostics';
import type { Builder } from '../engine/report';
import { runBuild, type BuildListener, type BuildRequestOptions } from '../build/runBuild';
import type { BuildResult } from '../protocol';
import { measureCacheBytes, type CacheBytesRequest, type CacheBytesResult } from './cacheBytes';

export interface Disposable {
  dispose(): void;
}

export interface ContextStats {
  readonly filesRead: number;
  readonly bytesRead: number;
  /** Full walks of build contexts, and file watchers open on them (shared by Dockerfiles that see the same walk). */
  readonly walks: number;
  readonly watchers: number;
}

export interface ContextKey {
  readonly contextDir: string;
  readonly dockerfile: string;
  readonly builder: Builder;
}

export interface AnalysisBackend {
  analyze(req: AnalyzeRequest): Promise<AnalyzeResult>;
  invalidateDaemon(): void;
  /** Keeps the context index current through a file watcher; `onChange` runs after changed paths were re-statted. */
  watchContext(key: ContextKey, onChange: (rels: string[]) => void): Promise<Disposable>;
  /** What diagnostics need from an indexed context; null when the backend has not indexed it. */
  contextFacts(key: ContextKey): ContextFacts | null;
  /** Absolute path of the ignore file in effect for that context, or null when there is none. */
  ignoreFilePath(key: ContextKey): string | null;
  contextStats(): ContextStats;
  daemonInfo(): Promise<DaemonInfo>;
  daemonEvents(onEvent: (e: DaemonEvent) => void, onStatus: (s: EventStreamStatus) => void): Disposable;
  /** Package-cache bytes in the layers of built RUN steps (best effort, may read image layers). */
  cacheBytes(requests: readonly CacheBytesRequest[]): Promise<CacheBytesResult>;
  /** Runs a build (see build/runBuild.ts); absent in backends that cannot build (test fakes). */
  build?(req: BuildRequestOptions, listener: BuildListener, signal: AbortSignal): Promise<BuildResult>;
  dispose(): Promise<void>;
}

/** Image and builder events that change what is cached; container commits are classic-builder steps. */
export const DAEMON_EVENT_FILTERS: Readonly<Record<string, readonly string[]>> = {
  type: ['image', 'builder', 'container'],
  event: ['commit', 'delete', 'import', 'load', 'pull', 'tag', 'untag', 'prune'],
};

export function analyzerBackend(analyzer: Analyzer): AnalysisBackend {
  const indexOf = (key: ContextKey): ContextIndex | null => findIndex(analyzer, key);
  return {
    analyze: async (req) => {
      try {
        return await analyzer.analyze(req);
      } finally {
        await settleIndexes(analyzer);
      }
    },
    invalidateDaemon: () => analyzer.invalidateDaemon(),
    watchContext: async (key, onChange) => {
      const w = await analyzer.watchContext(key.contextDir, key.dockerfile, key.builder, onChange);
      await settleIndexes(analyzer);
      return w;
    },
    contextFacts: (key) => {
      const idx = indexOf(key);
      if (!idx) return null;
      const ignore = idx.dockerignoreFile?.path ?? null;
      const ignoreRel = ignore ? path.relative(idx.contextDir, ignore).split(path.sep).join('/') : null;
      return {
        entries: idx.entries,
        dockerfileRel: idx.dockerfileRelOf(key.dockerfile),
        dockerignoreRel: ignoreRel !== null && !ignoreRel.startsWith('..') ? ignoreRel : null,
        builder: idx.builder,
      };
    },
    ignoreFilePath: (key) => indexOf(key)?.dockerignoreFile?.path ?? null,
    contextStats: () => {
      let filesRead = 0;
      let bytesRead = 0;
      let walks = 0;
      let watchers = 0;
      for (const idx of allIndexes(analyzer)) {
        filesRead += idx.hashCache.stats.filesRead;
        bytesRead += idx.hashCache.stats.bytesRead;
        walks += idx.walks;
        watchers += idx.watcherCount;
      }
      return { filesRead, bytesRead, walks, watchers };
    },
    daemonInfo: () => analyzer.client.info(),
    daemonEvents: (onEvent, onStatus) => analyzer.client.events(DAEMON_EVENT_FILTERS, onEvent, onStatus),
    cacheBytes: (requests) => measureCacheBytes(analyzer.client, requests),
    build: async (req, listener, signal) => {
      try {
        return await runBuild(analyzer, req, listener, signal);
      } finally {
        await settleIndexes(analyzer);
      }
    },
    dispose: () => analyzer.dispose(),
  };
}

/**
 * Indexes whose opening finished, per analyzer and by the analyzer's index key, so that reads stay synchronous
 * (hovers and hints answer from memory).
 */
const settled = new WeakMap<Analyzer, ReadonlyMap<string, ContextIndex>>();

async function settleIndexes(analyzer: Analyzer): Promise<void> {
  const m = new Map<string, ContextIndex>();
  for (const key of analyzer.indexKeys()) {
    const idx = await analyzer.indexByKey(key);
    if (idx) m.set(key, idx);
  }
  settled.set(analyzer, m);
}

function allIndexes(analyzer: Analyzer): Iterable<ContextIndex> {
  return settled.get(analyzer)?.values() ?? [];
}

/** The index this Dockerfile's last analysis used (several Dockerfiles may share it). */
function findIndex(analyzer: Analyzer, key: ContextKey): ContextIndex | null {
  const k = analyzer.indexKeyFor(key.contextDir, key.dockerfile, key.builder);
  return k === null ? null : (settled.get(analyzer)?.get(k) ?? null);
}
