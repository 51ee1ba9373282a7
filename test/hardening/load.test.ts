// Issue 7.4, load: 50 Dockerfiles open against a daemon with 1,000 images and 2,000 build-cache records (generated
// in a fake daemon: building them in a real one would take far longer than CI allows), edits while a burst of 200
// daemon events arrives. Bounded: request latency p99, peak RSS, CPU; no event storm (refreshes are debounced).

import * as assert from 'assert';
import type { Hover, InlayHint } from 'vscode-languageserver-protocol';
import { latencySummary, recordFigure, runs } from './figures';
import { dockerfileFor, MemorySampler, openWorkspace, type Workspace } from './session';

const DOCS = 50;
const REQUEST_P99_BUDGET_MS = 1000;
const PEAK_RSS_BUDGET = 1024 * 1024 * 1024;

describe('hardening 7.4: load', function () {
  this.timeout(600_000);
  let ws: Workspace;
  const figures: Record<string, unknown> = {};

  before(async () => {
    ws = await openWorkspace('load', { images: 1000, buildCacheRecords: 2000 }, DOCS);
  });
  after(async () => {
    recordFigure('load', figures);
    await ws?.close();
  });

  it('50 open Dockerfiles, 1,000 images, 2,000 cache records, a burst of 200 events: bounded latency, memory, refreshes', async () => {
    const mem = new MemorySampler();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const mark = ws.lsp.mark();
    for (const uri of ws.uris) await ws.lsp.open(uri, ws.texts.get(uri)!);
    await Promise.all(ws.uris.map((uri) => ws.lsp.analysed(uri, { from: mark, timeoutMs: 300_000 })));
    const openAllMs = performance.now() - t0;
    const s0 = await ws.stats();
    // The 50 Dockerfiles share one folder and one .dockerignore (none): one walk and one watcher, not 50.
    assert.deepStrictEqual([s0.contextWalks, s0.contextWatchers], [1, 1], 'context walks and watchers');

    // Requests under load: edits on a few documents, the event burst, hovers and hints on all of them.
    const latencies: number[] = [];
    const timed = async (p: Promise<unknown>): Promise<void> => {
      const t = performance.now();
      await p;
      latencies.push(performance.now() - t);
    };
    const whole = { start: { line: 0, character: 0 }, end: { line: 10, character: 0 } };
    const burstMark = ws.lsp.mark();
    const pushed = ws.daemon.pushEvents(200);
    assert.strictEqual(pushed, 200, `one open event stream expected, ${ws.daemon.openEventStreams} open`);
    const rounds = runs(4);
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < DOCS; i++) {
        const uri = ws.uris[i]!;
        if (i % 10 === r % 10) void ws.lsp.change(uri, [{ text: dockerfileFor(i, r + 1) }]);
        await Promise.all([
          timed(ws.lsp.client.sendRequest<InlayHint[] | null>('textDocument/inlayHint', { textDocument: { uri }, range: whole })),
          timed(ws.lsp.client.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line: 3, character: 2 } })),
          timed(ws.lsp.client.sendRequest('textDocument/codeAction', { textDocument: { uri }, range: whole, context: { diagnostics: [] } })),
        ]);
      }
    }
    // The burst settles into re-analyses of every document, once.
    await Promise.all(ws.uris.map((uri) => ws.lsp.analysed(uri, { from: burstMark, cause: 'daemon', timeoutMs: 300_000 })));
    await new Promise((r) => setTimeout(r, 1000)); // anything still debounced would land now
    const s1 = await ws.stats();
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    mem.stop();

    const events = s1.daemonEvents - s0.daemonEvents;
    const refreshes = s1.daemonRefreshes - s0.daemonRefreshes;
    const analyses = s1.analyses - s0.analyses;
    const lat = latencySummary(latencies);
    Object.assign(figures, {
      documents: DOCS, images: 1000, buildCacheRecords: 2000, daemon: 'generated (fake daemon on a unix socket)',
      openAndAnalyseAllMs: Math.round(openAllMs), contextWalks: s0.contextWalks, contextWatchers: s0.contextWatchers,
      requestLatencyMs: lat,
      eventsSent: pushed, eventsReceived: events, refreshes, analysesAfterBurst: analyses,
      peakRssMiB: Math.round(mem.peakRss / 1048576),
      cpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100, wallSeconds: Math.round(wall / 10) / 100,
      daemonRequests: ws.daemon.requests.length,
    });
    assert.strictEqual(events, 200, 'every event arrived');
    assert.ok(refreshes >= 1 && refreshes <= 3, `${refreshes} refreshes for one burst: the debounce did not hold`);
    assert.ok(analyses <= DOCS * refreshes + rounds * 5 + DOCS, `${analyses} analyses after the burst: an event storm`);
    assert.ok(lat.p99 < REQUEST_P99_BUDGET_MS, `p99 ${lat.p99} ms`);
    assert.ok(mem.peakRss < PEAK_RSS_BUDGET, `peak RSS ${mem.peakRss}`);
    // One snapshot per refresh, not per document: images are listed once per daemon change.
    const lists = ws.daemon.count('GET /images/json');
    assert.ok(lists <= 2 + refreshes, `${lists} image listings`);
    figures['imageListings'] = lists;
  });
});
