// A fake Docker daemon on a unix socket with generated content (images with parents, tags and history, BuildKit
// cache records) and an /events stream the test writes to. Used where a real daemon cannot be made to misbehave
// on purpose (stalls, truncation, malformed JSON, old API versions) and for load figures (1,000 images and 2,000
// cache records are generated here: creating them in a real daemon would take far longer than the suite may).

import type * as http from 'http';
import { FakeDaemon } from '../unit/dockerHelpers.test';

export interface GeneratedContent {
  readonly images: number;
  readonly buildCacheRecords: number;
  /** Reported by GET /version. */
  readonly version?: string;
  readonly apiVersion?: string;
}

const hex64 = (n: number, salt: string): string => {
  let h = '';
  let x = (n + 1) * 2654435761 + salt.length * 97;
  while (h.length < 64) {
    x = (x * 1103515245 + 12345) % 2147483648;
    h += x.toString(16).padStart(8, '0');
  }
  return h.slice(0, 64);
};

export class GeneratedDaemon extends FakeDaemon {
  /** Open /events responses. */
  private readonly streams = new Set<http.ServerResponse>();
  eventsServed = 0;

  constructor(readonly content: GeneratedContent) {
    super();
    this.json('GET /version', { Version: content.version ?? '20.10.24', ApiVersion: content.apiVersion ?? '1.41', Os: 'linux', Arch: 'amd64' });
    const ids = Array.from({ length: content.images }, (_, i) => `sha256:${hex64(i, 'img')}`);
    // Chains of 10: every tenth image is a base, the others are built on the previous one.
    const parentOf = (i: number): string => (i % 10 === 0 ? '' : ids[i - 1]!);
    const summaries = ids.map((id, i) => ({
      Id: id,
      ParentId: parentOf(i),
      RepoTags: i % 10 === 9 ? [`gen/app-${i}:latest`] : i % 10 === 0 ? [`gen/base-${i}:1`] : ['<none>:<none>'],
      Created: 1_700_000_000 + i,
      Size: 1000 * (i + 1),
    }));
    this.json('GET /images/json', summaries);
    const inspectOf = new Map<string, unknown>();
    const historyOf = new Map<string, unknown>();
    ids.forEach((id, i) => {
      const base = i - (i % 10);
      inspectOf.set(id, {
        Id: id,
        Parent: parentOf(i),
        RepoTags: summaries[i]!.RepoTags.filter((t) => t !== '<none>:<none>'),
        Created: new Date((1_700_000_000 + i) * 1000).toISOString(),
        Size: 1000 * (i + 1),
        Config: { Cmd: ['/bin/sh'], Env: ['PATH=/usr/bin'], WorkingDir: '/app', Labels: { 'gen.index': String(i) } },
        RootFS: { Type: 'layers', Layers: Array.from({ length: i - base + 1 }, (_, k) => `sha256:${hex64(base + k, 'layer')}`) },
      });
      historyOf.set(id, Array.from({ length: i - base + 1 }, (_, k) => ({
        Id: k === i - base ? id : '<missing>',
        Created: 1_700_000_000 + base + k,
        CreatedBy: k === 0 ? '/bin/sh -c #(nop) ADD file:abc in / ' : `/bin/sh -c echo step ${base + k} # <b>markup</b>\u0007`,
        Size: 100 * k,
        Comment: '',
        Tags: null,
      })).reverse());
    });
    const dispatch = (suffix: 'json' | 'history') => (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const m = /^\/images\/(.+)\/(json|history)$/.exec(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      const key = m ? (m[1]!.startsWith('sha256:') ? m[1]! : `sha256:${m[1]!}`) : '';
      const body = suffix === 'json' ? inspectOf.get(key) : historyOf.get(key);
      res.writeHead(body ? 200 : 404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body ?? { message: `No such image: ${m?.[1] ?? '?'}` }));
    };
    for (const id of ids) {
      this.on(`GET /images/${id}/json`, dispatch('json'));
      this.on(`GET /images/${id}/history`, dispatch('history'));
    }
    const records = Array.from({ length: content.buildCacheRecords }, (_, i) => ({
      ID: hex64(i, 'bc').slice(0, 25),
      Parents: i % 20 === 0 ? null : [hex64(i - 1, 'bc').slice(0, 25)],
      Type: i % 3 === 0 ? 'source.local' : 'regular',
      Description: i % 3 === 0 ? 'local source for context' : `[stage-0 ${i % 7}/7] RUN echo ${i}`,
      InUse: false,
      Shared: false,
      Size: i * 10,
      CreatedAt: new Date(1_700_000_000_000 + i * 1000).toISOString(),
      LastUsedAt: null,
      UsageCount: 1,
    }));
    this.json('GET /system/df', { BuildCache: records, Images: null, Containers: null, Volumes: null });
    this.on('GET /events', (_req, res) => {
      this.eventsServed++;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      this.streams.add(res);
      res.on('close', () => this.streams.delete(res));
    });
  }

  get imageIds(): string[] {
    return Array.from({ length: this.content.images }, (_, i) => `sha256:${hex64(i, 'img')}`);
  }

  /** Writes `n` image events (tag/untag/delete) to every open /events stream. */
  pushEvents(n: number): number {
    const now = Math.floor(Date.now() / 1000);
    const actions = ['tag', 'untag', 'delete'];
    let written = 0;
    for (const res of this.streams) {
      for (let i = 0; i < n; i++) {
        const ev = { Type: 'image', Action: actions[i % 3], Actor: { ID: `sha256:${hex64(i, 'ev')}`, Attributes: { name: `gen/ev-${i}` } }, scope: 'local', time: now, timeNano: now * 1e9 + i };
        res.write(JSON.stringify(ev) + '\n');
        written++;
      }
    }
    return written;
  }

  get openEventStreams(): number {
    return this.streams.size;
  }
}
