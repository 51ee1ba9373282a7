// Issue 7.6, soak: a long editing session compressed into a bounded test: thousands of edits over five open
// Dockerfiles, context files changing under the watcher, daemon event bursts, hovers and hints, with the heap
// sampled after a full GC at every tenth of the run. No growth trend is allowed. An hour of busy editing is taken
// as 3,600 edits, 120 context changes and 600 daemon events: CI runs 1,500 / 60 / 600; LAYERLENS_FUZZ_RUNS=2.4
// runs the hour.

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { latencySummary, recordFigure, runs, slope } from './figures';
import { dockerfileFor, heapAfterGc, MemorySampler, openWorkspace, type Workspace } from './session';

const DOCS = 5;
const SEGMENTS = 10;

describe('hardening 7.6: soak', function () {
  this.timeout(900_000);
  let ws: Workspace;
  const figures: Record<string, unknown> = {};

  before(async () => {
    ws = await openWorkspace('soak', { images: 100, buildCacheRecords: 100 }, DOCS, 50);
  });
  after(async () => {
    recordFigure('soak', figures);
    await ws?.close();
  });

  it('edits, context changes and daemon events: no memory growth trend, requests stay fast', async () => {
    const editsPerSegment = Math.round(runs(1500) / SEGMENTS);
    const mark = ws.lsp.mark();
    for (const uri of ws.uris) await ws.lsp.open(uri, ws.texts.get(uri)!);
    await Promise.all(ws.uris.map((uri) => ws.lsp.analysed(uri, { from: mark, timeoutMs: 120_000 })));
    const mem = new MemorySampler(200);
    const heap: number[] = [];
    const latencies: number[] = [];
    let edits = 0;
    let contextChanges = 0;
    let events = 0;
    const latest = new Map<string, number>();
    const t0 = performance.now();
    const s0 = await ws.stats();
    for (let seg = 0; seg <= SEGMENTS; seg++) {
      // Segment 0 warms up (caches fill, code is compiled); its sample is not part of the trend.
      for (let k = 0; k < editsPerSegment; k++) {
        const i = edits % DOCS;
        const uri = ws.uris[i]!;
        latest.set(uri, await ws.lsp.change(uri, [{ text: dockerfileFor(i, edits) }]));
        edits++;
        if (edits % 25 === 0) {
          fs.writeFileSync(path.join(ws.dir, `svc${edits % 5}`, `f${edits % 200}.js`), `module.exports = ${edits};\n`);
          contextChanges++;
        }
        if (edits % 50 === 0) events += ws.daemon.pushEvents(20);
        if (edits % 10 === 0) {
          const t = performance.now();
          await ws.lsp.client.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: 3, character: 1 } });
          await ws.lsp.client.sendRequest('textDocument/inlayHint', { textDocument: { uri }, range: { start: { line: 0, character: 0 }, end: { line: 9, character: 0 } } });
          latencies.push(performance.now() - t);
          // Keep pace with the server, as a typist does: the newest version of this document gets analysed.
          await ws.lsp.analysed(uri, { version: latest.get(uri)!, timeoutMs: 60_000 });
        }
      }
      await Promise.all([...latest].map(([uri, v]) => ws.lsp.analysed(uri, { version: v, timeoutMs: 60_000 })));
      // The test's own records (messages seen by the client, requests seen by the fake daemon) are not the
      // server's memory: drop them before sampling.
      ws.lsp.forget();
      ws.daemon.requests.length = 0;
      heap.push(heapAfterGc());
    }
    mem.stop();
    const s1 = await ws.stats();
    const trend = heap.slice(1);
    const perSegment = slope(trend);
    const growth = trend[trend.length - 1]! - Math.min(...trend);
    Object.assign(figures, {
      edits, contextChanges, daemonEventsSent: events, daemonRefreshes: s1.daemonRefreshes - s0.daemonRefreshes,
      analyses: s1.analyses - s0.analyses, wallSeconds: Math.round((performance.now() - t0) / 100) / 10,
      heapMiBAfterGc: trend.map((h) => Math.round(h / 104857.6) / 10),
      heapSlopeKiBPerSegment: Math.round(perSegment / 1024),
      heapGrowthMiB: Math.round(growth / 104857.6) / 10,
      peakRssMiB: Math.round(mem.peakRss / 1048576),
      requestLatencyMs: latencySummary(latencies),
    });
    assert.ok(contextChanges >= 50 && events >= 500, 'the session exercised context changes and daemon events');
    assert.ok(perSegment < 256 * 1024, `heap grows by ${Math.round(perSegment / 1024)} KiB per segment: ${JSON.stringify(figures['heapMiBAfterGc'])}`);
    assert.ok(growth < 24 * 1024 * 1024, `heap grew ${Math.round(growth / 1048576)} MiB over the run`);
    assert.ok(latencySummary(latencies).p99 < 1000, 'requests stayed fast');
  });
});
