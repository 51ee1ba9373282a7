// A language server session over a generated workspace, shared by the load and soak suites: the real Analyzer
// against a GeneratedDaemon, N Dockerfiles that build on the generated images, resource sampling.

import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';
import * as v8 from 'v8';
import * as vm from 'vm';
import { closeAllConnections } from '../../server/src/docker/daemonClient';
import { StatsRequest, type ServerStats } from '../../server/src/protocol';
import { TestClient } from '../server/lspHarness';
import { tmpDir } from './figures';
import { GeneratedDaemon, type GeneratedContent } from './genDaemon';

export interface Workspace {
  readonly daemon: GeneratedDaemon;
  readonly lsp: TestClient;
  readonly dir: string;
  readonly uris: string[];
  readonly texts: Map<string, string>;
  stats(): Promise<ServerStats>;
  close(): Promise<void>;
}

/** Dockerfile `i`: FROM a generated base, a COPY of its own folder, RUN steps that match generated history. */
export function dockerfileFor(i: number, edit = 0): string {
  const base = (i * 10) % 1000;
  return [
    `FROM gen/base-${base}:1`,
    'WORKDIR /app',
    `COPY svc${i % 5}/ ./`,
    `RUN echo step ${base + 1}`,
    `RUN npm install && echo ${edit}`,
    `# edit ${edit}`,
    'CMD ["node", "index.js"]',
    '',
  ].join('\n');
}

export async function openWorkspace(name: string, content: GeneratedContent, documents: number, daemonDebounceMs?: number): Promise<Workspace> {
  const dir = tmpDir(name);
  const daemon = await new GeneratedDaemon(content).start();
  for (let s = 0; s < 5; s++) {
    fs.mkdirSync(path.join(dir, `svc${s}`), { recursive: true });
    for (let f = 0; f < 200; f++) fs.writeFileSync(path.join(dir, `svc${s}`, `f${f}.js`), `module.exports = ${f};\n`);
  }
  fs.writeFileSync(path.join(dir, 'package.json'), '{}');
  const lsp = new TestClient(
    { env: { ...process.env, DOCKER_HOST: '', LAYERLENS_CACHE_DIR: path.join(dir, '.cache') }, editDebounceMs: 20, ...(daemonDebounceMs !== undefined ? { daemonDebounceMs } : {}) },
    { dockerHost: `unix://${daemon.socketPath}` },
  );
  await lsp.initialize(undefined, pathToFileURL(dir).toString());
  const uris: string[] = [];
  const texts = new Map<string, string>();
  for (let i = 0; i < documents; i++) {
    const file = path.join(dir, `Dockerfile.${i}`);
    const text = dockerfileFor(i);
    fs.writeFileSync(file, text);
    const uri = pathToFileURL(file).toString();
    uris.push(uri);
    texts.set(uri, text);
  }
  return {
    daemon, lsp, dir, uris, texts,
    stats: () => lsp.client.sendRequest(StatsRequest),
    close: async () => {
      await lsp.shutdown();
      closeAllConnections();
      await daemon.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Samples RSS (and heap) every `everyMs` until stopped; `peak` is the largest RSS seen. */
export class MemorySampler {
  peakRss = 0;
  readonly samples: number[] = [];
  private readonly timer: NodeJS.Timeout;
  constructor(everyMs = 50) {
    this.timer = setInterval(() => {
      const m = process.memoryUsage();
      this.peakRss = Math.max(this.peakRss, m.rss);
      this.samples.push(m.rss);
    }, everyMs);
  }
  stop(): void {
    clearInterval(this.timer);
    this.peakRss = Math.max(this.peakRss, process.memoryUsage().rss);
  }
}

/** A full garbage collection (mocha runs without --expose-gc), then the heap in use. */
export function heapAfterGc(): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
